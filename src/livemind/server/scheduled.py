"""The server's engines behind a priority scheduler each (answers first; see
:mod:`livemind.backends.scheduling`), from the ``livemind serve`` settings."""

from __future__ import annotations

from dataclasses import dataclass

from livemind.backends.base import Backend
from livemind.backends.forwarding import innermost
from livemind.backends.priority import PriorityBackend
from livemind.backends.scheduling import CallScheduler, SchedulingPolicy
from livemind.server.admission import SessionCap
from livemind.server.metrics import Metrics

__all__ = ["Scheduling", "overloaded", "scheduled"]


@dataclass(frozen=True, slots=True)
class Scheduling:
    """How the server schedules its engines' calls.

    ``enabled=False``: calls go straight to the engine (the behaviour before the
    scheduler; for comparisons). ``background``: notes and prefills at once per engine
    (0: half its slots, at least one); ``beside_answers``: of those, how many may go on
    while an answer waits or runs; ``answer_budget_s``: refuse new sessions with
    ``overloaded`` while the answers queued would take longer than this to clear, or the
    sessions live reach the cap learned from answers later than this
    (:mod:`livemind.server.admission`; 0: never).
    """

    enabled: bool = True
    background: int = 0
    beside_answers: int = 0
    answer_budget_s: float = 20.0

    def __post_init__(self) -> None:
        if self.background < 0 or self.beside_answers < 0 or self.answer_budget_s < 0:
            raise ValueError("background, beside_answers and answer_budget_s must be >= 0")

    def policy(self, slots: int) -> SchedulingPolicy:
        """The policy for an engine with ``slots`` sequences (``background`` and
        ``beside_answers`` capped to what the slots allow)."""
        slots = max(1, slots)
        background = min(self.background or max(1, slots // 2), slots)
        return SchedulingPolicy(
            slots=slots,
            background=background,
            beside_answers=min(self.beside_answers, background),
            answer_budget_s=self.answer_budget_s,
        )

    def session_cap(self, max_sessions: int) -> SessionCap | None:
        """The learned cap on live sessions (None when scheduling is off or without a
        budget)."""
        if not self.enabled or self.answer_budget_s <= 0:
            return None
        return SessionCap(self.answer_budget_s, max_sessions)


def scheduled(
    backend: Backend, scheduling: Scheduling | None, metrics: Metrics, engine: str
) -> Backend:
    """``backend`` behind its own scheduler, reported in ``metrics`` as ``engine``
    (``backend`` itself when scheduling is off or the engine schedules itself). The
    wrapper does not own ``backend``."""
    scheduling = scheduling or Scheduling()
    if not scheduling.enabled or schedules_itself(backend):
        return backend
    policy = scheduling.policy(backend.capabilities.slots)
    wrapped = PriorityBackend(backend, CallScheduler(policy), owns_inner=False)
    metrics.watch(wrapped.scheduler, engine)
    return wrapped


def schedules_itself(backend: Backend) -> bool:
    """A URL engine that is not llama.cpp (vLLM, SGLang, a router, OpenAI): it batches
    far more requests than a slot count says; livemind leaves the scheduling to it
    (``--engine-priority`` passes each call's priority on)."""
    from livemind.backends.openai_http import OpenAIBackend

    inner = innermost(backend)
    return isinstance(inner, OpenAIBackend) and inner.resolved_prewarm_mode != "llama"


def overloaded(*backends: Backend | None) -> bool:
    """Whether any of ``backends`` has more answers queued than its budget allows."""
    return any(isinstance(b, PriorityBackend) and b.scheduler.overloaded() for b in backends)
