"""What the terminal chat shows while you type: session events in, a status line and
finished notes out. Pure (no terminal): ``livemind.chat_tui`` draws it.

:class:`ChatStatus` is a session listener. Its :meth:`~ChatStatus.line` is the one-line
status under the input (segments read, notes kept, the note being written right now);
:meth:`~ChatStatus.take_log` hands over the lines worth keeping on screen above the input
(each finished note, cancelled calls, errors), each once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from livemind.events import Event
from livemind.events import EventName as E

THINKING_CHARS = 60  # how much of the note being written the status line shows


@dataclass(slots=True)
class ChatStatus:
    """Session events → the status line and the log lines of the current turn."""

    segments: int = 0
    notes: int = 0
    thinking: str | None = None  # the note being written, None when no call runs
    paused: bool = False  # notes="auto" writes no notes for this text
    answering: bool = False
    entered: bool = False  # Enter was pressed: the answer is on its way
    _log: list[tuple[str, str]] = field(default_factory=list)  # (kind, text)

    def __call__(self, event: Event) -> None:
        d = event.data
        kind = event.type
        if kind == E.SEGMENT_COMMITTED:
            self.segments = max(self.segments, d["index"] + 1)
        elif kind == E.MEMORY_INVALIDATED:
            self.segments = min(self.segments, d["from_index"])
        elif kind == E.INFERENCE_STARTED:
            self.thinking = ""
        elif kind == E.INFERENCE_DELTA:
            self.thinking = (self.thinking or "") + d["delta"]
        elif kind == E.INFERENCE_DONE:
            self.thinking = None
            if d.get("content"):
                self.notes += 1
                self._log.append(("note", " ".join(d["content"].split())))
        elif kind == E.INFERENCE_CANCELLED:
            self.thinking = None
            why = "cut short by Enter" if self.entered else "dropped: its text was edited"
            self._log.append(("dim", f"the note being written was {why}"))
        elif kind == E.INFERENCE_DEFERRED:
            self.thinking = None
            self._log.append(("dim", "the note waits: the engine is answering someone else"))
        elif kind == E.NOTES_PAUSED:
            self.paused = True
            self._log.append(("dim", f"notes paused: {d['reason']}"))
        elif kind == E.NOTES_RESUMED:
            self.paused = False
        elif kind == E.RESPONSE_CREATED:
            self.answering, self.thinking = True, None
        elif kind == E.RESPONSE_DONE:
            self.answering = False
        elif kind == E.ERROR:
            self._log.append(("error", f"error [{d['code']}]: {d['message']}"))

    def new_turn(self) -> None:
        """Start counting afresh (after an answer, a reset)."""
        self.segments = self.notes = 0
        self.thinking, self.paused, self.answering, self.entered = None, False, False, False

    def take_log(self) -> list[tuple[str, str]]:
        """The log lines since the last call, oldest first."""
        out, self._log = self._log, []
        return out

    def line(self) -> str:
        """The status line: what the model has read and is doing with your text."""
        parts = [f"read {self.segments} segment{'s' if self.segments != 1 else ''}"]
        if self.paused:
            parts.append("no notes (solved at Enter)")
        else:
            parts.append(f"{self.notes} note{'s' if self.notes != 1 else ''}")
        if self.thinking is not None:
            shown = " ".join(self.thinking.split())
            if len(shown) > THINKING_CHARS:
                shown = "…" + shown[-THINKING_CHARS:]
            parts.append(f"thinking ▸ {shown}")
        return " · ".join(parts)
