"""The user's text into the session: snapshots -> segments -> events, invalidation and
the typing worker's next move.

:class:`TextInput` is a part of :class:`~livemind.session.LiveSession`: every snapshot
(typed, pasted, edited anywhere) goes through :meth:`TextInput.set_text`, or for long texts
:meth:`TextInput.prepare` (segmented in a worker thread) then
:meth:`TextInput.apply_prepared`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from livemind.answer_modes import notes_paused_reason
from livemind.answering import SessionError
from livemind.events import EventName as E
from livemind.planner import plain_layout
from livemind.segment import Segmenter, SegmentUpdate
from livemind.session_context import SessionContext
from livemind.speculator import Speculator
from livemind.typing_worker import TypingWorker


@dataclass(frozen=True, slots=True)
class PreparedText:
    """A snapshot segmented ahead (:meth:`LiveSession.prepare_text`): the segmenter it
    started from and that one's text then, the updated copy and what changed."""

    text: str
    base: Segmenter
    base_text: str
    fork: Segmenter
    update: SegmentUpdate


class TextInput:
    def __init__(self, ctx: SessionContext, worker: TypingWorker, speculator: Speculator) -> None:
        self._ctx = ctx
        self._worker = worker
        self._speculator = speculator

    def set_text(self, text: str) -> None:
        """Take a full snapshot of the input text, segmented on the spot."""
        self._note_text(text)
        self.apply(self._ctx.turn.segmenter.update(text))

    async def prepare(self, text: str) -> PreparedText:
        """Segment ``text`` in a worker thread on a copy of the segmenter."""
        base = self._ctx.turn.segmenter
        fork = base.fork()  # on the loop: the session's segmenter is not read meanwhile
        update = await asyncio.to_thread(fork.update, text)
        return PreparedText(text, base, base.text, fork, update)

    def apply_prepared(self, prepared: PreparedText) -> bool:
        """Take a prepared text; False, changing nothing, if the text moved on meanwhile."""
        turn = self._ctx.turn
        if prepared.base is not turn.segmenter or prepared.base_text != turn.segmenter.text:
            return False
        self._note_text(prepared.text)
        turn.segmenter = prepared.fork
        self.apply(prepared.update)
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

    def apply(self, update: SegmentUpdate) -> None:
        """Events and invalidation for one segmentation update, then the worker's turn."""
        turn = self._ctx.turn
        first = update.invalidated_from
        if first is not None or turn.tail_noted:
            dropped = turn.invalidate()
            if dropped is not None:
                first = dropped if first is None else min(dropped, first)
            if first is not None:
                self._ctx.emit(E.MEMORY_INVALIDATED, from_index=first)
        for seg in update.added:
            self._ctx.emit(E.SEGMENT_COMMITTED, index=seg.index, text=seg.text)
        self._announce_notes_policy()
        self._worker.after_update(first)
        self._worker.kick()

    def _announce_notes_policy(self) -> None:
        """Tell listeners when ``notes="auto"`` stops (or resumes) writing notes; notes
        stopped because they did not fit the context resume once the text is shorter
        (the typing calls and the answerer announce that pause themselves)."""
        cfg, turn = self._ctx.config, self._ctx.turn
        paused = cfg.mode == "livemind" and plain_layout(cfg, turn, turn.text)
        if paused != turn.notes_paused and not turn.committing:
            turn.notes_paused = paused
            if paused:
                self._ctx.emit(E.NOTES_PAUSED, reason=notes_paused_reason(cfg.answer_mode))
            else:
                self._ctx.emit(E.NOTES_RESUMED)
