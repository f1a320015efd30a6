"""Evaluation statistics: run records -> per-configuration summaries.

Contracts:
- A record is one (configuration, question) result as written by the runner. Records with a
  non-null ``error`` are *failed*: counted (``n_errors``) but excluded from every statistic.
- Duplicates of (config, dataset, qid) keep the last one read (a resumed or retried run).
- Accuracy CI: Wilson score interval, 95 %.
- Paired accuracy difference vs the baseline: over the questions that both configurations
  answered, paired by (dataset, qid); mean of d_i = correct_i - correct_baseline_i with a
  95 % CI from the normal approximation, mean +- 1.96 * sd(d, ddof=1) / sqrt(n) (no CI for
  fewer than 2 pairs; a zero-width CI when all differences are equal).
- Quantiles use linear interpolation between order statistics (numpy's default).
- Speed-up = baseline median latency / this median latency; latency change = this / baseline - 1.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

Z95 = 1.959963984540054
LENGTH_BINS = ("1", "2", "3", "4-5", "6+")
FIRST_CONFIGS = ("baseline-prewarm", "output-only")  # shown right after the baseline
DASH = "–"

# One run record: a JSON object as the runner wrote it (values of any JSON type; fields
# vary across versions, so every statistic checks what it reads).
Record = dict[str, Any]


class ReportError(Exception):
    """A user-facing problem with the input (missing file, malformed line, no records)."""


@dataclass(frozen=True, slots=True)
class LengthBin:
    """Answered questions of one configuration in one prompt-length bin."""

    n: int
    accuracy: float | None
    median_latency_s: float | None


@dataclass(frozen=True, slots=True)
class ConfigSummary:
    """Statistics of one configuration. ``None`` means "not available" (no data / no baseline).
    ``baseline`` is the requested baseline name; ``is_baseline`` marks the baseline itself."""

    config: str
    baseline: str
    is_baseline: bool
    models: str
    datasets: tuple[str, ...]
    n: int
    n_errors: int
    n_duplicates: int
    accuracy: float | None
    accuracy_ci: tuple[float, float] | None
    median_latency_s: float | None
    mean_latency_s: float | None
    p90_latency_s: float | None
    speedup: float | None
    latency_change: float | None  # fraction, -0.5 = half the baseline's median latency
    median_ttft_s: float | None
    median_limit_ratio: float | None
    median_busy_s: float | None
    busy_ratio: float | None  # median busy_s / baseline's median busy_s
    median_calls: float | None
    mean_evaluated_tokens: float | None
    mean_cached_tokens: float | None
    median_overhead_s: float | None
    median_answer_tokens: float | None
    median_prefill_s: float | None  # answer call: evaluated tokens / measured prefill rate
    median_decode_s: float | None  # answer call: answer tokens / measured decode rate
    paired_diff: float | None  # accuracy difference vs baseline (fraction), paired by qid
    paired_ci: tuple[float, float] | None
    n_pairs: int
    median_final_evaluated: float | None = None  # answer call's evaluated prompt tokens
    median_unseen_tokens: float | None = None  # of those, never sent to the engine before
    evaluated_over_unseen: float | None = None  # sum evaluated / sum unseen (1.0 = ideal)
    median_prewarm_calls: float | None = None
    speculation_used: float | None = None  # share of answers adopted from a speculation
    wasted_per_question: float | None = None  # discarded speculative answers (mean)
    median_saved_s: float | None = None  # head start of adopted speculations
    reason_share: float | None = None  # answers in the reason mode (auto picks per turn)
    truncated_share: float | None = None  # answers cut off by their token limit
    notes_checked: int = 0  # notes with a number, on problems with known values (GSM)
    notes_right: float | None = None  # share of those whose every number is right
    by_length: dict[str, LengthBin] = field(default_factory=dict)
    latencies: tuple[float, ...] = field(default=(), repr=False)  # sorted, for the CDF plot


def load_records(paths: Sequence[str | Path]) -> list[Record]:
    """Read JSONL files in order; blank lines are skipped. Raises :class:`ReportError` naming
    ``file:line`` for a line that is not a JSON object with ``config`` and ``qid``."""
    records: list[Record] = []
    for path in map(Path, paths):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ReportError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ReportError(f"{path}: cannot read: {e}") from None
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ReportError(f"{path}:{lineno}: malformed JSON: {e.msg}") from None
            if not isinstance(rec, dict) or "config" not in rec or "qid" not in rec:
                raise ReportError(f"{path}:{lineno}: not a record (needs 'config' and 'qid')")
            records.append(rec)
    return records


def wilson_ci(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for k successes out of n; None for n == 0."""
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def paired_mean_ci(
    diffs: Sequence[float], z: float = Z95
) -> tuple[float | None, tuple[float, float] | None]:
    """Mean of paired differences and its normal-approximation CI (None for < 2 pairs)."""
    if not diffs:
        return None, None
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return mean, None
    half = z * statistics.stdev(diffs) / math.sqrt(len(diffs))
    return mean, (mean - half, mean + half)


def quantile(xs: Sequence[float], q: float) -> float | None:
    """Linear-interpolation quantile of ``xs`` (need not be sorted); None when empty."""
    if not xs:
        return None
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def length_bin(sentences: object) -> str | None:
    """The prompt-length bin of a sentence count ("1", "2", "3", "4-5", "6+")."""
    if not isinstance(sentences, int | float) or isinstance(sentences, bool):
        return None
    s = int(sentences)
    return "1" if s <= 1 else str(s) if s <= 3 else "4-5" if s <= 5 else "6+"


def _num(v: object) -> float | None:
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    return None


def _nums(recs: Iterable[Record], key: str) -> list[float]:
    return [v for r in recs if (v := _num(r.get(key))) is not None]


def _per_rate(recs: Iterable[Record], tokens: str, rate: str) -> list[float]:
    """Seconds that ``tokens`` take at ``rate`` tokens/s, per record (where both exist)."""
    return [
        t / v
        for r in recs
        if (t := _num(r.get(tokens))) is not None and (v := _num(r.get(rate))) and v > 0
    ]


def _median(xs: Sequence[float]) -> float | None:
    return statistics.median(xs) if xs else None


def _mean(xs: Sequence[float]) -> float | None:
    return statistics.fmean(xs) if xs else None


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _model_label(r: Record) -> str:
    model, output = str(r.get("model", "?")), r.get("output_model")
    return model if output in (None, model) else f"{model} → {output}"


def question_key(r: Record) -> tuple[str, str]:
    """The question a record answers: (dataset, qid)."""
    return (str(r.get("dataset", "")), str(r["qid"]))


class _CacheStats(TypedDict):
    """Issue-4 fields of :class:`ConfigSummary` (see :func:`_cache_and_speculation`)."""

    median_final_evaluated: float | None
    median_unseen_tokens: float | None
    evaluated_over_unseen: float | None
    median_prewarm_calls: float | None
    speculation_used: float | None
    wasted_per_question: float | None
    median_saved_s: float | None


class _AnswerStats(TypedDict):
    """Issue-12 fields of :class:`ConfigSummary` (see :func:`_answers_and_notes`)."""

    reason_share: float | None
    truncated_share: float | None
    notes_checked: int
    notes_right: float | None


def _cache_and_speculation(ok: Sequence[Record]) -> _CacheStats:
    """Issue-4 statistics; None where the records predate those fields."""
    both = [
        (e, u)
        for r in ok
        if (e := _num(r.get("final_evaluated_tokens"))) is not None
        and (u := _num(r.get("final_unseen_tokens"))) is not None
    ]
    unseen_sum = sum(u for _, u in both)
    spec = [r for r in ok if "speculative" in r]
    used = [r for r in spec if r.get("speculative")]
    return {
        "median_final_evaluated": _median(_nums(ok, "final_evaluated_tokens")),
        "median_unseen_tokens": _median([u for _, u in both]),
        "evaluated_over_unseen": sum(e for e, _ in both) / unseen_sum if unseen_sum else None,
        "median_prewarm_calls": _median(_nums(ok, "prewarm_calls")),
        "speculation_used": len(used) / len(spec) if spec else None,
        "wasted_per_question": _mean(_nums(spec, "speculations_wasted")),
        "median_saved_s": _median(_nums(used, "speculation_saved_s")),
    }


def _answers_and_notes(ok: Sequence[Record]) -> _AnswerStats:
    """Issue-12 statistics; None where the records predate those fields."""
    modes = [r["answer_mode"] for r in ok if r.get("answer_mode")]
    finish = [r["answer_finish"] for r in ok if r.get("answer_finish")]
    checked = int(sum(_nums(ok, "notes_checked")))
    right = sum(_nums(ok, "notes_right"))
    return {
        "reason_share": modes.count("reason") / len(modes) if modes else None,
        "truncated_share": finish.count("length") / len(finish) if finish else None,
        "notes_checked": checked,
        "notes_right": right / checked if checked else None,
    }


def summarize(records: Sequence[Record], *, baseline: str = "baseline") -> list[ConfigSummary]:
    """One summary per configuration: the baseline first, then ``baseline-prewarm`` and
    ``output-only`` when present, then the rest by median latency (no data last). When
    ``baseline`` is absent every vs-baseline field is None. Every record needs ``config``
    and ``qid`` (as :func:`load_records` guarantees); other missing or non-numeric values
    are skipped in the statistic they would enter."""
    groups: dict[str, dict[tuple[str, str], Record]] = {}
    dups: dict[str, int] = {}
    for r in records:
        g = groups.setdefault(str(r["config"]), {})
        dups[str(r["config"])] = dups.get(str(r["config"]), 0) + (question_key(r) in g)
        g[question_key(r)] = r
    answered = {c: {k: r for k, r in g.items() if not r.get("error")} for c, g in groups.items()}
    base = answered.get(baseline)
    base_lat = _median(_nums(base.values(), "latency_s")) if base is not None else None
    base_busy = _median(_nums(base.values(), "busy_s")) if base is not None else None
    out = []
    for config, group in groups.items():
        ok = list(answered[config].values())
        k = sum(bool(r.get("correct")) for r in ok)
        lat = sorted(_nums(ok, "latency_s"))
        med = _median(lat)
        busy = _median(_nums(ok, "busy_s"))
        ratios = [
            t / lim
            for r in ok
            if (t := _num(r.get("latency_s"))) is not None
            and (lim := _num(r.get("limit_s")))
            and lim > 0
        ]
        diff, ci, n_pairs = None, None, 0
        if base is not None:
            pairs = [(r, base[q]) for q, r in answered[config].items() if q in base]
            n_pairs = len(pairs)
            diffs = [float(bool(a.get("correct"))) - bool(b.get("correct")) for a, b in pairs]
            diff, ci = paired_mean_ci(diffs)
        bins: dict[str, list[Record]] = {}
        for r in ok:
            b = length_bin(r.get("prompt_sentences"))
            if b is not None:
                bins.setdefault(b, []).append(r)
        models = sorted({_model_label(r) for r in group.values()})
        out.append(
            ConfigSummary(
                config=config,
                baseline=baseline,
                is_baseline=config == baseline,
                models=", ".join(models),
                datasets=tuple(sorted({str(r.get("dataset", "")) for r in group.values()})),
                n=len(ok),
                n_errors=len(group) - len(ok),
                n_duplicates=dups[config],
                accuracy=k / len(ok) if ok else None,
                accuracy_ci=wilson_ci(k, len(ok)),
                median_latency_s=med,
                mean_latency_s=_mean(lat),
                p90_latency_s=quantile(lat, 0.9),
                speedup=_ratio(base_lat, med),
                latency_change=None if (c := _ratio(med, base_lat)) is None else c - 1,
                median_ttft_s=_median(_nums(ok, "ttft_s")),
                median_limit_ratio=_median(ratios),
                median_busy_s=busy,
                busy_ratio=_ratio(busy, base_busy),
                median_calls=_median(_nums(ok, "inference_calls")),
                mean_evaluated_tokens=_mean(_nums(ok, "final_evaluated_tokens")),
                mean_cached_tokens=_mean(_nums(ok, "final_cached_tokens")),
                median_overhead_s=_median(_nums(ok, "overhead_s")),
                median_answer_tokens=_median(_nums(ok, "answer_tokens")),
                median_prefill_s=_median(_per_rate(ok, "final_evaluated_tokens", "prefill_rate")),
                median_decode_s=_median(_per_rate(ok, "answer_tokens", "decode_rate")),
                paired_diff=diff,
                paired_ci=ci,
                n_pairs=n_pairs,
                **_cache_and_speculation(ok),
                **_answers_and_notes(ok),
                by_length={
                    b: LengthBin(
                        n=len(rs),
                        accuracy=sum(bool(r.get("correct")) for r in rs) / len(rs),
                        median_latency_s=_median(_nums(rs, "latency_s")),
                    )
                    for b, rs in sorted(bins.items(), key=lambda kv: LENGTH_BINS.index(kv[0]))
                },
                latencies=tuple(lat),
            )
        )

    first = (baseline, *FIRST_CONFIGS)

    def order(s: ConfigSummary) -> tuple[int, bool, float, str]:
        fixed = first.index(s.config) if s.config in first else len(first)
        lat = s.median_latency_s
        return (fixed, lat is None, lat if lat is not None else 0.0, s.config)

    return sorted(out, key=order)
