"""Inference memory: which stable segments each inference-stage call saw, and what it did.

Entries are contiguous: entry *k* covers segments ``[start, end)`` and entry *k+1* starts
where *k* ended. An entry survives exactly as long as the text it was based on: after an
edit, :meth:`InferenceMemory.sync` keeps the entries whose segments still match the current
stable segments and drops the first mismatching entry and everything after it.

A ``wait`` entry records that a call saw its segments and stored nothing; its segments
"roll forward" and are presented again, together with newer ones, to the next call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from livemind.actions import Action


@dataclass(frozen=True, slots=True)
class MemoryEntry:
    """One inference-stage call: the segments it was given and the action it returned."""

    start: int
    end: int
    segments: tuple[str, ...]
    action: Action
    looked: bool = False  # a final look: the call was asked for its answer (candidate notes)

    @property
    def text(self) -> str:
        return "".join(self.segments)


class InferenceMemory:
    """The ordered, prefix-matched list of :class:`MemoryEntry`."""

    def __init__(self) -> None:
        self._entries: list[MemoryEntry] = []

    @property
    def entries(self) -> list[MemoryEntry]:
        return list(self._entries)

    @property
    def inferences(self) -> list[MemoryEntry]:
        """Entries that hold content (every action but ``wait``)."""
        return [e for e in self._entries if e.action.keeps_content]

    @property
    def seen_upto(self) -> int:
        """Number of leading segments some call has already seen."""
        return self._entries[-1].end if self._entries else 0

    @property
    def pending_from(self) -> int:
        """First segment not yet followed by a stored inference (waits roll forward)."""
        for entry in reversed(self._entries):
            if entry.action.keeps_content:
                return entry.end
        return 0

    def add(
        self, start: int, segments: Sequence[str], action: Action, *, looked: bool = False
    ) -> MemoryEntry:
        """Record a call over ``segments`` starting at segment index ``start``.

        ``start`` must be ``pending_from`` (the call saw every segment after the last
        inference) or ``seen_upto``; otherwise ValueError (the caller's view is stale).
        """
        if start not in (self.pending_from, self.seen_upto):
            raise ValueError(
                f"entry starts at segment {start}, memory expects "
                f"{self.pending_from} or {self.seen_upto}"
            )
        if start < self.seen_upto:
            # The call re-read rolled-forward wait segments: the waits are folded into it.
            self._entries = [e for e in self._entries if e.end <= start]
        entry = MemoryEntry(start, start + len(segments), tuple(segments), action, looked)
        self._entries.append(entry)
        return entry

    def sync(self, segments: Sequence[str]) -> int | None:
        """Drop entries that no longer match ``segments`` (the current stable segments).

        Returns the segment index where the first dropped entry started, or None when
        every entry still matches.
        """
        for k, entry in enumerate(self._entries):
            if tuple(segments[entry.start : entry.end]) != entry.segments:
                del self._entries[k:]
                return entry.start
        return None

    def clear(self) -> None:
        self._entries.clear()
