"""The hindsight selector bound (eval/oracle.py) on hand-made records."""

from __future__ import annotations

import pytest

from livemind.eval.oracle import oracle_choice
from livemind.eval.stats import ReportError


def rec(config: str, qid: str, correct: bool, latency: float, error: str | None = None) -> dict:
    return {
        "config": config,
        "dataset": "toy",
        "qid": qid,
        "correct": correct,
        "latency_s": latency,
        "error": error,
    }


def trio(qid: str, slow: tuple[bool, float], fast: tuple[bool, float], mid: tuple[bool, float]):
    """The three configurations' (correct, latency) on one question."""
    return [rec(name, qid, *row) for name, row in (("slow", slow), ("fast", fast), ("mid", mid))]


def test_picks_the_fastest_right_answer_else_the_default():
    records = [
        # q1: the fast row is right -> picked
        *trio("q1", slow=(True, 6.0), fast=(True, 1.0), mid=(False, 3.0)),
        # q2: only the slow default is right -> kept
        *trio("q2", slow=(True, 6.0), fast=(False, 1.0), mid=(False, 3.0)),
        # q3: nothing right -> the default's (slow) answer, not the fastest wrong one
        *trio("q3", slow=(False, 8.0), fast=(False, 1.0), mid=(False, 3.0)),
        # q4: a middle row right where the default is wrong -> picked and counted right
        *trio("q4", slow=(False, 7.0), fast=(False, 1.0), mid=(True, 3.0)),
    ]
    res = oracle_choice(records, default="slow", candidates=["fast", "mid"])
    assert res.questions == 4
    assert res.right == 3
    assert res.faster_picks == 2
    assert res.median_latency_s == pytest.approx((3.0 + 6.0) / 2)  # picks 1, 6, 8, 3


def test_default_alone_is_its_own_accuracy_and_median():
    records = [rec("d", "a", True, 2.0), rec("d", "b", False, 4.0), rec("d", "c", True, 9.0)]
    res = oracle_choice(records, default="d", candidates=[])
    assert (res.questions, res.right, res.median_latency_s, res.faster_picks) == (3, 2, 4.0, 0)


def test_only_questions_every_config_answered_without_error_count():
    records = [
        rec("d", "a", False, 5.0),
        rec("x", "a", True, 1.0),
        rec("d", "b", False, 5.0),  # x missing
        rec("d", "c", False, 5.0),
        rec("x", "c", True, 1.0, error="backend down"),
    ]
    res = oracle_choice(records, default="d", candidates=["x"])
    assert (res.questions, res.right) == (1, 1)


def test_no_common_question_is_a_clear_error():
    with pytest.raises(ReportError, match="no question answered by all"):
        oracle_choice([rec("d", "a", True, 1.0)], default="d", candidates=["x"])
