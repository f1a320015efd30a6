"""Evaluation report: summaries (:mod:`livemind.eval.stats`) -> markdown and PNG plots.

Matplotlib is imported lazily (``livemind.eval.plots``); without it the report has no plots.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from livemind.eval.report_tables import (
    answers_table,
    cache_table,
    md_table,
    num,
    pareto_lines,
    pct,
    secs,
)
from livemind.eval.selection import canonical_config_names, select_records
from livemind.eval.stats import (
    DASH,
    LENGTH_BINS,
    ConfigSummary,
    ReportError,
    load_records,
    summarize,
)

HOW_TO_READ = (
    "*Latency* runs from Enter (the last keystroke when the typist does not pause) to "
    "the complete answer; *TTFT* to its first token. *Speed-up* is the baseline's median "
    "latency divided by this configuration's (higher is faster); *latency change* is the "
    "same comparison as a percentage (negative is faster). *Accuracy* is over answered "
    "questions with a 95% Wilson score interval. *Δ accuracy* compares each configuration "
    "with the baseline on the questions both answered (paired by dataset and question id): "
    "the mean of per-question differences in percentage points, with a 95% normal-"
    "approximation CI; an interval that contains 0 means no detectable difference. "
    "*Latency / limit* divides the latency by the physical limit (uncached prompt tokens at "
    "the measured prefill rate plus answer tokens at the decode rate): near 1 means the "
    "answer took as long as the hardware needs for the work left after Enter. *Busy* is the "
    "total model time spent on a question, including inference while the user typed; "
    "*compute × baseline* is its median relative to the baseline (thinking ahead costs "
    "compute). Failed questions are counted under *errors* and excluded from all statistics. "
    "n is the number of answered questions behind each number; – marks a missing value."
)


def _acc(s: ConfigSummary) -> str:
    if s.accuracy is None or s.accuracy_ci is None:
        return DASH
    lo, hi = s.accuracy_ci
    return f"{pct(s.accuracy)} [{100 * lo:.1f}, {100 * hi:.1f}]"


def _paired(s: ConfigSummary) -> str:
    if s.is_baseline:
        return "(baseline)"
    if s.paired_diff is None:
        return f"{DASH} (pairs=0)"
    ci = f" [{100 * s.paired_ci[0]:+.1f}, {100 * s.paired_ci[1]:+.1f}]" if s.paired_ci else ""
    return f"{100 * s.paired_diff:+.1f} pp{ci} (pairs={s.n_pairs})"


def render_markdown(
    summaries: Sequence[ConfigSummary],
    *,
    title: str | None = None,
    by_length: bool = True,
    plots: Sequence[tuple[str, str]] = (),
    notes: Sequence[str] = (),
) -> str:
    """Markdown report: headline table (config | n | latency | speed-up | accuracy | paired Δ),
    details table, optional breakdown by prompt length, ``plots`` as (caption, relative path)
    images, ``notes`` as block quotes, and a "how to read this" paragraph. Without the
    baseline among ``summaries`` the vs-baseline columns are omitted and a note says so."""
    out = [f"# {title or 'LiveMind evaluation report'}", ""]
    if not summaries:
        return "\n".join([*out, "No records.", ""])
    name = summaries[0].baseline
    has_base = any(s.is_baseline for s in summaries)
    datasets = sorted({d for s in summaries for d in s.datasets})
    n, errors = sum(s.n for s in summaries), sum(s.n_errors for s in summaries)
    out += [
        f"{len(summaries)} configurations, {n} answered questions, {errors} failed "
        f"(excluded). Datasets: {', '.join(datasets) or DASH}. Baseline: `{name}`.",
        "",
    ]
    if not has_base:
        out += [f"> **Baseline `{name}` not found**: the vs-baseline columns are omitted.", ""]
    if dups := sum(s.n_duplicates for s in summaries):
        out += [f"> {dups} duplicate (config, question) records: the last one of each kept.", ""]
    out += [f"> {note}" for note in notes] + ([""] if notes else [])

    head = ["config", "n", "median latency"]
    head += ["speed-up"] if has_base else []
    head += ["accuracy [95% CI]"]
    head += [f"Δ accuracy vs {name} [95% CI]"] if has_base else []
    rows = []
    for s in summaries:
        row = [f"`{s.config}`", str(s.n), secs(s.median_latency_s)]
        row += [num(s.speedup, ".2f", "×")] if has_base else []
        row += [_acc(s)]
        row += [_paired(s)] if has_base else []
        rows.append(row)
    out += ["## Headline", "", *md_table(head, rows), *pareto_lines(summaries)]

    head = ["config", "models", "n", "errors", "mean latency", "p90 latency"]
    head += ["latency change"] if has_base else []
    head += ["median TTFT", "latency / limit", "busy per question"]
    head += ["compute × baseline"] if has_base else []
    head += ["inference calls", "evaluated / cached tokens (mean)", "overhead"]
    rows = []
    for s in summaries:
        row = [f"`{s.config}`", s.models, str(s.n), str(s.n_errors)]
        row += [secs(s.mean_latency_s), secs(s.p90_latency_s)]
        row += [pct(s.latency_change, signed=True)] if has_base else []
        row += [secs(s.median_ttft_s), num(s.median_limit_ratio, ".2f", "×"), secs(s.median_busy_s)]
        row += [num(s.busy_ratio, ".2f", "×")] if has_base else []
        row += [num(s.median_calls, "g"), f"{num(s.mean_evaluated_tokens, '.0f')} / "]
        row[-1] += num(s.mean_cached_tokens, ".0f")
        row += [secs(s.median_overhead_s)]
        rows.append(row)
    out += ["## Details (medians unless stated)", "", *md_table(head, rows)]

    head = ["config", "latency", "overhead", "answer prefill", "answer decode", "answer tokens"]
    rows = [
        [
            f"`{s.config}`",
            secs(s.median_latency_s),
            secs(s.median_overhead_s),
            secs(s.median_prefill_s),
            secs(s.median_decode_s),
            num(s.median_answer_tokens, ".0f"),
        ]
        for s in summaries
    ]
    out += [
        "",
        "## Where the time after Enter goes (medians)",
        "",
        "Overhead: an inference call still running at Enter. Answer prefill: the answer "
        "call's evaluated (uncached) prompt tokens at the measured prefill rate. Answer "
        "decode: its answer tokens at the measured decode rate.",
        "",
        *md_table(head, rows),
    ]

    if any(s.median_unseen_tokens is not None or s.speculation_used for s in summaries):
        out += cache_table(summaries)
    if any(s.reason_share is not None or s.notes_checked or s.stated for s in summaries):
        out += answers_table(summaries)

    bins = [b for b in LENGTH_BINS if any(b in s.by_length for s in summaries)]
    if by_length and bins:
        rows = []
        for s in summaries:
            cells = [s.by_length.get(b) for b in bins]
            rows.append(
                [f"`{s.config}`"]
                + [
                    DASH
                    if c is None
                    else f"{secs(c.median_latency_s)} · {pct(c.accuracy)} (n={c.n})"
                    for c in cells
                ]
            )
        out += [
            "## By prompt length",
            "",
            "Median latency · accuracy (n answered) per number of prompt sentences.",
            "",
            *md_table(["config", *(f"{b} sent." for b in bins)], rows),
        ]
    if plots:
        out += ["## Plots", ""] + [f"![{cap}]({path})\n" for cap, path in plots]
    out += ["## How to read this", "", HOW_TO_READ, ""]
    return "\n".join(out)


def write_report(
    records_paths: Sequence[str | Path],
    out_dir: Path,
    *,
    baseline: str = "baseline",
    title: str | None = None,
    configs: Sequence[str] = (),
    common: bool = False,
    on_warning: Callable[[str], None] | None = None,
) -> Path:
    """Write ``out_dir/report.md`` and the PNG plots (skipped, with a note, without
    matplotlib); return the report path. ``configs`` and ``common`` narrow the records (see
    :func:`select_records`). Raises :class:`ReportError` for unreadable input, no records or
    an impossible selection. ``on_warning`` gets non-fatal problems (missing baseline, no
    matplotlib)."""
    records = load_records(records_paths)
    if not records:
        raise ReportError("no records in " + ", ".join(map(str, records_paths)))
    present = {str(r["config"]) for r in records}
    configs = canonical_config_names(configs, present) if configs else ()
    records = select_records(records, configs=configs, common=common)
    summaries = summarize(records, baseline=baseline)
    warnings: list[str] = []
    if not any(s.is_baseline for s in summaries):
        known = ", ".join(s.config for s in summaries)
        warnings.append(f"baseline {baseline!r} not found (configs: {known})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    try:
        from livemind.eval import plots
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("matplotlib"):
            raise
        notes.append("No plots: matplotlib is not installed (pip install matplotlib).")
        warnings.append(notes[-1])
        written: Sequence[tuple[str, str]] = ()
    else:
        written = plots.write_plots(summaries, out_dir)
    for w in warnings:
        if on_warning is not None:
            on_warning(w)
    path = out_dir / "report.md"
    md = render_markdown(summaries, title=title, plots=written, notes=notes)
    path.write_text(md, encoding="utf-8")
    return path


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``livemind report RUN.jsonl [...] --out DIR [--baseline NAME]``."""
    parser.add_argument("records", nargs="+", help="JSONL record files written by the runner")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder (default: FIRST-FILE-report/)"
    )
    parser.add_argument("--baseline", default="baseline", help="reference configuration")
    parser.add_argument("--title", default=None, help="report title")
    parser.add_argument(
        "--configs",
        default="",
        help="comma-separated configurations to include (default: all; short names as in bench)",
    )
    parser.add_argument(
        "--common",
        action="store_true",
        help="only the questions that every included configuration answered",
    )


def run_report(args: argparse.Namespace) -> int:
    """Run the report command; errors go to stderr as one line (exit 1), never a traceback."""

    def warn(msg: str) -> None:
        print(f"livemind report: warning: {msg}", file=sys.stderr)

    first = Path(args.records[0])
    out = args.out or first.with_name(first.stem + "-report")
    try:
        path = write_report(
            args.records,
            out,
            baseline=args.baseline,
            title=args.title,
            configs=[c.strip() for c in args.configs.split(",") if c.strip()],
            common=args.common,
            on_warning=warn,
        )
    except (ReportError, OSError) as e:
        print(f"livemind report: error: {e}", file=sys.stderr)
        return 1
    print(f"wrote {path}")
    return 0
