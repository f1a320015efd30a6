"""Accuracy and latency by prompt length: bins of the typed prompt's sentence count."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from livemind.eval.record_reading import Record, median_or_none, nums

LENGTH_BINS = ("1", "2", "3", "4-5", "6-9", "10-19", "20-29", "30-39", "40+")
_UPPER = (1, 2, 3, 5, 9, 19, 29, 39)  # each bin's largest count but the last one's


@dataclass(frozen=True, slots=True)
class LengthBin:
    """Answered questions of one configuration in one prompt-length bin."""

    n: int
    accuracy: float | None
    median_latency_s: float | None


def length_bin(sentences: object) -> str | None:
    """The :data:`LENGTH_BINS` bin of a sentence count (0 counts as "1"); ``None`` for
    anything but a number."""
    if not isinstance(sentences, int | float) or isinstance(sentences, bool):
        return None
    s = int(sentences)
    return LENGTH_BINS[bisect.bisect_left(_UPPER, s)]


def by_length(ok: Sequence[Record]) -> dict[str, LengthBin]:
    """Answered records grouped by ``prompt_sentences`` into :data:`LENGTH_BINS` order; bins
    without records and records without a count are left out."""
    bins: dict[str, list[Record]] = {}
    for r in ok:
        b = length_bin(r.get("prompt_sentences"))
        if b is not None:
            bins.setdefault(b, []).append(r)
    return {
        b: LengthBin(
            n=len(rs),
            accuracy=sum(bool(r.get("correct")) for r in rs) / len(rs),
            median_latency_s=median_or_none(nums(rs, "latency_s")),
        )
        for b, rs in sorted(bins.items(), key=lambda kv: LENGTH_BINS.index(kv[0]))
    }
