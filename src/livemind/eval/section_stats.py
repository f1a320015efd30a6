"""Statistics of the report's optional sections, from answered records.

Cache and speculation (issue 4) and answers and notes (issue 12; the stated answers of
``candidate`` notes, issue 16): each is a dict of :class:`~.stats.ConfigSummary` fields,
with None where the records predate those fields.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypedDict

from livemind.eval.answers import LETTERS, extract_answer, normalize_number
from livemind.eval.record_reading import Record, mean_or_none, median_or_none, num, nums


class CacheStats(TypedDict):
    """Issue-4 fields of :class:`~.stats.ConfigSummary` (see :func:`cache_and_speculation`)."""

    median_final_evaluated: float | None
    median_unseen_tokens: float | None
    evaluated_over_unseen: float | None
    median_prewarm_calls: float | None
    speculation_used: float | None
    wasted_per_question: float | None
    median_saved_s: float | None


class AnswerStats(TypedDict):
    """Issue-12 fields of :class:`~.stats.ConfigSummary` (see :func:`answers_and_notes`)."""

    reason_share: float | None
    truncated_share: float | None
    notes_checked: int
    notes_right: float | None
    stated: int  # answers stated in a note while typed (candidate notes)
    agrees_with_stated: float | None  # of those, share the final answer repeats
    stated_right: float | None  # of those, share that are right


def cache_and_speculation(ok: Sequence[Record]) -> CacheStats:
    """Issue-4 statistics; None where the records predate those fields."""
    both = [
        (e, u)
        for r in ok
        if (e := num(r.get("final_evaluated_tokens"))) is not None
        and (u := num(r.get("final_unseen_tokens"))) is not None
    ]
    unseen_sum = sum(u for _, u in both)
    spec = [r for r in ok if "speculative" in r]
    used = [r for r in spec if r.get("speculative")]
    return {
        "median_final_evaluated": median_or_none(nums(ok, "final_evaluated_tokens")),
        "median_unseen_tokens": median_or_none([u for _, u in both]),
        "evaluated_over_unseen": sum(e for e, _ in both) / unseen_sum if unseen_sum else None,
        "median_prewarm_calls": median_or_none(nums(ok, "prewarm_calls")),
        "speculation_used": len(used) / len(spec) if spec else None,
        "wasted_per_question": mean_or_none(nums(spec, "speculations_wasted")),
        "median_saved_s": median_or_none(nums(used, "speculation_saved_s")),
    }


def answers_and_notes(ok: Sequence[Record]) -> AnswerStats:
    """Issue-12 statistics; None where the records predate those fields."""
    modes = [r["answer_mode"] for r in ok if r.get("answer_mode")]
    finish = [r["answer_finish"] for r in ok if r.get("answer_finish")]
    checked = int(sum(nums(ok, "notes_checked")))
    right = sum(nums(ok, "notes_right"))
    stated = [(r, c) for r in ok if (c := stated_answer(r)) is not None]
    return {
        "reason_share": modes.count("reason") / len(modes) if modes else None,
        "truncated_share": finish.count("length") / len(finish) if finish else None,
        "notes_checked": checked,
        "notes_right": right / checked if checked else None,
        "stated": len(stated),
        "agrees_with_stated": _share([r.get("extracted") == c for r, c in stated]),
        "stated_right": _share([c == r.get("gold") for r, c in stated]),
    }


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


_ANSWER_WORD = re.compile(r"\banswer\b", re.I)


def stated_answer(record: Record) -> str | None:
    """The answer the last note that states one gives (a note with the word "answer" and
    an answer the bench's reader finds in it, of the gold answer's kind), or None."""
    gold = str(record.get("gold", ""))
    if len(gold) == 1 and gold in LETTERS:
        kind = "choice"
    elif normalize_number(gold) is not None:
        kind = "number"
    else:
        kind = "word"
    for action in reversed(record.get("actions") or []):
        content = str(action.get("content") or "") if isinstance(action, dict) else ""
        if _ANSWER_WORD.search(content):
            found = extract_answer(content, kind, n_options=len(LETTERS))
            if found is not None:
                return found
    return None
