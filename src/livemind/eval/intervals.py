"""Confidence intervals: accuracy (Wilson score) and paired differences vs the baseline.

- Accuracy CI: Wilson score interval, 95 %.
- Paired accuracy difference vs the baseline: over the questions that both configurations
  answered, paired by (dataset, qid); mean of d_i = correct_i - correct_baseline_i with a
  95 % CI from the normal approximation, mean +- 1.96 * sd(d, ddof=1) / sqrt(n) (no CI for
  fewer than 2 pairs; a zero-width CI when all differences are equal).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

from livemind.eval.record_reading import Record

Z95 = 1.959963984540054

CI = tuple[float, float]


def wilson_ci(k: int, n: int, z: float = Z95) -> CI | None:
    """Wilson score interval for k successes out of n; None for n == 0."""
    if n <= 0:
        return None
    p = k / n
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, center - half), min(1.0, center + half)


def paired_mean_ci(diffs: Sequence[float], z: float = Z95) -> tuple[float | None, CI | None]:
    """Mean of paired differences and its normal-approximation CI (None for < 2 pairs)."""
    if not diffs:
        return None, None
    mean = statistics.fmean(diffs)
    if len(diffs) < 2:
        return mean, None
    half = z * statistics.stdev(diffs) / math.sqrt(len(diffs))
    return mean, (mean - half, mean + half)


def paired_difference(
    answered: Mapping[tuple[str, str], Record], base: Mapping[tuple[str, str], Record]
) -> tuple[float | None, CI | None, int]:
    """(mean accuracy difference, its CI, number of pairs) of ``answered`` vs ``base``,
    both keyed by question (:func:`~.record_reading.question_key`); a falsy ``correct``
    counts as wrong."""
    pairs = [(r, base[q]) for q, r in answered.items() if q in base]
    diffs = [float(bool(a.get("correct"))) - bool(b.get("correct")) for a, b in pairs]
    diff, ci = paired_mean_ci(diffs)
    return diff, ci, len(pairs)
