"""What happens as prompts grow: per configuration and prompt-length bin, the typing-phase
work (inference calls, calls per minute of typing, prewarm calls), whether the cache kept
up (answer-prompt tokens evaluated at Enter against those never sent, the wait for a call
still running at Enter) and the answer's latency against its physical limit; then
accuracy, latency, limit, answers cut off and the paired difference from the baseline per
source dataset; then how far back the notes reach
(``eval.note_reach``), with the farthest-reaching notes as examples.

    .venv/bin/python benchmarks/long_prompt_stats.py benchmarks/runs/long-qwen1.5b.jsonl --common \
        --context-rates benchmarks/runs/context-rates-qwen1.5b.json

``--context-rates`` adds the latency over the limit recomputed with the engine's speed at
each answer's context length; records that count the tokens no call was sent before the
last key also get the latency over the limit from that key (``eval.physical_limit``).
Last, every such ratio relative to the baseline's own on the same question (the
machine's slowing during the run divided out).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from livemind.eval.by_length import LENGTH_BINS, length_bin
from livemind.eval.intervals import paired_difference
from livemind.eval.note_reach import Reach, note_reaches
from livemind.eval.physical_limit import (
    ContextRates,
    context_limit_s,
    last_key_limit_s,
    over_baseline_ratio,
)
from livemind.eval.record_reading import Record, median_or_none, num, nums, question_key
from livemind.eval.selection import add_selection_arguments, answered_by_config


def _fmt(x: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "–" if x is None else f"{x:{spec}}{suffix}"


def calls_per_minute(recs: Sequence[Record]) -> float | None:
    """Inference calls per minute of typing, over all of ``recs`` (records with typing_s)."""
    timed = [r for r in recs if r.get("typing_s")]
    minutes = sum(float(r["typing_s"]) for r in timed) / 60
    return sum(int(r.get("inference_calls") or 0) for r in timed) / minutes if minutes else None


def evaluated_over_unseen(recs: Sequence[Record]) -> float | None:
    pairs = [
        (float(r["final_evaluated_tokens"]), float(r["final_unseen_tokens"]))
        for r in recs
        if r.get("final_evaluated_tokens") is not None and r.get("final_unseen_tokens")
    ]
    unseen = sum(u for _, u in pairs)
    return sum(e for e, _ in pairs) / unseen if unseen else None


LimitColumn = tuple[str, Callable[[Record], float | None]]  # (header, record -> limit)


def limit_columns(recs: Sequence[Record], rates: ContextRates | None) -> list[LimitColumn]:
    """The latency ÷ limit columns: the record's ``limit_s``; at each answer's context
    length (with ``rates``); from the last key (for records that count its tokens)."""
    columns: list[LimitColumn] = [("latency / limit", lambda r: r.get("limit_s"))]
    if rates is not None:
        columns.append(("… at context", lambda r: context_limit_s(r, rates)))
    if any(r.get("last_key_unseen_tokens") is not None for r in recs):
        label = "… from the last key" + ("" if rates is None else ", at context")
        columns.append((label, lambda r: last_key_limit_s(r, rates)))
    return columns


def over_limit(recs: Sequence[Record], limit: Callable[[Record], float | None]) -> float | None:
    """Median latency ÷ ``limit(record)`` over the records that have both."""
    ratios = []
    for r in recs:
        if r.get("latency_s") is not None and (lim := limit(r)):
            ratios.append(float(r["latency_s"]) / float(lim))
    return median_or_none(ratios)


def ratio_cells(recs: Sequence[Record], columns: list[LimitColumn]) -> list[str]:
    return [_fmt(over_limit(recs, limit), ".2f", "×") for _, limit in columns]


def row(config: str, label: str, recs: Sequence[Record], columns: list[LimitColumn]) -> str:
    cells = [
        f"`{config}`",
        label,
        str(len(recs)),
        _fmt(median_or_none(nums(recs, "latency_s")), ".2f", " s"),
        *ratio_cells(recs, columns),
        _fmt(median_or_none(nums(recs, "inference_calls")), ".0f"),
        _fmt(calls_per_minute(recs)),
        _fmt(median_or_none(nums(recs, "prewarm_calls")), ".0f"),
        _fmt(median_or_none(nums(recs, "final_evaluated_tokens")), ".0f"),
        _fmt(evaluated_over_unseen(recs), ".2f", "×"),
        _fmt(median_or_none(nums(recs, "overhead_s")), ".2f", " s"),
    ]
    return "| " + " | ".join(cells) + " |"


def by_bin(recs: Sequence[Record]) -> dict[str, list[Record]]:
    bins: dict[str, list[Record]] = defaultdict(list)
    for r in recs:
        if (b := length_bin(r.get("prompt_sentences"))) is not None:
            bins[b].append(r)
    return {b: bins[b] for b in sorted(bins, key=LENGTH_BINS.index)}


def reach_table(by_config: dict[str, list[Record]], examples: int = 3) -> None:
    """Per configuration with notes and length bin: how far back the notes reach; then
    the farthest-reaching notes."""
    print("| config | sentences | notes | reaching back | ≥ 5 back | median reach | farthest |")
    print("| --- " * 7 + "|")
    farthest: list[tuple[Reach, str]] = []
    for config, recs in by_config.items():
        for b, rs in by_bin(recs).items():
            pairs = [(x, str(r.get("qid"))) for r in rs for x in note_reaches(r["actions"] or [])]
            reaches = [x for x, _ in pairs]
            if not reaches:
                continue
            back = [x.reach for x in reaches if x.reach > 0]
            far = sum(x.reach >= 5 for x in reaches)
            cells = [f"`{config}`", b, str(len(reaches)), f"{100 * len(back) / len(reaches):.0f} %"]
            cells += [f"{100 * far / len(reaches):.0f} %", _fmt(median_or_none(back), ".0f")]
            cells.append(str(max(back, default=0)))
            print("| " + " | ".join(cells) + " |")
            farthest += pairs
    farthest.sort(key=lambda pair: -pair[0].reach)
    distinct = {qid: (x, qid) for x, qid in reversed(farthest)}  # a question's farthest
    for x, qid in sorted(distinct.values(), key=lambda pair: -pair[0].reach)[:examples]:
        print(f"\n- {qid}, note on sentence {x.at + 1}, reaching {x.reach} back ({x.word!r}):")
        print(f"  note: {x.note[:200]!r}")
        print(f"  sentence {x.at + 1 - x.reach}: {x.source[:200]!r}")


def by_source(recs: Sequence[Record]) -> dict[str, list[Record]]:
    """Records grouped by their source dataset."""
    sources: dict[str, list[Record]] = defaultdict(list)
    for r in recs:
        sources[str(r.get("dataset"))].append(r)
    return sources


def source_table(by_config: dict[str, list[Record]], columns: list[LimitColumn]) -> None:
    """Per configuration and source dataset: accuracy, median latency, latency ÷ limit,
    answers cut off by their token limit, and against the baseline on the same questions:
    the median of the per-question latency ratios and the paired accuracy difference."""
    base = {question_key(r): r for r in by_config.get("baseline", [])}
    head = ["config", "source", "n", "accuracy", "median latency", *(h for h, _ in columns)]
    head += ["cut off", "× baseline, per question", "Δ vs baseline, paired [95% CI]"]
    print("| " + " | ".join(head) + " |")
    print("| --- " * len(head) + "|")
    for config, recs in by_config.items():
        sources = by_source(recs)
        for source, rs in sorted(sources.items()):
            right = sum(bool(r.get("correct")) for r in rs)
            cells = [f"`{config}`", source, str(len(rs)), f"{100 * right / len(rs):.1f} %"]
            cells.append(_fmt(median_or_none(nums(rs, "latency_s")), ".2f", " s"))
            cells += ratio_cells(rs, columns)
            cells.append(str(sum(r.get("answer_finish") == "length" for r in rs)))
            cells += _against_baseline(rs, base) if config != "baseline" else ["–", "–"]
            print("| " + " | ".join(cells) + " |")


def _against_baseline(recs: Sequence[Record], base: dict[tuple[str, str], Record]) -> list[str]:
    """[median per-question latency ratio, paired accuracy difference] vs ``base``."""
    ratios = []
    for r in recs:
        b = base.get(question_key(r))
        mine, theirs = num(r.get("latency_s")), b and num(b.get("latency_s"))
        if mine is not None and theirs:
            ratios.append(mine / theirs)
    diff, ci, n = paired_difference({question_key(r): r for r in recs}, base)
    if diff is None or ci is None:
        return [_fmt(median_or_none(ratios), ".3f"), "–"]
    pp = f"{100 * diff:+.1f} pp [{100 * ci[0]:+.1f}, {100 * ci[1]:+.1f}] (n={n})"
    return [_fmt(median_or_none(ratios), ".3f"), pp]


def baseline_relative_table(
    by_config: dict[str, list[Record]], columns: list[LimitColumn], rates: ContextRates | None
) -> None:
    """Per configuration and source: each latency ÷ limit column divided, question by
    question, by the baseline's latency ÷ its own limit (at context with ``rates``): the
    machine's drift during the run factored out."""
    baseline = by_config.get("baseline")
    if not baseline:
        return
    ref: LimitColumn = (
        ("limit", lambda r: r.get("limit_s"))
        if rates is None
        else ("limit at context", lambda r: context_limit_s(r, rates))
    )
    print(f"Relative to the baseline's own latency ÷ {ref[0]} on the same question (medians):")
    print()
    head = ["config", "source", "n", *(h for h, _ in columns)]
    print("| " + " | ".join(head) + " |")
    print("| --- " * len(head) + "|")
    for config, recs in by_config.items():
        if config == "baseline":
            continue
        sources = by_source(recs)
        for source, rs in [*sorted(sources.items()), ("all", recs)]:
            cells = [f"`{config}`", source]
            ratios = [over_baseline_ratio(rs, baseline, lim, ref[1]) for _, lim in columns]
            cells.append(str(max((len(x) for x in ratios), default=0)))
            cells += [_fmt(median_or_none(x), ".2f", "×") for x in ratios]
            print("| " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_selection_arguments(parser)
    parser.add_argument(
        "--context-rates",
        type=Path,
        help="benchmarks/context_rate_probe.py --out JSON: add latency ÷ limit at context",
    )
    args = parser.parse_args()
    rates = None if args.context_rates is None else ContextRates.load(args.context_rates)
    by_config = answered_by_config(args.records, args.configs, args.common)
    columns = limit_columns([r for rs in by_config.values() for r in rs], rates)
    head = ["config", "sentences", "n", "median latency", *(h for h, _ in columns)]
    head += ["inference calls", "calls per typing minute", "prewarm calls"]
    head += ["evaluated at Enter", "evaluated ÷ unseen", "wait at Enter"]
    print("| " + " | ".join(head) + " |")
    print("| --- " * len(head) + "|")
    for config, recs in by_config.items():
        for b, rs in by_bin(recs).items():
            print(row(config, b, rs, columns))
        print(row(config, "all", recs, columns))
    print()
    source_table(by_config, columns)
    print()
    baseline_relative_table(by_config, columns, rates)
    print()
    reach_table(by_config)


if __name__ == "__main__":
    main()
