"""The typing phase's worker: one model call at a time, as :mod:`livemind.planner` says.

Contract: :meth:`TypingWorker.kick` after anything that may make a call due (it never
blocks); :meth:`TypingWorker.after_update` after a snapshot, to stop a call the edit made
pointless; :meth:`TypingWorker.finish` at Enter (cancel a prewarm; wait for an inference
call or cancel it, per ``commit_policy``). ``on_idle`` is called each time no call is in
flight or due (the speculator starts then).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from livemind.answering import answer_pending
from livemind.events import EventName as E
from livemind.planner import Job, JobKind, cancels, next_job
from livemind.session_context import SessionContext
from livemind.typing_calls import InFlight, inference_call, prewarm_call

log = logging.getLogger(__name__)


class TypingWorker:
    def __init__(self, ctx: SessionContext, on_idle: Callable[[], None]) -> None:
        self._ctx = ctx
        self._on_idle = on_idle
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._next_id = 0
        self.in_flight: InFlight | None = None

    @property
    def busy(self) -> bool:
        """Whether a typing-phase call is in flight or due."""
        return not self._idle.is_set()

    async def settled(self) -> None:
        """Wait until no typing-phase call is in flight or due."""
        await self._idle.wait()

    def _plan(self) -> Job | None:
        ctx = self._ctx
        return next_job(
            ctx.turn,
            ctx.config,
            can_prewarm=ctx.prewarm_target.capabilities.prewarm,
            can_prewarm_output=ctx.collaborative
            and ctx.config.prewarm_output
            and ctx.output_backend.capabilities.prewarm,
        )

    def kick(self) -> None:
        """Wake the worker if a typing-phase call is due."""
        if self._plan() is not None:
            self._idle.clear()
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._work())
            self._wake.set()

    def after_update(self, invalidated_from: int | None) -> None:
        """Cancel the call in flight if the latest snapshot made it pointless."""
        flight, ctx = self.in_flight, self._ctx
        if flight and cancels(flight.job, flight.text, ctx.turn, ctx.config, invalidated_from):
            flight.cancel()

    def cancel(self) -> None:
        """Cancel the call in flight (the worker then plans again)."""
        if self.in_flight is not None:
            self.in_flight.cancel()

    async def finish(self, policy: str) -> None:
        """At Enter: cancel a prewarm; finish an inference call, or cancel it (``cancel``;
        ``keep`` stores the note written so far, and lets a final look run until its
        note has stated an answer or shown it will not: :func:`answer_pending`)."""
        flight = self.in_flight
        if flight is None or flight.task is None:
            return
        if flight.job.final_look and policy == "keep":
            await _until_stated(flight)  # the note writer's answer is worth its wait
        if flight.job.kind is not JobKind.INFERENCE or policy != "wait":
            flight.keep_partial = flight.job.kind is JobKind.INFERENCE and policy == "keep"
            flight.task.cancel()
        await asyncio.wait({flight.task})

    async def aclose(self) -> None:
        self.cancel()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while (job := self._plan()) is not None:
                await self._run(job)
            self._idle.set()
            self._on_idle()

    async def _run(self, job: Job) -> None:
        ctx = self._ctx
        self._next_id += 1
        flight = InFlight(self._next_id, job, ctx.turn.text[: job.cut])
        target = {"target": "output"} if job.kind is JobKind.OUTPUT_PREWARM else {}
        if job.kind is JobKind.INFERENCE:
            coro = inference_call(ctx, flight)
        else:
            ctx.emit(E.PREWARM_STARTED, call_id=flight.call_id, chars=job.cut, **target)
            coro = prewarm_call(ctx, flight)
        task = flight.task = asyncio.get_running_loop().create_task(coro)
        self.in_flight = flight
        await asyncio.wait({task})
        self.in_flight = None
        if task.cancelled():
            cancelled = (
                E.INFERENCE_CANCELLED if job.kind is JobKind.INFERENCE else E.PREWARM_CANCELLED
            )
            ctx.emit(cancelled, call_id=flight.call_id, **target)
        elif (exc := task.exception()) is not None:
            self._failed(job, exc)

    def _failed(self, job: Job, exc: BaseException) -> None:
        """A call raised something unexpected (a bug, or a backend breaking its contract):
        report it once and do not retry that job for this text, as after a BackendError."""
        ctx = self._ctx
        log.error("session %s: %s call failed", ctx.session_id, job.kind, exc_info=exc)
        if job.kind is JobKind.INFERENCE:
            ctx.turn.failed_upto = job.end
        elif job.kind is JobKind.OUTPUT_PREWARM:
            ctx.turn.output_read(ctx.turn.text[: job.cut])
        else:
            ctx.turn.cached_text = ctx.turn.text[: job.cut]
        ctx.error("internal_error", f"{type(exc).__name__}: {exc}", str(job.kind))


async def _until_stated(flight: InFlight) -> None:
    """Wait while ``flight``'s note may still be on its way to stating an answer."""
    task = flight.task
    while task is not None and not task.done() and answer_pending("".join(flight.written)):
        flight.progress.clear()
        await asyncio.wait(
            {task, asyncio.ensure_future(flight.progress.wait())},
            return_when=asyncio.FIRST_COMPLETED,
        )
