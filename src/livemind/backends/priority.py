"""A backend wrapper that runs every call through a :class:`CallScheduler`.

:class:`PriorityBackend` is what the server (and the bench, with several sessions at
once) puts in front of an engine: all sessions on that engine share its scheduler, so an
answer overtakes the notes and prefills queued for it and stops those running
(:mod:`livemind.backends.scheduling`).
A background call stopped or refused that way raises :class:`Deferred` (a
``BackendError`` with code ``deferred``), which the session takes as "plan it again
later", not as a failure.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, Awaitable
from typing import Any, TypeVar, cast

from .base import Backend, Delta, Request, Usage
from .forwarding import ForwardingBackend
from .scheduling import CallScheduler, Deferred, Priority, SchedulingPolicy, Ticket, priority_of

__all__ = ["PriorityBackend"]

T = TypeVar("T")


class PriorityBackend(ForwardingBackend):
    """Forwards calls to ``inner`` when ``scheduler`` admits them (by the request's
    stage); ends a background call with :class:`Deferred` when the scheduler preempts it.
    Without a scheduler, one is made for ``inner``'s slots
    (:meth:`SchedulingPolicy.for_slots`)."""

    def __init__(
        self,
        inner: Backend,
        scheduler: CallScheduler | None = None,
        *,
        owns_inner: bool = True,
    ) -> None:
        super().__init__(inner, owns_inner=owns_inner)
        slots = max(1, inner.capabilities.slots)
        self.scheduler = scheduler or CallScheduler(SchedulingPolicy.for_slots(slots))

    async def stream(self, request: Request) -> AsyncGenerator[Delta, None]:
        ticket = await self.scheduler.acquire(priority_of(request.stage), request.session_key)
        completed = False
        try:
            inner = cast(AsyncGenerator[Delta, None], self.inner.stream(request))
            async with contextlib.aclosing(inner) as deltas:
                while True:
                    try:
                        delta = await _unless_preempted(anext(deltas), ticket)
                    except StopAsyncIteration:
                        completed = True
                        return
                    yield delta
        finally:
            self.scheduler.release(ticket, completed)

    def user_waiting(self, session_key: str, waiting: bool = True) -> None:
        self.scheduler.user_waiting(session_key, waiting)
        super().user_waiting(session_key, waiting)

    async def prewarm(self, request: Request) -> Usage | None:
        ticket = await self.scheduler.acquire(Priority.PREWARM, request.session_key)
        completed = False
        try:
            usage = await _unless_preempted(self.inner.prewarm(request), ticket)
            completed = True
            return usage
        finally:
            self.scheduler.release(ticket, completed)


async def _unless_preempted(step: Awaitable[T], ticket: Ticket) -> T:
    """Await ``step``, or cancel it and raise :class:`Deferred` if ``ticket`` is
    preempted first (an answer call is never preempted, so it awaits directly). However
    often the caller is cancelled meanwhile, ``step`` has ended before this returns or
    raises (an engine stream is never closed while it runs)."""
    if not ticket.background:
        return await step
    if ticket.preempted.is_set():
        _discard(step)
        raise _preempted(ticket)
    task = asyncio.ensure_future(step)
    stop = asyncio.ensure_future(ticket.preempted.wait())
    cancelled = False
    try:
        await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        cancelled = True
    stop.cancel()
    if not task.done():  # preempted, or our caller was cancelled
        task.cancel()
        while not task.done():
            try:
                await asyncio.wait({task})
            except asyncio.CancelledError:
                cancelled = True
    if cancelled:
        _consume(task)
        raise asyncio.CancelledError
    if task.cancelled():  # stopped for an answer
        raise _preempted(ticket)
    return task.result()


def _preempted(ticket: Ticket) -> Deferred:
    what = "note" if ticket.priority is Priority.INFERENCE else "prefill"
    return Deferred("preempted", f"this {what} was stopped so that an answer could run")


def _discard(step: Awaitable[object]) -> None:
    if asyncio.iscoroutine(step):
        step.close()


def _consume(task: asyncio.Future[Any]) -> None:
    """Mark a stopped call's outcome as seen (it is replaced by :class:`Deferred`)."""
    if not task.cancelled():
        task.exception()
