"""LiveSession: one conversation's simultaneous-inference state machine.

Text flows one way: text snapshots -> :class:`~livemind.segment.Segmenter` ->
:class:`~livemind.memory.InferenceMemory` -> model calls -> events.

Contract:
- :meth:`LiveSession.set_text` / :meth:`append` take the user's text as it changes (full
  snapshots handle backspace, paste and edits anywhere). They never block.
- At most one inference-stage call is in flight; text arriving meanwhile is handled by
  the next call (several new segments at once). A call whose segments an edit has
  changed is cancelled; memory entries based on changed text are dropped.
- :meth:`commit` (the user pressed Enter) runs the output stage on the output model
  (collaborative mode when one is set) and returns an :class:`Answer` with timings.
  Afterwards the turn joins the history and the next turn starts empty (multi-turn).
- Failures of a call become ``error`` events; the session stays usable.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field, replace
from typing import Any

from livemind.actions import action_set, parse_action
from livemind.backends.base import Backend, BackendError, Message, Request
from livemind.calls import CallRecord, Clock, stream_call
from livemind.config import SessionConfig
from livemind.events import Event, Listener
from livemind.formats import PromptView, baseline_messages, inference_messages, output_messages
from livemind.memory import InferenceMemory
from livemind.segment import Segmenter

# An action is one short paragraph; whatever a model rambles after a blank line is dropped.
INFERENCE_STOP = ("\n\n",)


class SessionError(RuntimeError):
    """A request the session cannot serve now (``code``: empty_input, busy, cancelled)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(slots=True)
class Answer:
    """The result of one turn. Times are seconds from :meth:`LiveSession.commit`."""

    text: str
    mode: str
    latency_s: float  # commit -> complete answer
    ttft_s: float | None  # commit -> first answer token
    wait_s: float  # part of the latency spent finishing an in-flight inference call
    output: CallRecord
    calls: list[CallRecord] = field(default_factory=list)  # this turn's inference calls
    actions: list[dict[str, Any]] = field(default_factory=list)
    prewarms: list[CallRecord] = field(default_factory=list)  # prefill-only calls

    @property
    def busy_s(self) -> float:
        """Total model time this turn spent: inference, prewarm and answer calls."""
        return sum(c.wall_s for c in (*self.calls, *self.prewarms, self.output))


@dataclass(slots=True)
class _Call:
    call_id: int
    start: int
    segments: tuple[str, ...]
    task: asyncio.Task[None]


class LiveSession:
    """See the module docstring for the contract."""

    def __init__(
        self,
        backend: Backend,
        config: SessionConfig | None = None,
        *,
        output_backend: Backend | None = None,
        session_id: str | None = None,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.config = (config or SessionConfig()).validated()
        self.backend = backend
        self.output_backend = output_backend or backend
        self.session_id = session_id or uuid.uuid4().hex[:12]
        self.clock = clock
        self.history: list[Message] = []
        self._listeners: list[Listener] = []
        self._reset_turn()
        self._worker: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._committing = False
        self._answer_task: asyncio.Task[str] | None = None
        self._next_call_id = 0

    # ----- observers -------------------------------------------------------------------
    def on(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event, synchronously, in order."""
        self._listeners.append(listener)

    def _emit(self, type_: str, **data: Any) -> None:
        event = Event(type_, data)
        for listener in list(self._listeners):
            listener(event)

    # ----- state ----------------------------------------------------------------------
    def _reset_turn(self) -> None:
        cfg = self.config
        self.segmenter = Segmenter(cfg.granularity, cfg.min_len)
        self.memory = InferenceMemory()
        self.calls: list[CallRecord] = []
        self.prewarms: list[CallRecord] = []
        self._prewarmed_upto = 0
        self.trace: list[dict[str, Any]] = []
        self._failed_upto = 0
        self._call: _Call | None = None

    @property
    def text(self) -> str:
        return self.segmenter.text

    @property
    def busy(self) -> bool:
        """Whether an inference call is in flight or due."""
        return not self._idle.is_set()

    def _stable_texts(self) -> list[str]:
        return [s.text for s in self.segmenter.segments]

    def update_config(self, **changes: Any) -> None:
        """Change settings; segmentation changes take effect from the next turn."""
        self.config = replace(self.config, **changes).validated()

    # ----- input ----------------------------------------------------------------------
    def append(self, delta: str) -> None:
        self.set_text(self.text + delta)

    def set_text(self, text: str) -> None:
        """Take a full snapshot of the input text (never blocks)."""
        if self._committing:
            raise SessionError("busy", "an answer is being produced; wait for it or cancel it")
        self._apply(self.segmenter.update(text))

    def _apply(self, update: Any) -> None:
        if update.invalidated_from is not None:
            stable = self._stable_texts()
            dropped = self.memory.sync(stable)
            self._failed_upto = min(self._failed_upto, len(stable))
            self._prewarmed_upto = min(self._prewarmed_upto, len(stable))
            first = (
                update.invalidated_from
                if dropped is None
                else min(dropped, update.invalidated_from)
            )
            self._emit("memory.invalidated", from_index=first)
            call = self._call
            if call and first < call.start + len(call.segments):
                call.task.cancel()  # it read text (or notes) that no longer stand
        for seg in update.added:
            self._emit("segment.committed", index=seg.index, text=seg.text)
        self._kick()

    def _kick(self) -> None:
        """Start an inference call if there are stable segments no call has seen."""
        if self._has_work():
            self._idle.clear()
            self._ensure_worker()
            self._wake.set()

    def _has_work(self) -> bool:
        if self._committing:
            return False
        if self.config.mode == "livemind":
            done = max(self.memory.seen_upto, self._failed_upto)
        elif self.config.prewarm and self.output_backend.capabilities.prewarm:
            done = max(self._prewarmed_upto, self._failed_upto)
        else:
            return False
        return len(self.segmenter.segments) > done

    # ----- inference stage ------------------------------------------------------------
    def _ensure_worker(self) -> None:
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work())

    async def _work(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._has_work():
                self._next_call_id += 1
                if self.config.mode == "livemind":
                    start = self.memory.pending_from
                    segments = tuple(self._stable_texts()[start:])
                    job = self._inference_call(self._next_call_id, start, segments)
                else:
                    start, segments = 0, tuple(self._stable_texts())
                    job = self._prewarm_call(segments)
                task = asyncio.get_running_loop().create_task(job)
                self._call = _Call(self._next_call_id, start, segments, task)
                await asyncio.wait({task})
                self._call = None
                if task.cancelled():
                    self._emit("inference.cancelled", call_id=self._next_call_id)
            self._idle.set()

    async def _inference_call(self, call_id: int, start: int, segments: tuple[str, ...]) -> None:
        cfg = self.config
        allowed = action_set(cfg.action_set)
        view = PromptView.build(self.memory.entries, self._stable_texts()[: start + len(segments)])
        messages = inference_messages(cfg.format, view, allowed, self.history)
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
        )
        try:
            reply = await stream_call(
                self.backend,
                request,
                record,
                clock=self.clock,
                on_delta=lambda d: self._emit("inference.delta", call_id=call_id, delta=d),
            )
        except BackendError as err:
            self._failed_upto = start + len(segments)
            self._emit("error", code=err.code, message=err.message, stage="inference")
            return
        action = parse_action(reply, allowed)
        record.action = action.kind.value
        if tuple(self._stable_texts()[start : start + len(segments)]) != segments:
            return  # defensive: the text changed under the call; its result is stale
        self.memory.add(start, segments, action)
        trace = {"segments": list(segments), "action": action.kind.value, "content": action.content}
        self.trace.append(trace)
        self._emit("inference.done", call_id=call_id, **trace, record=record.to_dict())

    async def _prewarm_call(self, segments: tuple[str, ...]) -> None:
        """Prefill the answer prompt of the text so far (modes without inference calls)."""
        messages = self._answer_messages("".join(segments))
        record = CallRecord("prewarm", self.output_backend.model)
        self.prewarms.append(record)
        request = Request(messages, max_tokens=1, session_key=self.session_id)
        start = self.clock()
        try:
            usage = await self.output_backend.prewarm(request)
        except BackendError as err:
            self._failed_upto = len(segments)
            self._emit("error", code=err.code, message=err.message, stage="prewarm")
            return
        except asyncio.CancelledError:
            record.cancelled = True
            raise
        finally:
            record.wall_s = self.clock() - start
        if usage is not None:
            record.add_usage(usage)
        self._prewarmed_upto = len(segments)

    async def settled(self) -> None:
        """Wait until no inference call is in flight or due."""
        await self._idle.wait()

    # ----- output stage ---------------------------------------------------------------
    async def commit(self) -> Answer:
        """The input is complete: produce the answer (see the module contract)."""
        if self._committing:
            raise SessionError("busy", "an answer is already being produced")
        prompt = self.text
        if not prompt.strip():
            self._emit("error", code="empty_input", message="nothing to answer: the input is empty")
            raise SessionError("empty_input", "nothing to answer: the input is empty")
        self._committing = True
        turn = self.segmenter  # replaced if reset() runs meanwhile
        t0 = self.clock()
        try:
            self._apply(self.segmenter.update(prompt, final=True))
            t_wait = self.clock()
            await self._finish_inference()
            wait_s = self.clock() - t_wait
            before_answer = self.clock() - t0
            text, record = await self._answer(prompt)
        except BaseException:
            if self.segmenter is turn:
                self._restore_after_failed_commit(prompt)
            else:  # reset() started a new turn: do not bring the old text back
                self._committing = False
            raise
        answer = Answer(
            text=text,
            mode=self.config.mode,
            latency_s=self.clock() - t0,
            ttft_s=None if record.ttft_s is None else before_answer + record.ttft_s,
            wait_s=wait_s,
            output=record,
            calls=list(self.calls),
            actions=list(self.trace),
            prewarms=list(self.prewarms),
        )
        self._emit(
            "response.done",
            text=text,
            timings={"latency_s": answer.latency_s, "ttft_s": answer.ttft_s, "wait_s": wait_s},
            usage=record.to_dict(),
            calls=len(self.calls),
        )
        self._end_turn(prompt, text)
        return answer

    async def _finish_inference(self) -> None:
        call = self._call
        if call is None:
            return
        if self.config.commit_policy == "cancel":
            call.task.cancel()
        await asyncio.wait({call.task})

    def _answer_messages(self, prompt: str) -> list[Message]:
        """The output-stage (or baseline) messages for ``prompt`` in the current mode."""
        cfg = self.config
        if cfg.mode == "baseline":
            return baseline_messages(prompt, cfg.answer_instruction, self.history)
        if cfg.mode == "livemind":
            view = PromptView.build(self.memory.entries, self._stable_texts())
        else:
            view = PromptView((), prompt.strip())
        return output_messages(cfg.format, view, cfg.answer_instruction, self.history)

    async def _answer(self, prompt: str) -> tuple[str, CallRecord]:
        cfg = self.config
        messages = self._answer_messages(prompt)
        record = CallRecord(
            cfg.mode if cfg.mode == "baseline" else "output", self.output_backend.model
        )
        self._emit("response.created", mode=cfg.mode)
        request = Request(
            messages,
            max_tokens=cfg.answer_max_tokens,
            temperature=cfg.temperature,
            session_key=self.session_id,
        )
        self._answer_task = asyncio.get_running_loop().create_task(
            stream_call(
                self.output_backend,
                request,
                record,
                clock=self.clock,
                on_delta=lambda d: self._emit("response.output_text.delta", delta=d),
            )
        )
        try:
            return await self._answer_task, record
        except asyncio.CancelledError:
            if self._answer_task.cancelled() and not _current_task_cancelling():
                raise SessionError("cancelled", "the answer was cancelled") from None
            raise
        except BackendError as err:
            self._emit("error", code=err.code, message=err.message, stage="output")
            raise
        finally:
            self._answer_task = None

    def _restore_after_failed_commit(self, prompt: str) -> None:
        """Keep the text (nothing is lost) and make its last segment unstable again."""
        self._committing = False
        self.segmenter.reset()
        self.segmenter.update(prompt)
        self.memory.sync(self._stable_texts())
        self._failed_upto = min(self._failed_upto, len(self.segmenter.segments))
        self._kick()

    def _end_turn(self, prompt: str, answer: str) -> None:
        self.history += [
            {"role": "user", "content": prompt.strip()},
            {"role": "assistant", "content": answer.strip()},
        ]
        keep = 2 * self.config.max_history_turns
        self.history = self.history[-keep:] if keep else []
        self._reset_turn()
        self._committing = False

    # ----- control --------------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel the in-flight inference call and the answer being produced, if any."""
        if self._call is not None:
            self._call.task.cancel()
        if self._answer_task is not None:
            self._answer_task.cancel()

    def reset(self) -> None:
        """Forget the history and the current turn."""
        self.cancel()
        self.history.clear()
        self._reset_turn()

    async def aclose(self) -> None:
        self.cancel()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None


def _current_task_cancelling() -> bool:
    task = asyncio.current_task()
    return bool(task and task.cancelling())
