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

import uuid
from dataclasses import replace
from typing import Any

from livemind.answerer import Answerer
from livemind.answering import Answer, SessionError
from livemind.backends.base import Backend, Message
from livemind.clock import Clock, SessionClock
from livemind.config import SessionConfig
from livemind.events import Event, EventName, Listener
from livemind.segment import Segmenter
from livemind.session_context import SessionContext
from livemind.speculator import Speculator
from livemind.text_input import PreparedText, TextInput
from livemind.turn import TurnState
from livemind.typing_worker import TypingWorker

__all__ = ["Answer", "LiveSession", "PreparedText", "SessionError"]


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
        self._input = TextInput(self._ctx, self._worker, self._speculator)
        self._answerer = Answerer(self._ctx, self._worker, self._speculator, self._input.apply)

    # ----- observers and read-only views ----------------------------------------------
    def on(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event, synchronously, in order."""
        self._listeners.append(listener)

    def _emit(self, name: EventName, /, **data: Any) -> None:
        event = Event(name, data)
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
        """The answer's model (the same one unless collaborative); settable between turns."""
        return self._ctx.output_backend

    @output_backend.setter
    def output_backend(self, backend: Backend) -> None:
        self._ctx.output_backend = backend

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
    def turn(self) -> TurnState:
        """The current turn (segments, notes, this turn's call records): read it only."""
        return self._ctx.turn

    @property
    def segmenter(self) -> Segmenter:
        return self._ctx.turn.segmenter

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
        self._input.set_text(text)

    async def prepare_text(self, text: str) -> PreparedText:
        """Segment ``text`` in a worker thread, leaving the session as it is, so that a
        long text does not hold up the event loop; :meth:`apply_prepared` takes it."""
        return await self._input.prepare(text)

    def apply_prepared(self, prepared: PreparedText) -> bool:
        """Take a text segmented by :meth:`prepare_text`; False, changing nothing, when
        the session's text moved on meanwhile (a reset, another text): prepare it again."""
        return self._input.apply_prepared(prepared)

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
        while self._worker.busy or self._speculator.running:
            await self._worker.settled()
            await self._speculator.finished()

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
