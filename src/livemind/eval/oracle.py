"""The best any per-turn choice among measured configurations could do.

An answer-mode selector (``auto``, or one reading confidence or agreement signals) picks,
for each question, one of the ways to answer it. Given records where every configuration
answered the same questions, :func:`oracle_choice` picks with hindsight: the fastest
configuration whose answer was right, and where none was right, the default's answer.
A selector that leaves the default only for an answer that is also right can do no better;
when even this bound misses a latency target, such a selector (whatever signal it reads:
question shape, agreement with the notes, token probabilities) will miss it too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

from livemind.eval.stats import Record, ReportError, question_key


@dataclass(frozen=True)
class OracleResult:
    """Per-question picks summarised: ``questions`` answered, ``right`` of them, median
    latency of the picked answers, and ``faster_picks``: questions where a configuration
    other than ``default`` was picked."""

    questions: int
    right: int
    median_latency_s: float
    faster_picks: int


def oracle_choice(
    records: Sequence[Record], *, default: str, candidates: Sequence[str]
) -> OracleResult:
    """Pick per question the fastest right answer among ``default`` and ``candidates``,
    the default's answer where none is right. Only questions that every named
    configuration answered without error count; raises :class:`ReportError` when none does.
    """
    names = [default, *[c for c in candidates if c != default]]
    by_question: dict[tuple[str, str], dict[str, Record]] = defaultdict(dict)
    for r in records:
        if r.get("config") in names and not r.get("error"):
            by_question[question_key(r)][str(r["config"])] = r
    complete = [rows for rows in by_question.values() if all(n in rows for n in names)]
    if not complete:
        raise ReportError(f"no question answered by all of {', '.join(names)}")
    latencies: list[float] = []
    right = faster = 0
    for rows in complete:
        pool = [rows[n] for n in names if rows[n].get("correct")]
        right += bool(pool)
        pool = pool or [rows[default]]
        pick = min(pool, key=lambda r: float(r["latency_s"]))
        faster += pick is not rows[default]
        latencies.append(float(pick["latency_s"]))
    return OracleResult(len(complete), right, median(latencies), faster)
