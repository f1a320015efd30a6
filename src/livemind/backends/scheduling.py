"""Answers first: the calls of every session on one engine, admitted in priority order.

A user who pressed Enter is waiting; a note or a prefill written while someone types is
not. llama.cpp serves its slots side by side with no notion of priority, so on a machine
with few cores eight typists' background calls would slow everyone's answers. A
:class:`CallScheduler` sits in front of one engine and decides which call runs when:

- **order**: answers (``output``, ``baseline``, ``other``, ``calibration``) before notes
  (``inference``) before prefills (``prewarm``); first come, first served within a class;
- **bounds**: at most ``slots`` calls at once, of which at most ``background`` notes and
  prefills, and only ``beside_answers`` of those while an answer waits or runs;
- **preemption**: when an answer arrives, the background calls over that bound are told
  to stop (:attr:`Ticket.preempted`); the wrapper then ends them with :class:`Deferred`
  and the session plans them again later, from what the cache kept;
- **shedding**: a prefill that would have to wait behind ``prewarm_waiting`` others is
  refused at once (:class:`Deferred`): a prefill that is late is worth nothing;
- **admission**: :meth:`CallScheduler.overloaded` says whether the answers waiting and
  running would take longer than ``answer_budget_s`` to clear, for a server to refuse
  new sessions instead of slowing everyone down.

The scheduler is plain asyncio state (one event loop); :mod:`livemind.backends.priority`
applies it to a backend's calls.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum

from .base import BackendError, Stage

__all__ = [
    "CallScheduler",
    "Deferred",
    "Priority",
    "SchedulingPolicy",
    "ENGINE_PRIORITY_KINDS",
    "Ticket",
    "engine_priority",
    "priority_of",
]


_MAX_WAITING_USERS = 4096  # a bound on remembered Enters (each is only a priority hint)
_ANSWER_TIME_WEIGHT = 0.2  # of the latest answer in the moving average of answer times


class Priority(IntEnum):
    """Lower runs first."""

    ANSWER = 0  # a user is waiting
    INFERENCE = 1  # a note while the user types
    PREWARM = 2  # a prefill while the user types


def priority_of(stage: Stage) -> Priority:
    """A call's priority from what it is for: notes and prefills are background work,
    everything else has a user waiting (a speculative answer too: it may become one)."""
    if stage is Stage.INFERENCE:
        return Priority.INFERENCE
    if stage is Stage.PREWARM:
        return Priority.PREWARM
    return Priority.ANSWER


ENGINE_PRIORITY_KINDS = ("vllm", "sglang")


def engine_priority(kind: str, stage: Stage) -> int:
    """The request body's ``priority`` for an engine that schedules by it: vLLM runs
    lower values first (``--scheduling-policy priority``; any other value is an error
    without it), SGLang higher values first (``--enable-priority-scheduling``)."""
    level = priority_of(stage)
    if kind == "vllm":
        return int(level)
    if kind == "sglang":
        return int(max(Priority)) - int(level)
    raise ValueError(f"engine priority must be one of {ENGINE_PRIORITY_KINDS}, not {kind!r}")


class Deferred(BackendError):
    """A background call refused or stopped so that answers can run (code ``deferred``);
    ``reason`` is ``shed`` (refused: too many waiting) or ``preempted`` (stopped)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__("deferred", message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SchedulingPolicy:
    """How one engine's calls are admitted (see the module doc).

    ``slots``: calls at once (the engine's parallel sequences); ``background``: notes and
    prefills at once; ``beside_answers``: background calls allowed while an answer waits
    or runs (0: none; more suits engines with spare compute, e.g. a GPU); ``preempt``:
    stop the ones over that bound when an answer arrives; ``prewarm_waiting``: prefills
    that may queue (more are shed); ``answer_budget_s``: :meth:`CallScheduler.overloaded`
    threshold (0: never overloaded).
    """

    slots: int = 1
    background: int = 1
    beside_answers: int = 0
    preempt: bool = True
    prewarm_waiting: int = 1
    answer_budget_s: float = 0.0

    def __post_init__(self) -> None:
        if self.slots < 1:
            raise ValueError(f"slots must be >= 1 (got {self.slots})")
        if not 0 <= self.background <= self.slots:
            raise ValueError(f"background must be in 0..slots (got {self.background})")
        if not 0 <= self.beside_answers <= self.background:
            raise ValueError(f"beside_answers must be in 0..background (got {self.beside_answers})")
        if self.prewarm_waiting < 0 or self.answer_budget_s < 0:
            raise ValueError("prewarm_waiting and answer_budget_s must be >= 0")

    @classmethod
    def for_slots(cls, slots: int, **overrides: object) -> SchedulingPolicy:
        """The default policy for an engine with ``slots`` sequences: up to half of them
        (at least one) for background work, none beside an answer."""
        base = {"slots": slots, "background": max(1, slots // 2)}
        return cls(**{**base, **overrides})  # type: ignore[arg-type]


@dataclass(eq=False, slots=True)
class Ticket:
    """One call's place: ``granted`` resolves when it may run; ``preempted`` is set when
    a background call should stop for an answer."""

    priority: Priority
    seq: int
    granted: asyncio.Future[None]
    session_key: str | None = None
    answer_call: bool = False  # asked for as an answer (not promoted to one)
    asked_s: float = 0.0  # when the call asked for its turn (scheduler clock)
    preempted: asyncio.Event = field(default_factory=asyncio.Event)
    started_s: float | None = None

    @property
    def background(self) -> bool:
        return self.priority is not Priority.ANSWER


class CallScheduler:
    """Admits one engine's calls (module doc). Use :meth:`acquire` / :meth:`release`
    around each call, in one event loop. ``counts`` tallies, per priority name,
    ``admitted``, ``shed`` and ``preempted`` calls (``"inference.preempted"``, ...)."""

    def __init__(
        self, policy: SchedulingPolicy | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or SchedulingPolicy()
        self._clock = clock
        self._seq = itertools.count()
        self._waiting: list[Ticket] = []
        self._running: list[Ticket] = []
        self._answer_s: float | None = None  # recent answer duration (moving average)
        self._waiting_users: set[str] = set()  # sessions whose user pressed Enter
        self.counts: Counter[str] = Counter()

    # -- what is going on -------------------------------------------------------------

    def waiting(self, priority: Priority | None = None) -> int:
        return sum(1 for t in self._waiting if priority is None or t.priority is priority)

    def running(self, priority: Priority | None = None) -> int:
        return sum(1 for t in self._running if priority is None or t.priority is priority)

    def _answers_active(self) -> int:
        return self.waiting(Priority.ANSWER) + self.running(Priority.ANSWER)

    def answer_backlog_s(self) -> float:
        """Seconds the answers waiting and running would take to clear: their number
        times the recent answer time (a moving average) over ``slots`` (0 before the
        first answer has ended)."""
        if self._answer_s is None:
            return 0.0
        return self._answers_active() * self._answer_s / self.policy.slots

    def overloaded(self) -> bool:
        """Whether a new session should be refused: the answers under way would take
        longer than the budget to clear. (A long answer alone is not a backlog; late
        answers move the server's session cap, :mod:`livemind.server.admission`.)"""
        budget = self.policy.answer_budget_s
        return budget > 0 and self.answer_backlog_s() > budget

    # -- admission --------------------------------------------------------------------

    async def acquire(self, priority: Priority, session_key: str | None = None) -> Ticket:
        """Wait for ``priority``'s turn; the caller must :meth:`release` the ticket.
        Raises :class:`Deferred` (``shed``) for a prefill that would wait behind
        ``prewarm_waiting`` others. Cancelling the wait gives the place up. A call of a
        session whose user is waiting (:meth:`user_waiting`) is an answer."""
        loop = asyncio.get_running_loop()
        answer_call = priority is Priority.ANSWER
        if session_key is not None and session_key in self._waiting_users:
            priority = Priority.ANSWER
        ticket = Ticket(
            priority, next(self._seq), loop.create_future(), session_key, answer_call, self._clock()
        )
        if (
            priority is Priority.PREWARM
            and not self._may_start(ticket)
            and self.waiting(Priority.PREWARM) >= self.policy.prewarm_waiting
        ):
            self.counts[f"{priority.name.lower()}.shed"] += 1
            raise Deferred("shed", "the engine is busy: this prefill was skipped")
        self._waiting.append(ticket)
        self._waiting.sort(key=lambda t: (t.priority, t.seq))
        if priority is Priority.ANSWER:
            self._preempt()
        self._dispatch()
        try:
            await asyncio.shield(ticket.granted)
        except asyncio.CancelledError:
            if ticket in self._waiting:
                self._waiting.remove(ticket)
                self._dispatch()
            else:  # granted in the same step as the cancellation
                self.release(ticket)
            raise
        return ticket

    def user_waiting(self, session_key: str, waiting: bool = True) -> None:
        """``session_key``'s user pressed Enter (``waiting``): its queued and running
        calls (a final look at the question, say) become answers, no longer preempted,
        and so do its new calls, until the same call with ``waiting=False`` (the answer
        is there, or the user gave up). Other sessions' background calls beyond the
        bound stop, as for any answer."""
        if not waiting:
            self._waiting_users.discard(session_key)
            return
        if len(self._waiting_users) >= _MAX_WAITING_USERS:  # a safety bound only
            self._waiting_users.clear()
        self._waiting_users.add(session_key)
        promoted = False
        for ticket in (*self._waiting, *self._running):
            if (
                ticket.session_key == session_key
                and ticket.background
                and not ticket.preempted.is_set()  # already stopping: too late
            ):
                ticket.priority = Priority.ANSWER
                self.counts["promoted"] += 1
                promoted = True
        if promoted:
            self._waiting.sort(key=lambda t: (t.priority, t.seq))
            self._preempt()
            self._dispatch()

    def release(self, ticket: Ticket, completed: bool = False) -> None:
        """The call has ended (in any way): free its place and admit the next ones.
        ``completed``: an answer call that ran to its end, whose time from asking to
        ending feeds the recent answer time (cancelled ones would bias it)."""
        if ticket not in self._running:
            return
        self._running.remove(ticket)
        if completed and ticket.answer_call:
            took = self._clock() - ticket.asked_s
            mean = took if self._answer_s is None else self._answer_s
            self._answer_s = mean + _ANSWER_TIME_WEIGHT * (took - mean)
        self._dispatch()

    def _may_start(self, ticket: Ticket) -> bool:
        policy = self.policy
        if len(self._running) >= policy.slots:
            return False
        if not ticket.background:
            return True
        limit = policy.beside_answers if self._answers_active() else policy.background
        return sum(1 for t in self._running if t.background) < limit

    def _dispatch(self) -> None:
        """Start waiting calls in priority order until one cannot start (strict order:
        nothing overtakes a call that waits for its turn)."""
        while self._waiting and self._may_start(ticket := self._waiting[0]):
            self._waiting.pop(0)
            self._running.append(ticket)
            ticket.started_s = self._clock()
            self.counts[f"{ticket.priority.name.lower()}.admitted"] += 1
            if not ticket.granted.done():
                ticket.granted.set_result(None)

    def _preempt(self) -> None:
        """An answer arrived: ask the background calls over ``beside_answers`` to stop,
        prefills before notes, the latest started first."""
        if not self.policy.preempt:
            return
        running = [t for t in self._running if t.background and not t.preempted.is_set()]
        excess = len(running) - self.policy.beside_answers
        running.sort(key=lambda t: (-t.priority, -t.seq))
        for ticket in running[: max(0, excess)]:
            ticket.preempted.set()
            self.counts[f"{ticket.priority.name.lower()}.preempted"] += 1
