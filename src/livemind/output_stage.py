"""The output stage of a :class:`~livemind.session.LiveSession`: Enter -> answer.

:class:`OutputStage` is a mixin of ``LiveSession``; see ``session.py`` for the contract.
"""

from __future__ import annotations

import asyncio

from livemind.actions import action_set
from livemind.answer_modes import answer_budget, resolve_answer_mode, solve_directive, solving
from livemind.answering import Answer, SessionError, Speculation
from livemind.backends.base import BackendError, Message, Request, Stage
from livemind.calls import CallRecord, stream_call
from livemind.formats import PromptView, baseline_messages, output_messages, solve_messages


class OutputStage:
    """Mixin: commit, the answer call (or the adopted speculation) and the turn's end.

    It uses LiveSession's state and helpers (``config``, ``segmenter``, ``memory``,
    ``output_backend``, ``_emit``, ``_view``, ``_end_turn``...) and TypingPhase's
    ``_call``, ``_speculation`` and ``_discard_speculation``.
    """

    _answer_task: asyncio.Task[str] | None

    async def commit(self) -> Answer:
        """The input is complete: produce the answer (see the module contract)."""
        if self._committing:
            raise SessionError("busy", "an answer is already being produced")
        prompt = self.text
        if not prompt.strip():
            self._emit("error", code="empty_input", message="nothing to answer: the input is empty")
            raise SessionError("empty_input", "nothing to answer: the input is empty")
        self._committing = True
        if self._timer is not None:
            self._timer.cancel()
        turn = self.segmenter  # replaced if reset() runs meanwhile
        t0 = self.clock()
        try:
            self._apply(self.segmenter.update(prompt, final=True))
            t_wait = self.clock()
            await self._finish_typing_phase()
            wait_s = self.clock() - t_wait
            mode = self._answer_mode(prompt)
            announce = True  # response.created once, also when a trimmed history retries
            while True:
                messages = self._answer_messages(prompt, final=True)
                spec = self._take_speculation(messages)
                try:
                    text, record = await self._answer(messages, spec, mode, announce)
                    break
                except BackendError as err:
                    if err.code == "context_overflow" and self._trim_history("output"):
                        announce = False
                        continue  # with less history
                    self._emit("error", code=err.code, message=err.message, stage="output")
                    raise
        except BaseException:
            if self.segmenter is turn:
                self._restore_after_failed_commit(prompt)
            else:  # reset() started a new turn: do not bring the old text back
                self._committing = False
            raise
        first = None if record.ttft_s is None else record.started_s + record.ttft_s
        answer = Answer(
            text=text,
            mode=self.config.mode,
            answer_mode=mode,
            latency_s=self.clock() - t0,
            ttft_s=None if first is None else max(0.0, first - t0),
            wait_s=wait_s,
            output=record,
            calls=list(self.calls),
            actions=list(self.trace),
            prewarms=list(self.prewarms),
            speculative=spec is not None,
            speculation_saved_s=0.0 if spec is None else max(0.0, t0 - record.started_s),
            wasted=list(self.wasted),
        )
        self._emit(
            "response.done",
            text=text,
            timings={"latency_s": answer.latency_s, "ttft_s": answer.ttft_s, "wait_s": wait_s},
            usage=record.to_dict(),
            calls=len(self.calls),
            speculative=answer.speculative,
            answer_mode=mode,
        )
        self._end_turn(prompt, messages, text)
        return answer

    async def _finish_typing_phase(self) -> None:
        """Cancel a prewarm; finish an inference call, or cancel it (``commit_policy``:
        ``cancel``; ``keep`` stores the note it has written so far)."""
        call = self._call
        if call is None:
            return
        policy = self.config.commit_policy
        if call.kind == "prewarm" or policy != "wait":
            call.keep_partial = call.kind == "inference" and policy == "keep"
            call.task.cancel()
        await asyncio.wait({call.task})

    def _view(self, texts: list[str]) -> PromptView:
        return PromptView.build(self.memory.entries, texts, keep_waits=self._append_only)

    def _answer_mode(self, prompt: str) -> str:
        """The turn's resolved answer mode (``baseline``: always its own CoT prompt)."""
        if self.config.mode == "baseline":
            return "baseline"
        return resolve_answer_mode(self.config.answer_mode, prompt)

    def _answer_messages(self, prompt: str, final: bool = False) -> list[Message]:
        """The output-stage (or baseline) messages for ``prompt`` in the current mode
        (``final``: ``prompt`` is the whole current text, as stable segments + tail)."""
        cfg = self.config
        mode = self._answer_mode(prompt)
        if cfg.mode == "baseline":
            return baseline_messages(prompt, cfg.answer_instruction, self.history)
        budget = answer_budget(mode, cfg.reason_budget, cfg.answer_max_tokens)
        budget = budget if cfg.reason_budget else 0
        if solving(cfg.notes, prompt, cfg.answer_mode):
            tail = f"{solve_directive(mode, budget)} {cfg.answer_instruction}".strip()
            return solve_messages(prompt.strip(), tail, self.history)
        if cfg.mode == "livemind":
            texts = self._stable_texts()
            if final and self.segmenter.tail:
                texts.append(self.segmenter.tail)
            view = self._view(texts)
        else:
            view = PromptView((), prompt.strip())
        allowed = action_set(cfg.action_set)
        return output_messages(
            cfg.format,
            view,
            cfg.answer_instruction,
            self.history,
            allowed,
            notes=cfg.notes,
            mode=mode,
            budget=budget,
        )

    def _output_record(self) -> CallRecord:
        stage = "baseline" if self.config.mode == "baseline" else "output"
        return CallRecord(stage, self.output_backend.model)

    def _answer_request(self, messages: list[Message], mode: str) -> Request:
        cfg = self.config
        return Request(
            messages,
            max_tokens=answer_budget(mode, cfg.reason_budget, cfg.answer_max_tokens),
            temperature=cfg.temperature,
            session_key=self.session_id,
            stage=Stage.BASELINE if cfg.mode == "baseline" else Stage.OUTPUT,
        )

    def _take_speculation(self, messages: list[Message]) -> Speculation | None:
        """The running speculative answer if it answers exactly ``messages``."""
        spec = self._speculation
        if spec is not None and spec.usable and spec.messages == messages:
            self._speculation = None
            return spec
        self._discard_speculation()
        return None

    async def _answer(
        self, messages: list[Message], spec: Speculation | None, mode: str, announce: bool = True
    ) -> tuple[str, CallRecord]:
        def forward(delta: str) -> None:
            self._emit("response.output_text.delta", delta=delta)

        if announce:
            self._emit(
                "response.created",
                mode=self.config.mode,
                answer_mode=mode,
                speculative=spec is not None,
            )
        if spec is not None and spec.task is not None:
            record, task = spec.record, spec.task
            spec.adopt(forward)
        else:
            record = self._output_record()
            task = asyncio.get_running_loop().create_task(
                stream_call(
                    self.output_backend,
                    self._answer_request(messages, mode),
                    record,
                    clock=self.clock,
                    on_delta=forward,
                )
            )
        self._answer_task = task
        try:
            return await task, record
        except asyncio.CancelledError:
            if task.cancelled() and not _current_task_cancelling():
                raise SessionError("cancelled", "the answer was cancelled") from None
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

    def _end_turn(self, prompt: str, messages: list[Message], answer: str) -> None:
        """Add the turn to the history: the whole transcript for append-only formats
        (the next turn extends the cached prompt), else the plain question and answer."""
        reply: Message = {"role": "assistant", "content": answer.strip()}
        if self._append_only and self.config.mode == "livemind":
            turn = [*messages[1 + len(self.history) :], reply]
        else:
            turn = [{"role": "user", "content": prompt.strip()}, reply]
        self._turns.append(turn)
        keep = self.config.max_history_turns
        self._turns = self._turns[-keep:] if keep else []
        self._reset_turn()
        self._committing = False


def _current_task_cancelling() -> bool:
    task = asyncio.current_task()
    return bool(task and task.cancelling())
