"""Accuracy and latency by prompt length: bins of the typed prompt's sentence count."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from livemind.eval.record_reading import Record, median_or_none, nums

LENGTH_BINS = ("1", "2", "3", "4-5", "6+")


@dataclass(frozen=True, slots=True)
class LengthBin:
    """Answered questions of one configuration in one prompt-length bin."""

    n: int
    accuracy: float | None
    median_latency_s: float | None


def length_bin(sentences: object) -> str | None:
    """The prompt-length bin of a sentence count ("1", "2", "3", "4-5", "6+")."""
    if not isinstance(sentences, int | float) or isinstance(sentences, bool):
        return None
    s = int(sentences)
    return "1" if s <= 1 else str(s) if s <= 3 else "4-5" if s <= 5 else "6+"


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
