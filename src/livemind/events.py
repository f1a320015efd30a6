"""The events a live session emits and the server sends, named after the wire protocol
(DESIGN §5): one table, :data:`EVENTS`, from each name to its fields and meaning.

A session's listeners get :class:`Event` objects (``type`` plus ``data``). The server
sends the same events on the wire as JSON objects, ``{"type", "event_id", "session_id",
**data}`` (:data:`ENVELOPE`), and adds events of its own (``origin="server"``), plus a
``compare: true`` on the answer events of the side-by-side baseline.
:func:`check_event` says what is wrong with an event against the table; ``GET /v1/events``
serves :func:`events_table` to the playground page.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, **self.data}


Listener = Callable[[Event], None]


class EventName(StrEnum):
    """Every event name (the value is the wire name, e.g. ``"segment.committed"``)."""

    SEGMENT_COMMITTED = "segment.committed"
    MEMORY_INVALIDATED = "memory.invalidated"
    NOTES_PAUSED = "notes.paused"
    NOTES_RESUMED = "notes.resumed"
    INFERENCE_STARTED = "inference.started"
    INFERENCE_DELTA = "inference.delta"
    INFERENCE_DONE = "inference.done"
    INFERENCE_CANCELLED = "inference.cancelled"
    INFERENCE_DEFERRED = "inference.deferred"
    PREWARM_STARTED = "prewarm.started"
    PREWARM_DONE = "prewarm.done"
    PREWARM_CANCELLED = "prewarm.cancelled"
    PREWARM_DEFERRED = "prewarm.deferred"
    HISTORY_TRIMMED = "history.trimmed"
    SPECULATION_STARTED = "speculation.started"
    SPECULATION_DISCARDED = "speculation.discarded"
    RESPONSE_CREATED = "response.created"
    RESPONSE_OUTPUT_TEXT_DELTA = "response.output_text.delta"
    RESPONSE_DONE = "response.done"
    RESPONSE_CANCELLED = "response.cancelled"
    ERROR = "error"
    SESSION_CREATED = "session.created"
    SESSION_UPDATED = "session.updated"


Origin = Literal["session", "server"]


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One event: what it means, the fields it always carries (``required``) and those it
    carries only sometimes (``optional``), and who emits it: a ``session`` (its listeners
    get it, and the server forwards it) or only the ``server`` (wire only)."""

    meaning: str
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    origin: Origin = "session"

    def to_dict(self) -> dict[str, Any]:
        return {
            "meaning": self.meaning,
            "required": list(self.required),
            "optional": list(self.optional),
            "origin": self.origin,
        }


_E = EventName
COMPARE = "compare"  # on the wire: the event belongs to the side-by-side baseline's answer

EVENTS: dict[str, EventSpec] = {
    _E.SEGMENT_COMMITTED: EventSpec(
        "a segment of the input became stable; inference calls read stable segments",
        ("index", "text"),
    ),
    _E.MEMORY_INVALIDATED: EventSpec(
        "an edit reached segment from_index: it and everything after it must be read again",
        ("from_index",),
    ),
    _E.NOTES_PAUSED: EventSpec(
        'no more notes, the answer reads the text alone: notes="auto" on a word problem, '
        "or the notes no longer fit the model's context (reason says which)",
        ("reason",),
    ),
    _E.NOTES_RESUMED: EventSpec(
        "the text no longer counts as a word problem, or is short enough again: notes again"
    ),
    _E.INFERENCE_STARTED: EventSpec(
        "an inference call began over the segments [start, end) (the last may be the "
        "unstable tail: a final look at a complete question, candidate notes)",
        ("call_id", "start", "end", "segments"),
    ),
    _E.INFERENCE_DELTA: EventSpec(
        "text the running inference call generated", ("call_id", "delta")
    ),
    _E.INFERENCE_DONE: EventSpec(
        "an inference call ended: its action and note (partial: cut at Enter, note kept)",
        ("call_id", "segments", "action", "content", "record"),
        ("partial",),
    ),
    _E.INFERENCE_CANCELLED: EventSpec(
        "an inference call was cancelled (its text was edited, or Enter)", ("call_id",)
    ),
    _E.INFERENCE_DEFERRED: EventSpec(
        "the engine put this note behind other users' answers (reason: preempted, it was "
        "stopped; shed, it was skipped); the notes go on when the engine has time",
        ("call_id", "reason"),
    ),
    _E.PREWARM_STARTED: EventSpec(
        "a prefill-only call of the text's first chars characters began (target: output, "
        "on the output model's cache in collaborative mode)",
        ("call_id", "chars"),
        ("target",),
    ),
    _E.PREWARM_DONE: EventSpec(
        "a prefill-only call finished: the engine has the prefix cached",
        ("call_id", "chars"),
        ("target",),
    ),
    _E.PREWARM_CANCELLED: EventSpec(
        "a prefill-only call was cancelled (stale text, an inference call due, or Enter)",
        ("call_id",),
        ("target",),
    ),
    _E.PREWARM_DEFERRED: EventSpec(
        "the engine put this prefill behind other users' answers (reason: preempted or "
        "shed); the answer then evaluates more of the prompt itself",
        ("call_id", "reason"),
        ("target",),
    ),
    _E.HISTORY_TRIMMED: EventSpec(
        "a prompt did not fit the context: the oldest turn was dropped, the call runs again",
        ("stage", "turns_left"),
    ),
    _E.SPECULATION_STARTED: EventSpec(
        "the answer started in the pause before Enter (held back until Enter)",
        ("text_chars",),
    ),
    _E.SPECULATION_DISCARDED: EventSpec("the text changed: the early answer was dropped"),
    _E.RESPONSE_CREATED: EventSpec(
        "Enter: the answer call starts (or a speculative one is adopted)",
        ("mode", "answer_mode", "speculative"),
        (COMPARE,),
    ),
    _E.RESPONSE_OUTPUT_TEXT_DELTA: EventSpec("answer text as it streams", ("delta",), (COMPARE,)),
    _E.RESPONSE_DONE: EventSpec(
        "the answer is complete: its text, latencies, usage and the turn's call count",
        ("text", "timings", "usage", "calls", "speculative", "answer_mode"),
        (COMPARE,),
    ),
    _E.RESPONSE_CANCELLED: EventSpec(
        "the client cancelled the answer (compare: during the side-by-side baseline)",
        (),
        (COMPARE,),
        origin="server",
    ),
    _E.ERROR: EventSpec(
        "something failed; stage names the call (inference, prewarm, output) when one did "
        "(context_overflow: the text does not fit the context even without notes)",
        ("code", "message"),
        ("stage", COMPARE),
    ),
    _E.SESSION_CREATED: EventSpec(
        "the session is open: its settings, the settings schema the page builds its "
        "controls from, and the model(s) serving it",
        ("session", "schema", "model", "output_model"),
        origin="server",
    ),
    _E.SESSION_UPDATED: EventSpec(
        "the session's settings after session.update or session.reset",
        ("session",),
        origin="server",
    ),
}

# the wire envelope around an event's fields (``type`` names it; the server adds the rest,
# except on the error refusing a WebSocket, which has no session)
ENVELOPE = ("type", "event_id", "session_id")


def check_event(event: Event | Mapping[str, Any]) -> list[str]:
    """What is wrong with ``event`` against :data:`EVENTS` (empty: nothing): an unknown
    name, a missing required field, a field the table does not list. ``event`` is an
    :class:`Event` or its wire form (a mapping with ``type``; the envelope is allowed)."""
    name: object
    if isinstance(event, Event):
        name, fields = event.type, set(event.data)
    else:
        name, fields = event.get("type"), set(event) - set(ENVELOPE)
    spec = EVENTS.get(name) if isinstance(name, str) else None
    if spec is None:
        return [f"unknown event {name!r}"]
    problems = [f"{name}: missing field {f!r}" for f in spec.required if f not in fields]
    known = {*spec.required, *spec.optional}
    problems += [f"{name}: unexpected field {f!r}" for f in sorted(fields - known)]
    return problems


def events_table() -> dict[str, Any]:
    """The table in JSON form (``GET /v1/events``): ``{"envelope": [...], "events": {name:
    {"meaning", "required", "optional", "origin"}}}``."""
    return {
        "envelope": list(ENVELOPE),
        "events": {str(name): spec.to_dict() for name, spec in EVENTS.items()},
    }
