"""The typing phase's two kinds of model call, each run to its end in one coroutine.

:func:`inference_call` writes a note on new segments and stores it in the turn's memory;
:func:`prewarm_call` prefills the next call's prompt. Both report failures as ``error``
events and mark the failed text so it is not retried; cancellation propagates (an
inference call cancelled at Enter with ``keep_partial`` keeps what it has written).

A prompt over the context size drops the oldest earlier turn first (the worker plans the
call again); with no history left, the notes stop while the text is that long
(``notes.paused``; prompts take the plain layout), and when even the plain prefill does
not fit, prewarm stops too, with one ``context_overflow`` error. Nothing is retried for
the same text, so a long text never makes the worker loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from livemind.actions import Action, action_set, parse_action
from livemind.answering import partial_note
from livemind.backends.base import BackendError, Stage
from livemind.calls import CallRecord, stream_call
from livemind.events import EventName as E
from livemind.planner import Job, JobKind, plain_layout
from livemind.prompts import inference_request, prewarm_request, prewarms_plain
from livemind.session_context import SessionContext


@dataclass(slots=True)
class InFlight:
    """The typing-phase call now running: its job, the text it was planned on, its task.
    ``keep_partial``: if cancelled, store the note written so far (``commit_policy``
    ``keep`` at Enter)."""

    call_id: int
    job: Job
    text: str
    task: asyncio.Task[None] | None = None
    keep_partial: bool = False
    written: list[str] = field(default_factory=list)  # an inference call's text so far
    progress: asyncio.Event = field(default_factory=asyncio.Event)  # set on each delta

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()


async def inference_call(ctx: SessionContext, flight: InFlight) -> None:
    """Write a note on ``flight.job``'s segments; on a context overflow, trim the history
    or, with none left, stop the notes (see the module doc)."""
    cfg, turn, job, call_id = ctx.config, ctx.turn, flight.job, flight.call_id
    request = inference_request(
        cfg, turn, ctx.history, job.start, job.segments, ctx.session_id, job.final_look
    )
    record = CallRecord(Stage.INFERENCE, ctx.backend.model)
    turn.calls.append(record)
    if ctx.backend is ctx.output_backend:
        turn.prefilled_plain = False  # the answering model's cache now holds the notes layout
    ctx.emit(
        E.INFERENCE_STARTED,
        call_id=call_id,
        start=job.start,
        end=job.end,
        segments=list(job.segments),
    )
    parts = flight.written

    def on_delta(delta: str) -> None:
        parts.append(delta)
        flight.progress.set()
        ctx.emit(E.INFERENCE_DELTA, call_id=call_id, delta=delta)

    allowed = action_set(cfg.action_set)
    try:
        reply = await stream_call(
            ctx.backend, request, record, clock=ctx.clock.now, on_delta=on_delta
        )
    except BackendError as err:
        if err.code == "deferred":  # answers first: the worker plans it again later
            record.extra["deferred"] = _reason(err)
            ctx.emit(E.INFERENCE_DEFERRED, call_id=call_id, reason=_reason(err))
            return
        if err.code == "context_overflow":
            if not ctx.trim_history("inference"):
                ctx.notes_overflow(len("".join(turn.stable_texts()[: job.end])), err.message)
            return
        turn.failed_upto = job.end
        ctx.error(err.code, err.message, "inference")
        return
    except asyncio.CancelledError:
        if flight.keep_partial:
            action = parse_action(partial_note("".join(parts)), allowed)
            if action.keeps_content:
                record.extra["partial"] = True
                _store(ctx, flight, action, record)
        raise
    _store(ctx, flight, parse_action(reply, allowed), record)


def _store(ctx: SessionContext, flight: InFlight, action: Action, record: CallRecord) -> None:
    job = flight.job
    trace = ctx.turn.store_note(job.start, job.segments, action, record, looked=job.final_look)
    if trace is not None:
        ctx.emit(E.INFERENCE_DONE, call_id=flight.call_id, **trace, record=record.to_dict())


async def prewarm_call(ctx: SessionContext, flight: InFlight) -> None:
    """Prefill the next call's prompt with the text up to ``flight.job.cut``: on the
    typing phase's model, or (``OUTPUT_PREWARM``) on the output model, whose answer
    prompt starts with the same transcript; ``prewarm.done`` when the engine has it (not
    after a failure)."""
    output = flight.job.kind is JobKind.OUTPUT_PREWARM
    target = ctx.output_backend if output else ctx.prewarm_target
    turn, cut = ctx.turn, flight.job.cut
    text = turn.text[:cut]
    mark_read = turn.output_read if output else turn.read
    record = CallRecord(Stage.PREWARM, target.model)
    turn.prewarms.append(record)
    request = prewarm_request(ctx.config, turn, ctx.history, cut, ctx.session_id)
    plain = prewarms_plain(ctx.config, turn)
    start = record.started_s = ctx.clock.now()
    try:
        usage = await target.prewarm(request)
    except BackendError as err:
        if err.code == "deferred":  # answers first: the next prefill is planned on new text
            mark_read(text)
            record.extra["deferred"] = _reason(err)
            where = {"target": "output"} if output else {}
            ctx.emit(E.PREWARM_DEFERRED, call_id=flight.call_id, reason=_reason(err), **where)
            return
        if output:
            turn.output_read(text)  # not retried for this text and these notes
            if err.code != "context_overflow":  # the answer deals with an overflow itself
                ctx.error(err.code, err.message, "prewarm")
        elif err.code == "context_overflow":
            _prewarm_overflow(ctx, cut, err.message)
        else:
            turn.cached_text = text  # not retried for this text
            ctx.error(err.code, err.message, "prewarm")
        return
    except asyncio.CancelledError:
        record.cancelled = True
        raise
    finally:
        record.wall_s = ctx.clock.now() - start
    if usage is not None:
        record.add_usage(usage)
    mark_read(text)
    if target is ctx.backend is ctx.output_backend:  # where note calls and answer share a cache
        turn.prefilled_plain = plain
    target_field = {"target": "output"} if output else {}
    ctx.emit(E.PREWARM_DONE, call_id=flight.call_id, chars=cut, **target_field)


def _reason(err: BackendError) -> str:
    """Why a call was deferred (``preempted`` or ``shed``), from a ``deferred`` error."""
    return str(getattr(err, "reason", "preempted"))


def _prewarm_overflow(ctx: SessionContext, cut: int, detail: str) -> None:
    """A prefill did not fit: drop a turn of history, else the notes, else prewarm itself
    (each step is taken once; the worker plans again after the first two)."""
    cfg = ctx.config
    if ctx.trim_history("prewarm"):
        return
    if cfg.mode == "livemind" and not plain_layout(cfg, ctx.turn, ctx.turn.text):
        ctx.notes_overflow(cut, detail)
        return
    ctx.text_overflow(cut, detail, "prewarm")
