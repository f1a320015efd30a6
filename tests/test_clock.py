"""The session clock: loop time plus skipped idle time, and timers that follow both."""

from __future__ import annotations

import asyncio

import pytest

from livemind.clock import SessionClock

# The loop's own time is virtual here (looptime): the sleeps below cost no wall time.
pytestmark = pytest.mark.looptime


async def test_a_skip_fires_the_timers_it_passes_in_deadline_order() -> None:
    clock = SessionClock()
    start = clock.now()
    fired: list[str] = []
    clock.call_later(2.0, lambda: fired.append("second"))
    clock.call_later(1.0, lambda: fired.append("first"))
    clock.call_later(1.5, lambda: fired.append("cancelled")).cancel()
    clock.call_later(5.0, lambda: fired.append("later"))
    clock.skip(3.0)
    assert fired == ["first", "second"]
    assert clock.now() - start == pytest.approx(3.0, abs=1e-6)
    assert clock.next_deadline() == pytest.approx(start + 5.0, abs=1e-6)


async def test_timers_fire_when_the_loop_time_reaches_them_too() -> None:
    clock = SessionClock()
    fired: list[float] = []
    start = clock.now()
    clock.call_later(0.5, lambda: fired.append(clock.now() - start))
    await asyncio.sleep(0.4)
    assert fired == []
    await asyncio.sleep(0.2)
    assert len(fired) == 1 and fired[0] == pytest.approx(0.5, abs=0.05)


async def test_a_timer_fires_once_whether_skipped_past_or_reached() -> None:
    clock = SessionClock()
    fired: list[int] = []
    clock.call_later(0.5, lambda: fired.append(1))
    clock.skip_to(clock.now() + 1.0)
    await asyncio.sleep(1.0)  # its loop handle was cancelled when the skip fired it
    assert fired == [1]


async def test_time_never_goes_back_and_rearming_leaves_nothing_behind() -> None:
    clock = SessionClock()
    now = clock.now()
    clock.skip(-5.0)
    clock.skip_to(now - 1.0)
    assert clock.now() >= now
    for _ in range(100):  # a timer re-armed on every key, as the speculation timer is
        timer = clock.call_later(0.6, lambda: None)
        timer.cancel()
    clock.call_later(0.6, lambda: None)
    assert len(clock._timers) == 1
