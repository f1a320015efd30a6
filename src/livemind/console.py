"""Terminal rendering of session events (used by ``livemind demo`` and ``livemind chat``).

Events print as lines with a time stamp; inference and answer text stream in as it is
generated. On a terminal a one-line status shows the text being typed.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from livemind.events import Event
from livemind.events import EventName as E

_DIM, _BOLD, _CYAN, _GREEN, _YELLOW, _RED, _RESET = (
    "\033[2m",
    "\033[1m",
    "\033[36m",
    "\033[32m",
    "\033[33m",
    "\033[31m",
    "\033[0m",
)


class ConsoleView:
    """Prints a session's events. Call it as a listener: ``session.on(view)``."""

    def __init__(
        self, out: TextIO = sys.stdout, *, color: bool | None = None, segments: bool = True
    ) -> None:
        self.out = out
        self.tty = out.isatty()
        self.color = self.tty if color is None else color
        self.t0 = time.perf_counter()
        self._status = ""
        self._streaming = False
        self.show_segments = segments

    def _c(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.color else text

    def _stamp(self) -> str:
        return self._c(_DIM, f"[{time.perf_counter() - self.t0:6.1f}s]")

    def _clear_status(self) -> None:
        if self.tty and self._status:
            self.out.write("\r\033[K")
            self._status = ""

    def _line(self, text: str) -> None:
        self._end_stream()
        self._clear_status()
        self.out.write(f"{self._stamp()} {text}\n")
        self.out.flush()

    def _stream(self, head: str, delta: str) -> None:
        if not self._streaming:
            self._clear_status()
            self.out.write(f"{self._stamp()} {head}")
            self._streaming = True
        self.out.write(delta)
        self.out.flush()

    def _end_stream(self) -> None:
        if self._streaming:
            self.out.write("\n")
            self._streaming = False

    def status(self, text: str) -> None:
        """Show the text being typed on a single, rewritten line (terminals only)."""
        if not self.tty or self._streaming:
            return
        shown = text.replace("\n", " ")[-70:]
        self._status = shown
        self.out.write(f"\r\033[K{self._c(_DIM, 'typing ▸ ')}{shown}")
        self.out.flush()

    def note(self, text: str) -> None:
        self._line(text)

    def __call__(self, event: Event) -> None:
        d = event.data
        if event.type == E.SEGMENT_COMMITTED and self.show_segments:
            self._line(f"{self._c(_CYAN, 'segment')} #{d['index']}: {d['text'].strip()}")
        elif event.type == E.INFERENCE_DELTA:
            self._stream(self._c(_YELLOW, "thinking ▸ "), d["delta"])
        elif event.type == E.INFERENCE_DONE:
            kept = "kept as " + d["action"] if d["content"] else "nothing kept (wait)"
            if self._streaming:  # the reply is on screen already: just say what became of it
                self.out.write("  " + self._c(_DIM, f"→ {kept}"))
                self._end_stream()
            else:
                self._line(f"{self._c(_YELLOW, 'action')} {d['action'].upper()}")
        elif event.type == E.INFERENCE_CANCELLED:
            self._line(self._c(_DIM, "inference call cancelled (its text was edited)"))
        elif event.type == E.INFERENCE_DEFERRED:
            self._line(self._c(_DIM, "inference call deferred: another user's answer came first"))
        elif event.type == E.MEMORY_INVALIDATED:
            self._line(self._c(_DIM, f"memory invalidated from segment #{d['from_index']}"))
        elif event.type == E.NOTES_PAUSED:
            self._line(self._c(_DIM, f"notes paused: {d['reason']}"))
        elif event.type == E.NOTES_RESUMED:
            self._line(self._c(_DIM, "notes resumed"))
        elif event.type == E.RESPONSE_CREATED:
            mode = d.get("answer_mode")
            how = f" ({mode} answer)" if mode and mode != "baseline" else ""
            self._line(self._c(_BOLD, f"Enter ▸ answering{how}"))
        elif event.type == E.RESPONSE_OUTPUT_TEXT_DELTA:
            self._stream(self._c(_GREEN, "answer ▸ "), d["delta"])
        elif event.type == E.RESPONSE_DONE:
            self._end_stream()
        elif event.type == E.ERROR:
            self._line(self._c(_RED, f"error [{d['code']}]: {d['message']}"))
