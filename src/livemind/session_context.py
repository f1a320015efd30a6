"""What the parts of a live session share: settings, backends, clock, events, history
and the current turn.

The :class:`~livemind.session.LiveSession` façade owns one :class:`SessionContext` and
hands it to its parts (typing worker, speculator, answerer). Parts read it; the turn
(:class:`~livemind.turn.TurnState`) is changed through its own methods, the history only
by :meth:`SessionContext.end_turn` and :meth:`SessionContext.trim_history`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from livemind.backends.base import Backend, Message
from livemind.calls import CallRecord
from livemind.clock import Clock
from livemind.config import SessionConfig
from livemind.events import EventName as E
from livemind.planner import append_only
from livemind.prompts import answer_stage
from livemind.turn import TurnState


class Emit(Protocol):
    """``emit(name, **fields)``: hand one event (see :data:`livemind.events.EVENTS`) to
    the session's listeners."""

    def __call__(self, name: E, /, **fields: Any) -> None: ...


@dataclass(slots=True)
class SessionContext:
    config: SessionConfig
    backend: Backend  # the typing phase's model
    output_backend: Backend  # the answer's model (the same one unless collaborative)
    session_id: str
    clock: Clock
    emit: Emit
    turn: TurnState = field(init=False)
    turns: list[list[Message]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.new_turn()

    def new_turn(self) -> None:
        self.turn = TurnState.start(self.config.granularity, self.config.min_len)

    @property
    def history(self) -> list[Message]:
        """Earlier turns' messages (oldest first), as the next call will see them."""
        return [m for turn in self.turns for m in turn]

    @property
    def collaborative(self) -> bool:
        """Whether another model answers than the one that reads the text as typed."""
        return self.output_backend is not self.backend and self.config.mode == "livemind"

    @property
    def prewarm_target(self) -> Backend:
        """The model whose cache the typing phase fills: the note writer in ``livemind``
        mode, else the answering model."""
        return self.backend if self.config.mode == "livemind" else self.output_backend

    def answer_record(self) -> CallRecord:
        return CallRecord(answer_stage(self.config), self.output_backend.model)

    def trim_history(self, stage: str) -> bool:
        """Drop the oldest turn after a prompt did not fit the context (the caller tries
        again); False when there is no history left to drop."""
        if not self.turns:
            return False
        self.turns.pop(0)
        self.emit(E.HISTORY_TRIMMED, stage=stage, turns_left=len(self.turns))
        return True

    def notes_overflow(self, chars: int, detail: str) -> None:
        """A prompt with notes did not fit the context and no history was left to drop:
        no notes (the plain layout) while the text is ``chars`` characters or longer;
        ``notes.paused`` says so once, with the engine's ``detail`` (tokens vs limit)."""
        turn = self.turn
        turn.notes_overflow_at = chars
        if not turn.notes_paused:
            turn.notes_paused = True
            reason = f"the notes no longer fit the context ({detail}); the answer reads the text"
            self.emit(E.NOTES_PAUSED, reason=reason + " without them")

    def text_overflow(self, chars: int, detail: str, stage: str) -> str:
        """The prompt does not fit even in its plainest form (no notes, no history) with
        the text's first ``chars`` characters: no prewarm while the text is that long;
        say so as a ``context_overflow`` error and return its message."""
        known = self.turn.prewarm_overflow_at
        self.turn.prewarm_overflow_at = chars if known is None else min(known, chars)
        message = (
            f"the text does not fit the model's context, even without notes or earlier "
            f"turns: {detail}. Shorten it (it is kept) or use a larger context (--ctx)"
        )
        self.error("context_overflow", message, stage)
        return message

    def end_turn(self, prompt: str, messages: list[Message], answer: str) -> None:
        """Add the turn to the history and start the next: the whole transcript for
        append-only layouts (the next turn extends the cached prompt), else the plain
        question and answer; at most ``max_history_turns`` turns are kept."""
        reply: Message = {"role": "assistant", "content": answer.strip()}
        if append_only(self.config) and self.config.mode == "livemind":
            turn = [*messages[1 + len(self.history) :], reply]
        else:
            turn = [{"role": "user", "content": prompt.strip()}, reply]
        self.turns.append(turn)
        keep = self.config.max_history_turns
        self.turns[:] = self.turns[-keep:] if keep else []
        self.new_turn()

    def error(self, code: str, message: str, stage: str) -> None:
        self.emit(E.ERROR, code=code, message=message, stage=stage)
