"""LiveSession: one conversation's simultaneous inference, as a small façade.

Text flows one way: text snapshots -> :class:`~livemind.segment.Segmenter` ->
:class:`~livemind.memory.InferenceMemory` -> model calls -> events. The parts:
:mod:`~livemind.planner` (what to call next, pure), :mod:`~livemind.prompts` (the
requests, pure), :class:`~livemind.typing_worker.TypingWorker` (runs typing-phase calls),
:class:`~livemind.speculator.Speculator` and :class:`~livemind.answerer.Answerer`, sharing
one :class:`~livemind.session_context.SessionContext`.

Contract:
- :meth:`LiveSession.set_text` / :meth:`append` take the user's text as it changes (full
  snapshots handle backspace, paste and edits anywhere). They never block.
- At most one model call of the typing phase is in flight. Inference calls come first:
  text arriving meanwhile is handled by the next call (several new segments at once); a
  call whose segments an edit has changed is cancelled; memory entries based on changed
  text are dropped. Prefill-only *prewarm* calls (``config.prewarm``) run only when no
  inference call is due and are cancelled as soon as one is, or on Enter.
- With ``config.speculate`` the answer starts once the input has been idle
  ``speculate_after_s`` on the session's clock and looks complete (or when
  :meth:`speculate` is called); an edit cancels it, Enter on the same text adopts it.
- :meth:`commit` (the user pressed Enter) runs the output stage on the output model
  (collaborative mode when one is set) and returns an :class:`Answer` with timings.
  Afterwards the turn joins the history and the next turn starts empty (multi-turn).
- Failures of a call become ``error`` events; the session stays usable.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace
from typing import Any

from livemind.answer_modes import notes_paused_reason, solving
from livemind.answerer import Answerer
from livemind.answering import Answer, SessionError
from livemind.backends.base import Backend, Message
from livemind.calls import CallRecord
from livemind.clock import Clock, SessionClock
from livemind.config import SessionConfig
from livemind.events import Event, Listener
from livemind.memory import InferenceMemory
from livemind.segment import Segmenter, SegmentUpdate
from livemind.session_context import SessionContext
from livemind.speculator import Speculator
from livemind.typing_worker import TypingWorker

__all__ = ["Answer", "LiveSession", "PreparedText", "SessionError"]


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A snapshot segmented ahead (:meth:`LiveSession.prepare_text`): the segmenter it
    started from and that one's text then, the updated copy and what changed."""

    text: str
    base: Segmenter
    base_text: str
    fork: Segmenter
    update: SegmentUpdate


class LiveSession:
    """See the module docstring. ``clock``: where times and timers come from (default: a
    :class:`SessionClock` on the event loop's time, which a simulated typist can skip)."""

    def __init__(
        self,
        backend: Backend,
        config: SessionConfig | None = None,
        *,
        output_backend: Backend | None = None,
        session_id: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._listeners: list[Listener] = []
        self._ctx = SessionContext(
            config=(config or SessionConfig()).validated(),
            backend=backend,
            output_backend=output_backend or backend,
            session_id=session_id or uuid.uuid4().hex[:12],
            clock=clock or SessionClock(),
            emit=self._emit,
        )
        self._worker = TypingWorker(self._ctx, on_idle=self._on_idle)
        self._speculator = Speculator(self._ctx, self._worker)
        self._answerer = Answerer(self._ctx, self._worker, self._speculator, self._apply)

    # ----- observers and read-only views ----------------------------------------------
    def on(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event, synchronously, in order."""
        self._listeners.append(listener)

    def _emit(self, type_: str, **data: Any) -> None:
        event = Event(type_, data)
        for listener in list(self._listeners):
            listener(event)

    @property
    def config(self) -> SessionConfig:
        return self._ctx.config

    @property
    def backend(self) -> Backend:
        """The typing phase's model."""
        return self._ctx.backend

    @property
    def output_backend(self) -> Backend:
        """The answer's model (the same one unless collaborative)."""
        return self._ctx.output_backend

    @property
    def session_id(self) -> str:
        return self._ctx.session_id

    @property
    def clock(self) -> Clock:
        return self._ctx.clock

    @property
    def text(self) -> str:
        return self._ctx.turn.text

    @property
    def segmenter(self) -> Segmenter:
        return self._ctx.turn.segmenter

    @property
    def memory(self) -> InferenceMemory:
        return self._ctx.turn.memory

    @property
    def calls(self) -> list[CallRecord]:
        """This turn's inference calls."""
        return self._ctx.turn.calls

    @property
    def prewarms(self) -> list[CallRecord]:
        return self._ctx.turn.prewarms

    @property
    def trace(self) -> list[dict[str, Any]]:
        """This turn's notes, in order."""
        return self._ctx.turn.trace

    @property
    def history(self) -> list[Message]:
        """Earlier turns' messages (oldest first), as the next call will see them."""
        return self._ctx.history

    @property
    def busy(self) -> bool:
        """Whether a typing-phase call (inference or prewarm) is in flight or due."""
        return self._worker.busy

    @property
    def speculating(self) -> bool:
        """Whether a speculative answer is still generating."""
        return self._speculator.running

    def update_config(self, **changes: Any) -> None:
        """Change settings; segmentation changes take effect from the next turn."""
        self._ctx.config = replace(self._ctx.config, **changes).validated()

    # ----- input ----------------------------------------------------------------------
    def append(self, delta: str) -> None:
        self.set_text(self.text + delta)

    def set_text(self, text: str) -> None:
        """Take a full snapshot of the input text (segments it on the spot: for long texts
        on a busy event loop, see :meth:`prepare_text`)."""
        self._note_text(text)
        self._apply(self.segmenter.update(text))

    async def prepare_text(self, text: str) -> PreparedText:
        """Segment ``text`` in a worker thread on a copy of the segmenter, leaving the
        session as it is, so that a long text does not hold up the event loop;
        :meth:`apply_prepared` then takes the result."""
        base = self.segmenter
        fork = base.fork()  # on the loop: the session's segmenter is not read meanwhile
        update = await asyncio.to_thread(fork.update, text)
        return PreparedText(text, base, base.text, fork, update)

    def apply_prepared(self, prepared: PreparedText) -> bool:
        """Take a text segmented by :meth:`prepare_text`; False, changing nothing, when
        the session's text moved on meanwhile (a reset, another text): prepare it again."""
        if prepared.base is not self.segmenter or prepared.base_text != self.segmenter.text:
            return False
        self._note_text(prepared.text)
        self._ctx.turn.segmenter = prepared.fork
        self._apply(prepared.update)
        return True

    def _note_text(self, text: str) -> None:
        """What a new snapshot changes before its segments are applied."""
        turn = self._ctx.turn
        if turn.committing:
            raise SessionError("busy", "an answer is being produced; wait for it or cancel it")
        if text != turn.text:
            self._speculator.discard()
            self._speculator.arm()
            turn.text_changed(text)

    def _apply(self, update: SegmentUpdate) -> None:
        """Events and invalidation for one segmentation update, then the worker's turn."""
        turn = self._ctx.turn
        first = update.invalidated_from
        if first is not None:
            dropped = turn.invalidate()
            first = first if dropped is None else min(dropped, first)
            self._emit("memory.invalidated", from_index=first)
        for seg in update.added:
            self._emit("segment.committed", index=seg.index, text=seg.text)
        self._announce_notes_policy()
        self._worker.after_update(first)
        self._worker.kick()

    def _announce_notes_policy(self) -> None:
        """Tell listeners when ``notes="auto"`` stops (or resumes) writing notes."""
        cfg, turn = self._ctx.config, self._ctx.turn
        paused = cfg.mode == "livemind" and solving(cfg.notes, turn.text, cfg.answer_mode)
        if paused != turn.notes_paused and not turn.committing:
            turn.notes_paused = paused
            if paused:
                self._emit("notes.paused", reason=notes_paused_reason(cfg.answer_mode))
            else:
                self._emit("notes.resumed")

    def _on_idle(self) -> None:
        self._speculator.maybe()

    # ----- control --------------------------------------------------------------------
    def speculate(self) -> bool:
        """Start the answer now, before Enter (see :meth:`Speculator.speculate`)."""
        return self._speculator.speculate()

    async def settled(self) -> None:
        """Wait until no typing-phase call is in flight or due."""
        await self._worker.settled()

    async def quiet(self) -> None:
        """Wait until nothing runs: no typing-phase call in flight or due, no speculative
        answer generating (a simulated typist's clock jumps only then)."""
        while True:
            await self._worker.settled()
            spec = self._speculator.current
            if spec is not None and spec.task is not None and not spec.task.done():
                await asyncio.wait({spec.task})
            elif not self._worker.busy:
                return

    async def commit(self) -> Answer:
        """The input is complete: produce the answer (see the module contract)."""
        return await self._answerer.commit()

    def cancel(self) -> None:
        """Cancel the in-flight typing-phase call, the speculation and the answer."""
        self._worker.cancel()
        self._speculator.discard()
        self._answerer.cancel()

    def reset(self) -> None:
        """Forget the history and the current turn."""
        self.cancel()
        self._ctx.turns.clear()
        self._ctx.new_turn()

    async def aclose(self) -> None:
        self.cancel()
        self._speculator.stop_timer()
        await self._worker.aclose()
