"""Evaluation statistics: run records -> per-configuration summaries (:func:`summarize`).

Contracts:
- A record is one (configuration, question) result as written by the runner. Records with a
  non-null ``error`` are *failed*: counted (``n_errors``) but excluded from every statistic.
- Duplicates of (config, dataset, qid) keep the last one read (a resumed or retried run).
- Accuracy CI and paired difference vs the baseline: :mod:`.intervals` (Wilson 95 %; paired
  by (dataset, qid), normal-approximation 95 % CI).
- Quantiles use linear interpolation between order statistics (numpy's default).
- Speed-up = baseline median latency / this median latency; latency change = this / baseline - 1.

This module is the public entry of the report's statistics: it re-exports the names of
:mod:`.record_reading` (loading, keys), :mod:`.intervals` (CIs) and :mod:`.by_length` (bins);
:mod:`.section_stats` holds the optional sections' fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from livemind.eval.by_length import LENGTH_BINS, LengthBin, by_length, length_bin
from livemind.eval.intervals import Z95, paired_difference, paired_mean_ci, wilson_ci
from livemind.eval.record_reading import (
    Record,
    ReportError,
    load_records,
    mean_or_none,
    median_or_none,
    num,
    nums,
    quantile,
    question_key,
)
from livemind.eval.section_stats import answers_and_notes, cache_and_speculation

__all__ = [
    "DASH",
    "FIRST_CONFIGS",
    "LENGTH_BINS",
    "Z95",
    "ConfigSummary",
    "LengthBin",
    "Record",
    "ReportError",
    "length_bin",
    "load_records",
    "paired_mean_ci",
    "quantile",
    "question_key",
    "summarize",
    "wilson_ci",
]

FIRST_CONFIGS = ("baseline-prewarm", "output-only")  # shown right after the baseline
DASH = "–"


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
    stated: int = 0  # answers stated in a note while typed (candidate notes)
    agrees_with_stated: float | None = None  # of those, share the final answer repeats
    stated_right: float | None = None  # of those, share that are right
    by_length: dict[str, LengthBin] = field(default_factory=dict)
    latencies: tuple[float, ...] = field(default=(), repr=False)  # sorted, for the CDF plot


def _per_rate(recs: Iterable[Record], tokens: str, rate: str) -> list[float]:
    """Seconds that ``tokens`` take at ``rate`` tokens/s, per record (where both exist)."""
    return [
        t / v
        for r in recs
        if (t := num(r.get(tokens))) is not None and (v := num(r.get(rate))) and v > 0
    ]


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _model_label(r: Record) -> str:
    model, output = str(r.get("model", "?")), r.get("output_model")
    return model if output in (None, model) else f"{model} → {output}"


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
    base_lat = median_or_none(nums(base.values(), "latency_s")) if base is not None else None
    base_busy = median_or_none(nums(base.values(), "busy_s")) if base is not None else None
    out = []
    for config, group in groups.items():
        ok = list(answered[config].values())
        k = sum(bool(r.get("correct")) for r in ok)
        lat = sorted(nums(ok, "latency_s"))
        med = median_or_none(lat)
        busy = median_or_none(nums(ok, "busy_s"))
        ratios = [
            t / lim
            for r in ok
            if (t := num(r.get("latency_s"))) is not None
            and (lim := num(r.get("limit_s")))
            and lim > 0
        ]
        diff, ci, n_pairs = None, None, 0
        if base is not None:
            diff, ci, n_pairs = paired_difference(answered[config], base)
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
                mean_latency_s=mean_or_none(lat),
                p90_latency_s=quantile(lat, 0.9),
                speedup=_ratio(base_lat, med),
                latency_change=None if (c := _ratio(med, base_lat)) is None else c - 1,
                median_ttft_s=median_or_none(nums(ok, "ttft_s")),
                median_limit_ratio=median_or_none(ratios),
                median_busy_s=busy,
                busy_ratio=_ratio(busy, base_busy),
                median_calls=median_or_none(nums(ok, "inference_calls")),
                mean_evaluated_tokens=mean_or_none(nums(ok, "final_evaluated_tokens")),
                mean_cached_tokens=mean_or_none(nums(ok, "final_cached_tokens")),
                median_overhead_s=median_or_none(nums(ok, "overhead_s")),
                median_answer_tokens=median_or_none(nums(ok, "answer_tokens")),
                median_prefill_s=median_or_none(
                    _per_rate(ok, "final_evaluated_tokens", "prefill_rate")
                ),
                median_decode_s=median_or_none(_per_rate(ok, "answer_tokens", "decode_rate")),
                paired_diff=diff,
                paired_ci=ci,
                n_pairs=n_pairs,
                **cache_and_speculation(ok),
                **answers_and_notes(ok),
                by_length=by_length(ok),
                latencies=tuple(lat),
            )
        )

    first = (baseline, *FIRST_CONFIGS)

    def order(s: ConfigSummary) -> tuple[int, bool, float, str]:
        fixed = first.index(s.config) if s.config in first else len(first)
        lat = s.median_latency_s
        return (fixed, lat is None, lat if lat is not None else 0.0, s.config)

    return sorted(out, key=order)
