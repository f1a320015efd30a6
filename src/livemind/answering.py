"""The output stage's parts: the :class:`Answer` record, speculative answers, prewarm cuts.

A *speculative answer* is the output stage started before Enter, when the input has been
idle for a while and looks complete. Its deltas are held back; if the user commits the
same text (the same answer messages), the session adopts it: the held-back text is
released at once and the rest streams. Otherwise it is cancelled (wasted compute).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from livemind.answer_modes import OPTION_LINE
from livemind.backends.base import Message
from livemind.calls import CallRecord


class SessionError(RuntimeError):
    """A request the session cannot serve now (``code``: empty_input, busy, cancelled,
    context_overflow: the text does not fit the model's context even without notes)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


_FINAL_PUNCTUATION = tuple(".?!)\"'”:")


def looks_complete(text: str) -> bool:
    """Whether ``text`` reads like a finished message: its last line ends a sentence, or
    it is an answer option (``B. ...``, ``(c) ...``) of a multiple-choice question."""
    stripped = text.rstrip()
    if not stripped:
        return False
    if stripped.endswith(_FINAL_PUNCTUATION):
        return True
    return bool(OPTION_LINE.match(stripped.splitlines()[-1]))


_DANGLING = " \t\n=+-*/×:,;(<"
_CLAUSE_END = re.compile(r"[;,.](?=\s)|\d(?=[^\d.,]|$)")


def partial_note(text: str) -> str:
    """A note cut off mid-way, trimmed to what is certainly whole: the last word may be
    unfinished (``= 5`` of ``= 51``) unless a space, a comma or a semicolon followed it,
    so it goes; then, if the
    rest holds a clause end (``;`` ``,`` ``.``) or a number, it ends at the last of them
    (``goats = 51, hay`` -> ``goats = 51``), and dangling operators go."""
    if text and not text[-1].isspace() and text[-1] not in ",;":
        cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
        text = text[:cut] if cut > 0 else ""
    ends = [m.end() for m in _CLAUSE_END.finditer(text)]
    if ends:
        text = text[: ends[-1]]
    return text.rstrip(_DANGLING)


_STATED = re.compile(r"\banswer\s*:\s*\S[^,;\n]*?(?:[,;\n]|\.\s|\s(?:because|since)\b)", re.I)
_NOTE_START = "inference: answer:"


def answer_pending(written: str) -> bool:
    """Whether a ``candidate`` note written so far may still state an answer: it is on
    its way to "INFERENCE: answer: X," (or has "answer:" without the end of X yet).
    False once the answer is stated, or when the note went another way."""
    if _STATED.search(written):
        return False
    head = " ".join(written.split()).lower()
    return _NOTE_START.startswith(head) or head.startswith(_NOTE_START) or "answer:" in head


def prewarm_cut(text: str, done: int, min_chars: int) -> int | None:
    """Where to cut ``text`` for the next prefill-only call, or None if not worth one.

    The cut is the last whitespace position (the text before it keeps its token prefix
    when more words follow) and must lie at least ``min_chars`` past ``done``, the length
    of the text already known to be in the cache.
    """
    cut = max(text.rfind(" "), text.rfind("\n"), text.rfind("\t"))
    while cut > 0 and text[cut - 1].isspace():
        cut -= 1
    if cut <= 0 or cut - done < min_chars:
        return None
    return cut


@dataclass(slots=True)
class Answer:
    """The result of one turn. Times are seconds from :meth:`LiveSession.commit`."""

    text: str
    mode: str
    answer_mode: str  # the turn's resolved answer mode: short | reason | baseline
    latency_s: float  # commit -> complete answer
    ttft_s: float | None  # commit -> first answer token
    wait_s: float  # part of the latency spent finishing an in-flight inference call
    output: CallRecord
    calls: list[CallRecord] = field(default_factory=list)  # this turn's inference calls
    actions: list[dict[str, Any]] = field(default_factory=list)
    prewarms: list[CallRecord] = field(default_factory=list)  # prefill-only calls
    speculative: bool = False  # the answer was started before Enter and adopted
    speculation_saved_s: float = 0.0  # how long it had been running at Enter
    wasted: list[CallRecord] = field(default_factory=list)  # discarded speculations

    @property
    def busy_s(self) -> float:
        """Total model time this turn spent: inference, prewarm, speculation and answer."""
        calls = (*self.calls, *self.prewarms, *self.wasted, self.output)
        return sum(c.wall_s for c in calls)


class Speculation:
    """One speculative output-stage call: its messages, record and held-back text."""

    def __init__(self, messages: list[Message], record: CallRecord) -> None:
        self.messages = messages
        self.record = record
        self.task: asyncio.Task[str] | None = None
        self._held: list[str] = []
        self._forward: Callable[[str], None] | None = None

    def on_delta(self, delta: str) -> None:
        """Hold deltas back until adopted, then forward them."""
        if self._forward is None:
            self._held.append(delta)
        else:
            self._forward(delta)

    def adopt(self, forward: Callable[[str], None]) -> None:
        """From now on deltas go to ``forward``; the text so far is sent at once."""
        held, self._held = "".join(self._held), []
        self._forward = forward
        if held:
            forward(held)

    @property
    def usable(self) -> bool:
        """Not cancelled and not failed (a finished, successful call is usable)."""
        task = self.task
        if task is None or task.cancelled():
            return False
        return not (task.done() and task.exception() is not None)

    def cancel(self) -> None:
        """Stop it (its record says ``cancelled``) unless it has already finished."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
            self.record.cancelled = True
