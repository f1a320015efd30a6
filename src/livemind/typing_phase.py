"""The typing phase of a :class:`~livemind.session.LiveSession`: while the user types,
one worker runs one model call at a time, inference calls first, then prefill-only
prewarm calls; and the speculative answer once the input rests and looks complete.

:class:`TypingPhase` is a mixin of ``LiveSession`` (it uses the session's state: the
segmenter, the memory, the config, the backends and ``_emit``); see ``session.py`` for
the contract.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from livemind.actions import Action, action_set, parse_action
from livemind.answer_modes import solving
from livemind.answering import Speculation, looks_complete, partial_note, prewarm_cut
from livemind.backends.base import BackendError, Message, Request, Stage
from livemind.calls import CallRecord, stream_call
from livemind.formats import inference_messages, prefix_messages, solve_messages

if TYPE_CHECKING:
    from livemind.backends.base import Backend
    from livemind.config import SessionConfig
    from livemind.memory import InferenceMemory
    from livemind.segment import Segmenter

# An action is one short paragraph; whatever a model rambles after a blank line is dropped.
INFERENCE_STOP = ("\n\n",)


log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Call:
    call_id: int
    kind: str  # "inference" | "prewarm"
    start: int
    segments: tuple[str, ...]
    task: asyncio.Task[None]
    text: str = ""  # prewarm: the text it prefills
    keep_partial: bool = False  # inference: on cancellation, store the note so far


@dataclass(frozen=True, slots=True)
class _Job:
    kind: str
    start: int = 0
    segments: tuple[str, ...] = ()
    cut: int = 0


class TypingPhase:
    """Mixin: the typing-phase worker, prewarm and speculation of a LiveSession.

    Besides the state below it uses LiveSession's ``text``, ``history``, ``busy``,
    ``_append_only``, ``_stable_texts``, ``_view``, ``_emit`` and OutputStage's
    ``_answer_messages``, ``_answer_request``, ``_output_record``.
    """

    config: SessionConfig
    backend: Backend
    output_backend: Backend
    segmenter: Segmenter
    memory: InferenceMemory
    calls: list[CallRecord]
    prewarms: list[CallRecord]
    wasted: list[CallRecord]
    trace: list[dict[str, Any]]
    speculation_timer: bool
    _cached_text: str  # a prefix of the text the model has already read
    _failed_upto: int
    _turns: list[list[Message]]
    _call: _Call | None
    _held_for: str | None
    _committing: bool
    _speculation: Speculation | None
    _timer: asyncio.TimerHandle | None
    _last_edit: float
    _worker: asyncio.Task[None] | None
    _wake: asyncio.Event
    _idle: asyncio.Event
    _next_call_id: int

    def _kick(self) -> None:
        """Wake the worker if a typing-phase call is due."""
        if self._next_job() is not None:
            self._idle.clear()
            self._ensure_worker()
            self._wake.set()

    def _inference_due(self) -> bool:
        if self._committing or self.config.mode != "livemind":
            return False
        done = max(self.memory.seen_upto, self._failed_upto)
        if len(self.segmenter.segments) <= done:
            return False
        return not solving(self.config.notes, self.text, self.config.answer_mode)

    def _next_job(self) -> _Job | None:
        """The next typing-phase call: inference first, then prewarm, else None (also
        while the answer to the current text is being speculated)."""
        if self._committing or self._held_for == self.text:
            return None
        if self._inference_due():
            memory = self.memory
            start = memory.seen_upto if self._append_only else memory.pending_from
            return _Job("inference", start, tuple(self._stable_texts()[start:]))
        target = self.backend if self.config.mode == "livemind" else self.output_backend
        if not (self.config.prewarm and target.capabilities.prewarm):
            return None
        cut = prewarm_cut(self.text, len(self._cached_text), self.config.prewarm_min_chars)
        return None if cut is None else _Job("prewarm", cut=cut)

    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while (job := self._next_job()) is not None:
                self._next_call_id += 1
                call_id = self._next_call_id
                if job.kind == "inference":
                    coro = self._inference_call(call_id, job.start, job.segments)
                else:
                    coro = self._prewarm_call(job.cut)
                    self._emit("prewarm.started", call_id=call_id, chars=job.cut)
                task = asyncio.get_running_loop().create_task(coro)
                text = self.text[: job.cut]
                self._call = _Call(call_id, job.kind, job.start, job.segments, task, text)
                await asyncio.wait({task})
                self._call = None
                if task.cancelled():
                    self._emit(f"{job.kind}.cancelled", call_id=call_id)
                elif (exc := task.exception()) is not None:
                    self._job_failed(job, exc)
                elif job.kind == "prewarm":
                    self._emit("prewarm.done", call_id=call_id, chars=job.cut)
            self._idle.set()
            self._maybe_speculate()

    def _trim_history(self, stage: str) -> bool:
        """Drop the oldest turn after a prompt did not fit the context (the caller tries
        again); False when there is no history left to drop."""
        if not self._turns:
            return False
        self._turns.pop(0)
        self._emit("history.trimmed", stage=stage, turns_left=len(self._turns))
        return True

    def _job_failed(self, job: _Job, exc: BaseException) -> None:
        """A call raised something unexpected (a bug, or a backend breaking its contract):
        report it once and do not retry that job for this text, as after a BackendError."""
        log.error("session %s: %s call failed", self.session_id, job.kind, exc_info=exc)
        if job.kind == "inference":
            self._failed_upto = job.start + len(job.segments)
        else:
            self._cached_text = self.text[: job.cut]
        message = f"{type(exc).__name__}: {exc}"
        self._emit("error", code="internal_error", message=message, stage=job.kind)

    async def _inference_call(self, call_id: int, start: int, segments: tuple[str, ...]) -> None:
        cfg = self.config
        allowed = action_set(cfg.action_set)
        view = self._view(self._stable_texts()[: start + len(segments)])
        messages = inference_messages(
            cfg.format, view, allowed, self.history, cfg.answer_instruction, cfg.notes
        )
        record = CallRecord("inference", self.backend.model)
        self.calls.append(record)
        self._emit(
            "inference.started",
            call_id=call_id,
            start=start,
            end=start + len(segments),
            segments=list(segments),
        )
        request = Request(
            messages,
            max_tokens=cfg.inference_max_tokens,
            temperature=cfg.temperature,
            stop=list(INFERENCE_STOP),
            session_key=self.session_id,
            stage=Stage.INFERENCE,
        )
        parts: list[str] = []

        def on_delta(delta: str) -> None:
            parts.append(delta)
            self._emit("inference.delta", call_id=call_id, delta=delta)

        try:
            reply = await stream_call(
                self.backend, request, record, clock=self.clock, on_delta=on_delta
            )
        except BackendError as err:
            if err.code == "context_overflow" and self._trim_history("inference"):
                return  # the worker runs the call again, with less history
            self._failed_upto = start + len(segments)
            self._emit("error", code=err.code, message=err.message, stage="inference")
            return
        except asyncio.CancelledError:
            call = self._call
            if call is not None and call.call_id == call_id and call.keep_partial:
                self._keep_partial_note(call_id, start, segments, "".join(parts), record)
            raise
        self._store_note(call_id, start, segments, parse_action(reply, allowed), record)

    def _keep_partial_note(
        self, call_id: int, start: int, segments: tuple[str, ...], partial: str, record: CallRecord
    ) -> None:
        """Store what a call cancelled at Enter had written (``commit_policy="keep"``),
        cut back to its last whole word; nothing if no content survives the cut."""
        action = parse_action(partial_note(partial), action_set(self.config.action_set))
        if action.keeps_content:
            record.extra["partial"] = True
            self._store_note(call_id, start, segments, action, record)

    def _store_note(
        self,
        call_id: int,
        start: int,
        segments: tuple[str, ...],
        action: Action,
        record: CallRecord,
    ) -> None:
        record.action = action.kind.value
        stable = self._stable_texts()
        if tuple(stable[start : start + len(segments)]) != segments:
            return  # defensive: the text changed under the call; its result is stale
        self.memory.add(start, segments, action)
        covered = "".join(stable[: start + len(segments)])
        if len(covered) > len(self._cached_text):
            self._cached_text = covered
        trace: dict[str, Any] = {
            "segments": list(segments),
            "action": action.kind.value,
            "content": action.content,
        }
        if record.extra.get("partial"):
            trace["partial"] = True
        self.trace.append(trace)
        self._emit("inference.done", call_id=call_id, **trace, record=record.to_dict())

    def _prewarm_messages(self, cut: int) -> list[Message]:
        """The start of the next call's prompt, with the text up to ``cut``."""
        cfg = self.config
        if cfg.mode != "baseline" and solving(cfg.notes, self.text, cfg.answer_mode):
            return solve_messages(self.text[:cut].strip(), "", self.history)
        if cfg.mode != "livemind":
            return self._answer_messages(self.text[:cut])
        stable = self._stable_texts()
        partial = self.text[len("".join(stable)) : cut]
        view = self._view([*stable, partial] if partial else stable)
        allowed = action_set(cfg.action_set)
        return prefix_messages(
            cfg.format, view, allowed, self.history, cfg.answer_instruction, cfg.notes
        )

    async def _prewarm_call(self, cut: int) -> None:
        """Prefill the prompt of the next call with the text up to ``cut``."""
        target = self.backend if self.config.mode == "livemind" else self.output_backend
        text = self.text[:cut]
        record = CallRecord("prewarm", target.model)
        self.prewarms.append(record)
        request = Request(
            self._prewarm_messages(cut),
            max_tokens=1,
            session_key=self.session_id,
            stage=Stage.PREWARM,
        )
        start = self.clock()
        record.started_s = start
        try:
            usage = await target.prewarm(request)
        except BackendError as err:
            self._cached_text = text  # not retried for this text
            self._emit("error", code=err.code, message=err.message, stage="prewarm")
            return
        except asyncio.CancelledError:
            record.cancelled = True
            raise
        finally:
            record.wall_s = self.clock() - start
        if usage is not None:
            record.add_usage(usage)
        if self.text.startswith(text) and len(text) > len(self._cached_text):
            self._cached_text = text

    async def settled(self) -> None:
        """Wait until no typing-phase call is in flight or due."""
        await self._idle.wait()

    # ----- speculation ----------------------------------------------------------------
    def _arm_speculation_timer(self) -> None:
        if not (self.config.speculate and self.speculation_timer):
            return
        loop = asyncio.get_running_loop()
        self._last_edit = loop.time()
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_later(self.config.speculate_after_s, self._maybe_speculate)

    def _maybe_speculate(self) -> None:
        if not (self.config.speculate and self.speculation_timer) or self._timer is None:
            return
        idle = asyncio.get_running_loop().time() - self._last_edit
        if idle >= self.config.speculate_after_s - 1e-3:
            self.speculate()

    def speculate(self) -> bool:
        """Start the answer now, before Enter, if the session is idle and the text looks
        complete. Returns whether a speculative answer is running for the current text.

        A typing-phase call in flight normally defers the speculation until it is done.
        With ``commit_policy="cancel"`` (Enter would cancel that call anyway) the call is
        cancelled instead, no further typing-phase call starts until the text changes, and
        the answer starts as soon as the call has stopped (False is returned meanwhile)."""
        cfg = self.config
        if not cfg.speculate or self._committing or not looks_complete(self.text):
            return False
        if self.busy:
            if cfg.commit_policy == "cancel" and self._held_for != self.text:
                self._held_for = self.text
                if self._call is not None:
                    self._call.task.cancel()  # the worker emits inference.cancelled
            return False
        mode = self._answer_mode(self.text)
        messages = self._answer_messages(self.text, final=True)
        spec = self._speculation
        if spec is not None and spec.usable and spec.messages == messages:
            return True
        self._discard_speculation()
        spec = Speculation(messages, self._output_record())
        spec.record.extra["speculative"] = True
        spec.task = asyncio.get_running_loop().create_task(
            stream_call(
                self.output_backend,
                self._answer_request(messages, mode),
                spec.record,
                clock=self.clock,
                on_delta=spec.on_delta,
            )
        )
        self._speculation = spec
        self._emit("speculation.started", text_chars=len(self.text))
        return True

    def _discard_speculation(self) -> None:
        spec, self._speculation = self._speculation, None
        if spec is not None:
            spec.cancel()
            self.wasted.append(spec.record)
            self._emit("speculation.discarded")
