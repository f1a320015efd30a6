"""The learned cap on live sessions (livemind.server.admission): pure logic, a fake clock."""

from __future__ import annotations

import pytest

from livemind.server.admission import SessionCap


def _cap(budget: float = 5.0, ceiling: int = 32) -> tuple[SessionCap, list[float]]:
    now = [0.0]
    return SessionCap(budget, ceiling, clock=lambda: now[0]), now


def test_it_admits_up_to_the_ceiling_before_any_answer() -> None:
    cap, _ = _cap(ceiling=3)
    assert cap.admits(0) and cap.admits(2) and not cap.admits(3)


def test_a_late_answer_cuts_the_cap_below_the_sessions_live() -> None:
    cap, now = _cap()
    cap.answered(2.0, 0.5, 60, live=16)  # alone-ish: sets the pace, 25 ms a token
    now[0] = 10.0
    cap.answered(20.0, 8.0, 60, live=16)  # 60 tokens take 1.5 s at that pace: 18.5 s late
    assert cap.cap == pytest.approx(12.0)
    assert cap.admits(11) and not cap.admits(12)


def test_one_crowd_cuts_once_per_budget() -> None:
    cap, now = _cap()
    cap.answered(2.0, 0.5, 60, live=16)
    now[0] = 10.0
    cap.answered(20.0, 8.0, 60, live=16)
    now[0] = 12.0
    cap.answered(20.0, 8.0, 60, live=16)  # the same crowd, 2 s later: no second cut
    assert cap.cap == pytest.approx(12.0)
    now[0] = 15.0
    cap.answered(20.0, 8.0, 60, live=12)  # a budget later: cut again
    assert cap.cap == pytest.approx(9.0)


def test_a_long_answer_is_not_a_late_one() -> None:
    cap, now = _cap()
    cap.answered(3.0, 0.5, 100, live=1)  # 25 ms a token
    now[0] = 10.0
    cap.answered(13.0, 0.6, 500, live=1)  # 500 tokens: 12.5 s of its own, 0.5 s late
    assert cap.cap == 32.0


def test_answers_in_time_raise_the_cap_only_while_it_binds() -> None:
    cap, now = _cap()
    cap.answered(2.0, 0.5, 60, live=8)
    now[0] = 10.0
    cap.answered(30.0, 8.0, 60, live=8)  # cut to 6
    assert cap.cap == pytest.approx(6.0)
    cap.answered(2.0, 0.5, 60, live=2)  # in time, but 2 sessions do not press on 6
    assert cap.cap == pytest.approx(6.0)
    for _ in range(7):
        cap.answered(2.0, 0.5, 60, live=6)  # in time at the cap: about one more per 6
    assert 7.0 < cap.cap < 7.2
    assert cap.admits(6) and not cap.admits(7)


def test_the_cap_stays_between_one_session_and_the_ceiling() -> None:
    cap, now = _cap(budget=1.0, ceiling=4)
    cap.answered(1.0, 0.2, 40, live=1)
    for k in range(1, 20):
        now[0] = 2.0 * k
        cap.answered(30.0, 20.0, 40, live=1)
    assert cap.cap == 1.0 and cap.admits(0) and not cap.admits(1)
    for _ in range(200):
        cap.answered(1.0, 0.2, 40, live=4)
    assert cap.cap == 4.0


@pytest.mark.parametrize("budget, ceiling", [(0.0, 8), (-1.0, 8), (5.0, 0)])
def test_it_refuses_a_meaningless_budget_or_ceiling(budget: float, ceiling: int) -> None:
    with pytest.raises(ValueError):
        SessionCap(budget, ceiling)
