"""One turn's state: what the user has typed, what the model has read and noted.

:class:`TurnState` is a plain value that the session's parts read and update in a few
named ways; a new one starts every turn. It holds no tasks and does no I/O.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from livemind.actions import Action
from livemind.calls import CallRecord
from livemind.formats import PromptView
from livemind.memory import InferenceMemory
from livemind.segment import Segmenter


@dataclass(slots=True)
class TurnState:
    """The current turn.

    ``cached_text`` is a prefix of the text the model has already read (by a note or a
    prewarm); ``failed_upto`` the segment count up to which an inference call failed (not
    retried for that text); ``held_for`` the text for which typing-phase work stopped to
    let a speculative answer start (``commit_policy="cancel"``); ``committing``: Enter
    was pressed and the answer is being produced.

    Collaborative mode: ``output_cached`` is the text the output model's cache holds (its
    own prewarms) with the notes of ``output_notes_version``; ``notes_version`` counts
    every change of the notes (a note added, notes dropped by an edit).

    Context limits: ``notes_overflow_at`` is the text length (characters) at which a
    prompt with notes did not fit the model's context: no notes while the text is that
    long (the prompts take the plain layout); ``prewarm_overflow_at`` the text length at
    which even the plain layout did not fit (a prefill, or the answer): no prewarm while
    the text is that long.
    """

    segmenter: Segmenter
    memory: InferenceMemory = field(default_factory=InferenceMemory)
    calls: list[CallRecord] = field(default_factory=list)  # inference calls
    prewarms: list[CallRecord] = field(default_factory=list)
    wasted: list[CallRecord] = field(default_factory=list)  # discarded speculations
    trace: list[dict[str, Any]] = field(default_factory=list)  # the notes, in order
    cached_text: str = ""
    failed_upto: int = 0
    held_for: str | None = None
    notes_paused: bool = False
    committing: bool = False
    prefilled_plain: bool = False  # one model notes and answers; its last call was a plain prewarm
    notes_version: int = 0
    output_cached: str = ""
    output_notes_version: int = -1
    notes_overflow_at: int | None = None
    prewarm_overflow_at: int | None = None

    @classmethod
    def start(cls, granularity: str, min_len: int) -> TurnState:
        return cls(Segmenter(granularity, min_len))

    @property
    def text(self) -> str:
        return self.segmenter.text

    def notes_fit(self) -> bool:
        """Whether prompts with notes may still fit the context (see the class doc)."""
        return self.notes_overflow_at is None or len(self.text) < self.notes_overflow_at

    def prewarm_fits(self) -> bool:
        """Whether a prefill of the text may still fit the context (see the class doc)."""
        return self.prewarm_overflow_at is None or len(self.text) < self.prewarm_overflow_at

    def stable_texts(self) -> list[str]:
        return [s.text for s in self.segmenter.segments]

    def readable_texts(self, with_tail: bool) -> list[str]:
        """The stable segments, plus the unstable tail (if any) when ``with_tail``: a
        final look at a question that seems complete reads it as one more segment,
        without trailing whitespace (as Enter's final segmentation will cut it)."""
        texts = self.stable_texts()
        tail = self.segmenter.tail.rstrip()
        return [*texts, tail] if with_tail and tail else texts

    def view(self, texts: list[str], append_only: bool) -> PromptView:
        """The notes so far over ``texts`` (WAIT markers kept in append-only layouts)."""
        return PromptView.build(self.memory.entries, texts, keep_waits=append_only)

    def text_changed(self, text: str) -> None:
        """A new snapshot: the cached prefix shrinks to what it still shares with it."""
        if not text.startswith(self.cached_text):
            self.cached_text = os.path.commonprefix([text, self.cached_text])
        if not text.startswith(self.output_cached):
            self.output_cached = os.path.commonprefix([text, self.output_cached])

    def read(self, text: str) -> None:
        """The model has read ``text`` (a prefix of the input), if it still stands."""
        if self.text.startswith(text) and len(text) > len(self.cached_text):
            self.cached_text = text

    @property
    def tail_noted(self) -> bool:
        """Whether a note covers the unstable tail (a final look): it must be checked on
        every snapshot, since the segmenter reports changes of stable segments only."""
        return self.memory.seen_upto > len(self.segmenter.segments)

    def output_read(self, text: str) -> None:
        """The output model has read ``text`` with the current notes."""
        self.output_cached = text if self.text.startswith(text) else ""
        self.output_notes_version = self.notes_version

    def invalidate(self) -> int | None:
        """Drop notes on segments that changed (a final look's note on the tail stays while
        the tail is unchanged); return the first dropped index (or None)."""
        stable = self.stable_texts()
        dropped = self.memory.sync(self.readable_texts(with_tail=True))
        if dropped is not None:
            self.notes_version += 1
        self.failed_upto = min(self.failed_upto, len(stable))
        return dropped

    def store_note(
        self,
        start: int,
        segments: tuple[str, ...],
        action: Action,
        record: CallRecord,
        *,
        looked: bool = False,
    ) -> dict[str, Any] | None:
        """Keep a note on ``segments`` (from index ``start``); return its trace entry, or
        None when the text changed under the call (the note is stale)."""
        record.action = action.kind.value
        texts = self.readable_texts(with_tail=True)
        if tuple(texts[start : start + len(segments)]) != segments:
            return None
        self.memory.add(start, segments, action, looked=looked)
        self.notes_version += 1
        self.read("".join(texts[: start + len(segments)]))
        trace: dict[str, Any] = {
            "segments": list(segments),
            "action": action.kind.value,
            "content": action.content,
        }
        if record.extra.get("partial"):
            trace["partial"] = True
        self.trace.append(trace)
        return trace

    def restore(self, prompt: str) -> None:
        """After a failed commit: keep ``prompt`` with its last segment unstable again."""
        self.committing = False
        self.segmenter.reset()
        self.segmenter.update(prompt)
        if self.memory.sync(self.readable_texts(with_tail=True)) is not None:
            self.notes_version += 1
        self.failed_upto = min(self.failed_upto, len(self.segmenter.segments))
