"""How many live sessions the server lets in, learned from how late its answers are.

A new session is refused (``overloaded``) long before it costs anything: a typist types
for many seconds before the answer they will wait for. So admission cannot wait for the
answer queue to fill (by then the sessions that fill it are already in); it keeps a cap
on live sessions instead and moves it by what the answers report, in the manner of TCP's
congestion window:

- an answer's **delay** is its time from Enter to its end minus the time its own tokens
  take at the fastest pace (first token to last) any answer has shown, so that a long
  answer is not mistaken for a late one (the caller leaves speculative answers out:
  their tokens were written before Enter);
- a delay over the budget cuts the cap to three quarters of the sessions live (at most
  once per budget: the late answers of one crowd report the same crowd);
- a delay within the budget while the cap binds raises it by ``1 / cap`` (about one
  session more per cap's worth of answers in time);
- the cap starts at the server's ``max_sessions`` (nothing is known before the first
  answers) and never falls below one session.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

__all__ = ["SessionCap"]

_CUT = 0.75  # of the sessions live, when answers are late


class SessionCap:
    """The learned cap on live sessions for answers within ``budget_s`` of delay (module
    doc); ``ceiling``: the most it may reach (the server's ``max_sessions``)."""

    def __init__(
        self, budget_s: float, ceiling: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if budget_s <= 0 or ceiling < 1:
            raise ValueError("budget_s must be > 0 and ceiling >= 1")
        self.budget_s = budget_s
        self.ceiling = ceiling
        self.cap = float(ceiling)
        self._clock = clock
        self._token_s: float | None = None  # the fastest pace per answer token seen
        self._last_cut = -math.inf

    def admits(self, live: int) -> bool:
        """Whether one more session may join the ``live`` ones."""
        return live < max(1, int(self.cap))

    def answered(self, latency_s: float, ttft_s: float | None, tokens: int, live: int) -> None:
        """An answer of ``tokens`` tokens took ``latency_s`` from Enter to its end
        (``ttft_s`` to its first token) while ``live`` sessions were open: move the cap."""
        now = self._clock()
        if tokens > 0:  # the fastest pace seen, first token to last
            pace = (latency_s - (ttft_s or 0.0)) / tokens
            self._token_s = pace if self._token_s is None else min(self._token_s, pace)
        delay_s = max(0.0, latency_s - tokens * (self._token_s or 0.0))
        if delay_s > self.budget_s:
            if now - self._last_cut >= self.budget_s:
                self.cap = max(1.0, min(self.cap, live) * _CUT)
                self._last_cut = now
        elif live >= int(self.cap) - 1:
            self.cap = min(float(self.ceiling), self.cap + 1 / self.cap)
