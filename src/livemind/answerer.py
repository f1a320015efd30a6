"""Enter -> answer: finish the typing phase, adopt the speculation or run the answer call,
then end the turn.

Contract of :meth:`Answerer.commit`: an empty input is an ``empty_input`` error; a
prompt too long for the context drops the oldest turns and tries again, then the notes
(the answer reads the text alone, ``notes.paused``); when even that does not fit it is a
``context_overflow`` :class:`SessionError` naming the tokens and the limit. On any
failure or cancellation the text stays (nothing is lost) and the session stays usable;
on success the turn joins the history and the next turn starts empty.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from livemind.answer_label import LabelStripper
from livemind.answering import Answer, SessionError, Speculation
from livemind.backends.base import BackendError, Message
from livemind.calls import CallRecord, stream_call
from livemind.events import EventName as E
from livemind.planner import plain_layout
from livemind.prompts import answer_messages, answer_mode, answer_request
from livemind.segment import SegmentUpdate
from livemind.session_context import SessionContext
from livemind.speculator import Speculator
from livemind.typing_worker import TypingWorker


class Answerer:
    """``apply(update)`` hands the final segmentation back to the session (events,
    invalidation) before the answer starts."""

    def __init__(
        self,
        ctx: SessionContext,
        worker: TypingWorker,
        speculator: Speculator,
        apply: Callable[[SegmentUpdate], None],
    ) -> None:
        self._ctx = ctx
        self._worker = worker
        self._speculator = speculator
        self._apply = apply
        self._task: asyncio.Task[str] | None = None

    def cancel(self) -> None:
        """Cancel the answer being produced, if any."""
        if self._task is not None:
            self._task.cancel()

    async def commit(self) -> Answer:
        ctx = self._ctx
        turn = ctx.turn  # replaced if reset() runs meanwhile
        if turn.committing:
            raise SessionError("busy", "an answer is already being produced")
        prompt = turn.text
        if not prompt.strip():
            message = "nothing to answer: the input is empty"
            ctx.emit(E.ERROR, code="empty_input", message=message)
            raise SessionError("empty_input", message)
        turn.committing = True
        engines = list({id(b): b for b in (ctx.backend, ctx.output_backend)}.values())
        for backend in engines:
            backend.user_waiting(ctx.session_id)  # a shared engine now runs our calls first
        self._speculator.stop_timer()
        t0 = ctx.clock.now()
        try:
            self._apply(turn.segmenter.update(prompt, final=True))
            t_wait = ctx.clock.now()
            await self._worker.finish(ctx.config.commit_policy)
            wait_s = ctx.clock.now() - t_wait
            messages, spec, text, record = await self._answer_with_retries(prompt)
        except BaseException:
            if ctx.turn is turn:
                turn.restore(prompt)
                self._worker.kick()
            raise
        finally:
            for backend in engines:
                backend.user_waiting(ctx.session_id, waiting=False)
        answer = self._result(prompt, text, record, spec, t0, wait_s)
        ctx.end_turn(prompt, messages, text)
        return answer

    async def _answer_with_retries(
        self, prompt: str
    ) -> tuple[list[Message], Speculation | None, str, CallRecord]:
        ctx = self._ctx
        mode = answer_mode(ctx.config, prompt)
        announce = True  # response.created once, also when a trimmed history retries
        while True:
            messages = answer_messages(ctx.config, ctx.turn, ctx.history, prompt, final=True)
            spec = self._speculator.take(messages)
            try:
                text, record = await self._answer(messages, spec, mode, announce)
                return messages, spec, text, record
            except BackendError as err:
                if err.code != "context_overflow":
                    ctx.error(err.code, err.message, "output")
                    raise
                announce = False
                if ctx.trim_history("output"):
                    continue
                cfg = ctx.config
                if cfg.mode == "livemind" and not plain_layout(cfg, ctx.turn, prompt):
                    ctx.notes_overflow(len(prompt), err.message)
                    continue
                message = ctx.text_overflow(len(prompt), err.message, "output")
                raise SessionError("context_overflow", message) from err

    async def _answer(
        self, messages: list[Message], spec: Speculation | None, mode: str, announce: bool
    ) -> tuple[str, CallRecord]:
        ctx = self._ctx

        def show(delta: str) -> None:
            ctx.emit(E.RESPONSE_OUTPUT_TEXT_DELTA, delta=delta)

        # an answer after notes may start with their label: dropped (answer_label)
        stripper = LabelStripper(show) if ctx.config.mode != "baseline" else None
        forward = show if stripper is None else stripper

        if announce:
            ctx.emit(
                E.RESPONSE_CREATED,
                mode=ctx.config.mode,
                answer_mode=mode,
                speculative=spec is not None,
            )
        if spec is not None and spec.task is not None:
            record, task = spec.record, spec.task
            spec.adopt(forward)
        else:
            record = ctx.answer_record()
            request = answer_request(ctx.config, messages, mode, ctx.session_id)
            task = asyncio.get_running_loop().create_task(
                stream_call(
                    ctx.output_backend, request, record, clock=ctx.clock.now, on_delta=forward
                )
            )
        self._task = task
        try:
            text = await task
            return (text if stripper is None else stripper.flush()), record
        except asyncio.CancelledError:
            if task.cancelled() and not _current_task_cancelling():
                raise SessionError("cancelled", "the answer was cancelled") from None
            raise
        finally:
            self._task = None

    def _result(
        self,
        prompt: str,
        text: str,
        record: CallRecord,
        spec: Speculation | None,
        t0: float,
        wait_s: float,
    ) -> Answer:
        """The turn's :class:`Answer` (times from Enter), announced as ``response.done``."""
        ctx = self._ctx
        turn = ctx.turn
        first = None if record.ttft_s is None else record.started_s + record.ttft_s
        answer = Answer(
            text=text,
            mode=ctx.config.mode,
            answer_mode=answer_mode(ctx.config, prompt),
            latency_s=ctx.clock.now() - t0,
            ttft_s=None if first is None else max(0.0, first - t0),
            wait_s=wait_s,
            output=record,
            calls=list(turn.calls),
            actions=list(turn.trace),
            prewarms=list(turn.prewarms),
            speculative=spec is not None,
            speculation_saved_s=0.0 if spec is None else max(0.0, t0 - record.started_s),
            wasted=list(turn.wasted),
        )
        ctx.emit(
            E.RESPONSE_DONE,
            text=text,
            timings={"latency_s": answer.latency_s, "ttft_s": answer.ttft_s, "wait_s": wait_s},
            usage=record.to_dict(),
            calls=len(turn.calls),
            speculative=answer.speculative,
            answer_mode=answer.answer_mode,
        )
        return answer


def _current_task_cancelling() -> bool:
    task = asyncio.current_task()
    return bool(task and task.cancelling())
