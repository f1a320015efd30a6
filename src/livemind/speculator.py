"""Speculative answers: the answer started before Enter, once the input rests and looks
complete (``config.speculate``).

The timer runs on the session's clock: :meth:`Speculator.arm` after every edit,
:meth:`Speculator.maybe` when the typing worker goes idle. An edit discards the running
speculation; Enter adopts it if it answers exactly the committed messages
(:meth:`Speculator.take`).
"""

from __future__ import annotations

import asyncio

from livemind.answering import Speculation, looks_complete
from livemind.backends.base import Message
from livemind.calls import stream_call
from livemind.clock import Timer
from livemind.events import EventName as E
from livemind.prompts import answer_messages, answer_mode, answer_request
from livemind.session_context import SessionContext
from livemind.typing_worker import TypingWorker


class Speculator:
    def __init__(self, ctx: SessionContext, worker: TypingWorker) -> None:
        self._ctx = ctx
        self._worker = worker
        self._timer: Timer | None = None
        self._last_edit = 0.0
        self.current: Speculation | None = None

    @property
    def running(self) -> bool:
        """Whether a speculative answer is still generating."""
        spec = self.current
        return spec is not None and spec.task is not None and not spec.task.done()

    def arm(self) -> None:
        """The text changed: restart the idle timer."""
        cfg = self._ctx.config
        if not cfg.speculate:
            return
        self._last_edit = self._ctx.clock.now()
        self.stop_timer()
        self._timer = self._ctx.clock.call_later(cfg.speculate_after_s, self.maybe)

    def stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def maybe(self) -> None:
        """Speculate if the input has rested long enough (timer or worker gone idle)."""
        cfg = self._ctx.config
        if not cfg.speculate or self._timer is None:
            return
        if self._ctx.clock.now() - self._last_edit >= cfg.speculate_after_s - 1e-3:
            self.speculate()

    def speculate(self) -> bool:
        """Start the answer now if the session is idle and the text looks complete;
        whether a speculative answer runs for the current text.

        A typing-phase call in flight normally defers the speculation until it is done.
        With ``commit_policy="cancel"`` (Enter would cancel that call anyway) the call is
        cancelled instead, no further typing-phase call starts until the text changes, and
        the answer starts as soon as the call has stopped (False is returned meanwhile)."""
        ctx = self._ctx
        cfg, turn = ctx.config, ctx.turn
        if not cfg.speculate or turn.committing or not looks_complete(turn.text):
            return False
        if self._worker.busy:
            if cfg.commit_policy == "cancel" and turn.held_for != turn.text:
                turn.held_for = turn.text
                self._worker.cancel()  # the worker emits inference.cancelled
            return False
        messages = answer_messages(cfg, turn, ctx.history, turn.text, final=True)
        if self._answers(messages):
            return True
        self.discard()
        spec = Speculation(messages, ctx.answer_record())
        spec.record.extra["speculative"] = True
        request = answer_request(cfg, messages, answer_mode(cfg, turn.text), ctx.session_id)
        spec.task = asyncio.get_running_loop().create_task(
            stream_call(
                ctx.output_backend,
                request,
                spec.record,
                clock=ctx.clock.now,
                on_delta=spec.on_delta,
            )
        )
        self.current = spec
        ctx.emit(E.SPECULATION_STARTED, text_chars=len(turn.text))
        return True

    def take(self, messages: list[Message]) -> Speculation | None:
        """The running speculation if it answers exactly ``messages`` (else discard it)."""
        spec = self.current
        if spec is not None and self._answers(messages):
            self.current = None
            return spec
        self.discard()
        return None

    def _answers(self, messages: list[Message]) -> bool:
        """Whether the current speculation is usable and answers exactly ``messages``."""
        spec = self.current
        return spec is not None and spec.usable and spec.messages == messages

    async def finished(self) -> None:
        """Wait until the speculative answer now running (if any) has stopped."""
        spec = self.current
        if spec is not None and spec.task is not None and not spec.task.done():
            await asyncio.wait({spec.task})

    def discard(self) -> None:
        spec, self.current = self.current, None
        if spec is not None:
            spec.cancel()
            self._ctx.turn.wasted.append(spec.record)
            self._ctx.emit(E.SPECULATION_DISCARDED)
