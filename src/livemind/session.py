"""LiveSession: one conversation's simultaneous-inference state machine.

Text flows one way: text snapshots -> :class:`~livemind.segment.Segmenter` ->
:class:`~livemind.memory.InferenceMemory` -> model calls -> events.

Contract:
- :meth:`LiveSession.set_text` / :meth:`append` take the user's text as it changes (full
  snapshots handle backspace, paste and edits anywhere). They never block.
- At most one model call of the typing phase is in flight. Inference calls come first:
  text arriving meanwhile is handled by the next call (several new segments at once); a
  call whose segments an edit has changed is cancelled; memory entries based on changed
  text are dropped. Prefill-only *prewarm* calls (``config.prewarm``) run only when no
  inference call is due and are cancelled as soon as one is, or on Enter.
- With ``config.speculate`` the answer starts once the input has been idle
  ``speculate_after_s`` and looks complete (or when :meth:`speculate` is called); an edit
  cancels it, Enter on the same text adopts it.
- :meth:`commit` (the user pressed Enter) runs the output stage on the output model
  (collaborative mode when one is set) and returns an :class:`Answer` with timings.
  Afterwards the turn joins the history and the next turn starts empty (multi-turn).
- Failures of a call become ``error`` events; the session stays usable.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any

from livemind.answer_modes import notes_paused_reason, solving
from livemind.answering import Answer, SessionError, Speculation
from livemind.backends.base import Backend, Message
from livemind.calls import CallRecord, Clock
from livemind.config import SessionConfig
from livemind.events import Event, Listener
from livemind.formats import APPEND_ONLY_FORMATS
from livemind.memory import InferenceMemory
from livemind.output_stage import OutputStage
from livemind.segment import Segmenter, SegmentUpdate
from livemind.typing_phase import TypingPhase, _Call

__all__ = ["Answer", "LiveSession", "SessionError"]


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A snapshot segmented ahead (:meth:`LiveSession.prepare_text`): the segmenter it
    started from and that one's text then, the updated copy and what changed."""

    text: str
    base: Segmenter
    base_text: str
    fork: Segmenter
    update: SegmentUpdate


class LiveSession(TypingPhase, OutputStage):
    """See the module docstring for the contract.

    ``speculation_timer=False`` leaves speculation to explicit :meth:`speculate` calls
    (the evaluation's virtual clock drives it that way).
    """

    def __init__(
        self,
        backend: Backend,
        config: SessionConfig | None = None,
        *,
        output_backend: Backend | None = None,
        session_id: str | None = None,
        clock: Clock = time.perf_counter,
        speculation_timer: bool = True,
    ) -> None:
        self.config = (config or SessionConfig()).validated()
        self.backend = backend
        self.output_backend = output_backend or backend
        self.session_id = session_id or uuid.uuid4().hex[:12]
        self.clock = clock
        self.speculation_timer = speculation_timer
        self._turns: list[list[Message]] = []
        self._listeners: list[Listener] = []
        self._speculation: Speculation | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_edit = 0.0
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
        self._discard_speculation()
        self.segmenter = Segmenter(cfg.granularity, cfg.min_len)
        self.memory = InferenceMemory()
        self.calls: list[CallRecord] = []
        self.prewarms: list[CallRecord] = []
        self.wasted: list[CallRecord] = []
        self._cached_text = ""  # a prefix of the text the model has already read
        self.trace: list[dict[str, Any]] = []
        self._failed_upto = 0
        self._call: _Call | None = None
        self._held_for: str | None = None  # typing-phase work stopped for an answer to this
        self._notes_paused = False  # notes="auto" and the text reads like a word problem

    @property
    def text(self) -> str:
        return self.segmenter.text

    @property
    def history(self) -> list[Message]:
        """Earlier turns' messages (oldest first), as the next call will see them."""
        return [m for turn in self._turns for m in turn]

    @property
    def busy(self) -> bool:
        """Whether a typing-phase call (inference or prewarm) is in flight or due."""
        return not self._idle.is_set()

    @property
    def _append_only(self) -> bool:
        return self.config.format in APPEND_ONLY_FORMATS

    def _stable_texts(self) -> list[str]:
        return [s.text for s in self.segmenter.segments]

    def update_config(self, **changes: Any) -> None:
        """Change settings; segmentation changes take effect from the next turn."""
        self.config = replace(self.config, **changes).validated()

    # ----- input ----------------------------------------------------------------------
    def append(self, delta: str) -> None:
        self.set_text(self.text + delta)

    def set_text(self, text: str) -> None:
        """Take a full snapshot of the input text (segments it on the spot: for long texts
        on a busy event loop, see :meth:`prepare_text`)."""
        self._note_text(text)
        self._apply(self.segmenter.update(text))
        self._announce_notes_policy()

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
        self.segmenter = prepared.fork
        self._apply(prepared.update)
        self._announce_notes_policy()
        return True

    def _note_text(self, text: str) -> None:
        """What a new snapshot changes before its segments are applied."""
        if self._committing:
            raise SessionError("busy", "an answer is being produced; wait for it or cancel it")
        if text != self.text:
            self._discard_speculation()
            self._arm_speculation_timer()
            if not text.startswith(self._cached_text):
                self._cached_text = os.path.commonprefix([text, self._cached_text])

    def _announce_notes_policy(self) -> None:
        """Tell listeners when ``notes="auto"`` stops (or resumes) writing notes."""
        cfg = self.config
        paused = cfg.mode == "livemind" and solving(cfg.notes, self.text, cfg.answer_mode)
        if paused != self._notes_paused:
            self._notes_paused = paused
            if paused:
                self._emit("notes.paused", reason=notes_paused_reason(cfg.answer_mode))
            else:
                self._emit("notes.resumed")

    def _apply(self, update: Any) -> None:
        call = self._call
        if update.invalidated_from is not None:
            stable = self._stable_texts()
            dropped = self.memory.sync(stable)
            self._failed_upto = min(self._failed_upto, len(stable))
            first = (
                update.invalidated_from
                if dropped is None
                else min(dropped, update.invalidated_from)
            )
            self._emit("memory.invalidated", from_index=first)
            if call and call.kind == "inference" and first < call.start + len(call.segments):
                call.task.cancel()  # it read text (or notes) that no longer stand
        for seg in update.added:
            self._emit("segment.committed", index=seg.index, text=seg.text)
        if call and call.kind == "prewarm":
            stale = not self.text.startswith(call.text)
            if stale or self._inference_due():
                call.task.cancel()  # lowest priority: never in the way of an inference call
        self._kick()

    # ----- control --------------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel the in-flight typing-phase call, the speculation and the answer."""
        if self._call is not None:
            self._call.task.cancel()
        self._discard_speculation()
        if self._answer_task is not None:
            self._answer_task.cancel()

    def reset(self) -> None:
        """Forget the history and the current turn."""
        self.cancel()
        self._turns.clear()
        self._reset_turn()

    async def aclose(self) -> None:
        self.cancel()
        if self._timer is not None:
            self._timer.cancel()
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
            self._worker = None
