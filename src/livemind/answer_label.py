"""An answer without the note label: small models often start their answer with
``INFERENCE:`` (the label of the notes they were shown) although told not to; a user
should see the answer, not the label.

:class:`LabelStripper` sits between the answer call's stream and the listeners. It holds
back the first characters only while they could still be the start of the label, drops
the label (``INFERENCE:``, any case, optionally in ``**`` bold, and the spaces after it)
and passes everything else on unchanged. :attr:`LabelStripper.text` is exactly what it
passed on, so the streamed answer and the stored one agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable

LABEL_WORD = "INFERENCE"
_LABEL = re.compile(r"\s*(\**)\s*INFERENCE\s*\**\s*:", re.IGNORECASE)


def _may_become_label(held: str) -> bool:
    """Whether more characters could still make ``held`` a complete label."""
    rest = held.lstrip().lstrip("*").lstrip()
    word = rest[: len(LABEL_WORD)].upper()
    if not LABEL_WORD.startswith(word):
        return False
    if len(rest) < len(LABEL_WORD):
        return True
    tail = rest[len(LABEL_WORD) :]
    return tail.strip(" *") == ""  # the colon has not come yet


def strip_label(text: str) -> str:
    """``text`` without a leading note label (what :class:`LabelStripper` streams)."""
    stripper = LabelStripper(lambda _: None)
    stripper(text)
    return stripper.flush()


class LabelStripper:
    """``stripper(delta)`` for each streamed piece, then :meth:`flush` at the end;
    ``emit`` receives the pieces to show."""

    def __init__(self, emit: Callable[[str], None]) -> None:
        self._emit = emit
        self._held = ""
        self._deciding = True  # the start is still being looked at
        self._leading = ""  # what is dropped after a label: spaces (and a bold's "*")
        self.text = ""

    def __call__(self, delta: str) -> None:
        if self._deciding:
            self._held += delta
            match = _LABEL.match(self._held)
            if match:
                delta = self._held[match.end() :]
                self._leading = " \t\n*" if match.group(1) else " \t\n"
            elif _may_become_label(self._held):
                return
            else:
                delta = self._held
            self._deciding, self._held = False, ""
        if self._leading:
            delta = delta.lstrip(self._leading)
            self._leading = "" if delta else self._leading
        self._pass(delta)

    def flush(self) -> str:
        """Pass on what is still held (an answer that ended inside a possible label);
        return the whole answer as shown."""
        if self._deciding:
            self._deciding = False
            self._pass(self._held)
            self._held = ""
        return self.text

    def _pass(self, delta: str) -> None:
        if delta:
            self.text += delta
            self._emit(delta)
