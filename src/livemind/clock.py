"""The session's clock: one source of time for measurements and timers.

A :class:`Clock` has ``now()`` (seconds, monotonic) and ``call_later(delay, callback)``.
Every timestamp a session records and every timer it arms (the speculation timer) go
through the one clock it was given, so whoever moves time moves both.

:class:`SessionClock` (every session's default) is the running event loop's time plus the
idle time a simulated typist skipped with :meth:`SessionClock.skip` (the benchmark's
protocol: model calls take their real time, waiting for keys takes none). Its timers fire
when the loop's time reaches them or when a skip jumps past them, in deadline order.
Under a loop whose own time is virtual (``looptime`` in the tests) scripted delays and
timers cost no wall time either.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on a monotonic scale (only differences mean anything)."""
        ...

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        """Run ``callback()`` on the event loop ``delay`` seconds from now."""
        ...


@dataclass(order=True, slots=True)
class _VirtualTimer:
    deadline: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)
    handle: asyncio.TimerHandle | None = field(default=None, compare=False)

    def cancel(self) -> None:
        self.cancelled = True
        if self.handle is not None:
            self.handle.cancel()


def loop_time() -> float:
    """The running event loop's time (``time.monotonic`` outside a loop)."""
    try:
        return asyncio.get_running_loop().time()
    except RuntimeError:
        return time.monotonic()


class SessionClock:
    """The loop's time plus skipped idle time; see the module docstring."""

    def __init__(self) -> None:
        self._skipped = 0.0
        self._timers: list[_VirtualTimer] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return loop_time() + self._skipped

    def call_later(self, delay: float, callback: Callable[[], None]) -> Timer:
        self._drop_cancelled()  # a timer re-armed on every key leaves one behind each time
        timer = _VirtualTimer(self.now() + max(0.0, delay), next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        timer.handle = asyncio.get_running_loop().call_later(max(0.0, delay), self._fire_due)
        return timer

    def next_deadline(self) -> float | None:
        """When the earliest pending timer fires (on this clock), or None."""
        self._drop_cancelled()
        return self._timers[0].deadline if self._timers else None

    def skip(self, seconds: float) -> None:
        """Move the clock ``seconds`` ahead (nothing for a negative amount); timers whose
        deadline it passes fire now, in deadline order."""
        self._skipped += max(0.0, seconds)
        self._fire_due()

    def skip_to(self, at: float) -> None:
        """Move the clock on to ``at`` (nothing if it is already there)."""
        self.skip(at - self.now())

    def _drop_cancelled(self) -> None:
        while self._timers and self._timers[0].cancelled:
            heapq.heappop(self._timers)

    def _fire_due(self) -> None:
        now = self.now()
        while True:
            self._drop_cancelled()
            if not self._timers or self._timers[0].deadline > now + 1e-9:
                return
            timer = heapq.heappop(self._timers)
            timer.cancel()  # its real-time handle, if still pending
            timer.callback()
