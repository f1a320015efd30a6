"""Events a live session emits, named after the wire protocol (DESIGN §5).

``segment.committed {index, text}``, ``memory.invalidated {from_index}``,
``inference.started {call_id, start, end, segments}``, ``inference.delta {call_id, delta}``,
``inference.done {call_id, action, content, record}``, ``inference.cancelled {call_id}``,
``prewarm.started {call_id, chars}`` / ``prewarm.done {call_id, chars}`` /
``prewarm.cancelled {call_id}`` (a prefill-only call of the text's first ``chars``),
``speculation.started {text_chars}``, ``speculation.discarded {}``,
``notes.paused {reason}`` / ``notes.resumed {}`` (``notes="auto"`` on a word problem),
``history.trimmed {stage, turns_left}`` (a prompt did not fit the context: the oldest turn
was dropped and the call runs again),
``response.created {mode, answer_mode, speculative}``, ``response.output_text.delta {delta}``,
``response.done {text, timings, usage, calls, speculative, answer_mode}``,
``error {code, message}``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.data}


Listener = Callable[[Event], None]
