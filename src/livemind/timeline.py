"""The timeline of one turn: the text arriving, the model calls while it arrives, Enter,
the answer, and the baseline's answer to the same text.

Pure: a :class:`TimelineRecorder` keeps a session's events with the time they arrived on
the session's own clock; :func:`build_timeline` turns them (and the keystrokes, and the
baseline's events) into a :class:`Timeline` in seconds from the first key. Drawing it is
``livemind.timeline_plot``'s business; the browser playground draws the same picture
from the same events (``server/static/timeline.js``).

Lanes: ``typing`` (characters typed over time; ``segment`` marks when a segment became
stable), ``thinking`` (``inference`` calls, whose ``outcome`` is ``note``, ``wait``,
``partial`` (cancelled at Enter, the note so far kept), ``cancelled``, ``deferred`` (put
behind another user's answer) or ``running``; prefill-only ``prewarm`` calls: ``done``,
``cancelled``, ``deferred`` or ``running``; discarded
``speculation``\\ s), ``answer`` (``wait``: Enter until the answer call starts; ``answer``:
its start, ``first_token`` and end; marks ``enter``, ``first_token``, ``last_token``) and
``baseline`` (its answer, drawn as if its Enter were the same moment).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from livemind.events import Event
from livemind.events import EventName as E

LANES = ("typing", "thinking", "answer", "baseline")
WAIT_MIN_S = 0.01  # a shorter gap from Enter to the answer call is the commit's bookkeeping
Stamped = tuple[float, Event]  # (session clock when the event arrived, the event)

# what the timeline reads; answer deltas are many, only the first one after each start counts
_KEPT = frozenset(
    {
        E.SEGMENT_COMMITTED,
        E.NOTES_PAUSED,
        E.INFERENCE_STARTED,
        E.INFERENCE_DONE,
        E.INFERENCE_CANCELLED,
        E.INFERENCE_DEFERRED,
        E.PREWARM_STARTED,
        E.PREWARM_DONE,
        E.PREWARM_CANCELLED,
        E.PREWARM_DEFERRED,
        E.SPECULATION_STARTED,
        E.SPECULATION_DISCARDED,
        E.RESPONSE_CREATED,
        E.RESPONSE_DONE,
        E.RESPONSE_CANCELLED,
    }
)


class TimelineRecorder:
    """A session listener (``session.on(recorder)``) that keeps the events a timeline
    needs, each with ``clock()`` at its arrival: use the session's clock."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.events: list[Stamped] = []
        self._answer_started = False

    def __call__(self, event: Event) -> None:
        if event.type == E.RESPONSE_OUTPUT_TEXT_DELTA:
            if not self._answer_started:
                return
            self._answer_started = False  # the first token only
        elif event.type not in _KEPT:
            return
        elif event.type in (E.RESPONSE_CREATED, E.SPECULATION_STARTED):
            self._answer_started = True
        self.events.append((self.clock(), event))


@dataclass(frozen=True, slots=True)
class Span:
    """One bar in a lane, seconds from the first key (``end`` >= ``start``)."""

    lane: str
    kind: str  # inference | prewarm | speculation | wait | answer | baseline
    start: float
    end: float
    outcome: str = ""  # see the module docstring
    first_token: float | None = None  # answer and baseline bars
    call_id: int | None = None


@dataclass(frozen=True, slots=True)
class Mark:
    """One moment in a lane: ``segment`` (label: its number), ``notes_paused``,
    ``enter``, ``first_token``, ``last_token`` (label: the latency after Enter)."""

    lane: str
    kind: str
    at: float
    label: str = ""


@dataclass(slots=True)
class Timeline:
    """One turn, in seconds from the first key (see the module docstring)."""

    keys: list[tuple[float, int]] = field(default_factory=list)  # (time, characters typed)
    spans: list[Span] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    enter: float | None = None

    def lane(self, name: str) -> list[Span]:
        return [s for s in self.spans if s.lane == name]

    def first(self, kind: str, lane: str | None = None) -> Span | None:
        """The first span of ``kind`` (in ``lane``), if any."""
        return next((s for s in self.spans if s.kind == kind and lane in (None, s.lane)), None)

    @property
    def end(self) -> float:
        """The last moment the timeline shows."""
        ends = [s.end for s in self.spans] + [m.at for m in self.marks]
        ends += [t for t, _ in self.keys[-1:]]
        return max(ends, default=0.0)

    def latencies(self) -> dict[str, float | None]:
        """Seconds from Enter to the first token and to the last, LiveMind and baseline."""
        out: dict[str, float | None] = {}
        enter = self.enter
        for name, kind in (("", "answer"), ("baseline_", "baseline")):
            span = self.first(kind)
            if span is None or enter is None:
                out[f"{name}ttft_s"] = out[f"{name}latency_s"] = None
                continue
            first = span.first_token
            out[f"{name}ttft_s"] = None if first is None else _r(first - enter)
            out[f"{name}latency_s"] = _r(span.end - enter)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON form: times rounded to the millisecond."""
        spans = [{k: _r(v) for k, v in asdict(s).items() if v is not None} for s in self.spans]
        return {
            "unit": "s",
            "origin": "first key",
            "enter": None if self.enter is None else _r(self.enter),
            "latency": self.latencies(),
            "keys": [[_r(t), n] for t, n in self.keys],
            "spans": spans,
            "marks": [{k: _r(v) for k, v in asdict(m).items()} for m in self.marks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Timeline:
        """The inverse of :meth:`to_dict` (up to its rounding)."""
        return cls(
            keys=[(t, n) for t, n in data["keys"]],
            spans=[Span(**s) for s in data["spans"]],
            marks=[Mark(**m) for m in data["marks"]],
            enter=data["enter"],
        )


def _r(v: Any) -> Any:
    return round(v, 3) if isinstance(v, float) else v


def build_timeline(
    events: Iterable[Stamped],
    *,
    enter: float,
    keys: Sequence[tuple[float, int]] = (),
    origin: float | None = None,
    baseline: Iterable[Stamped] = (),
    baseline_enter: float | None = None,
) -> Timeline:
    """The timeline of one turn.

    ``events``: a session's stamped events; ``enter``: that clock at Enter; ``keys``:
    (that clock, characters in the input) per keystroke; ``origin``: time zero (default:
    the first key, else Enter). ``baseline``: the baseline session's stamped events, on
    its own clock, where Enter was ``baseline_enter``; they are shifted to this Enter.
    Calls without an end event end where the next call starts, else at the last event.
    """
    stamped = list(events)
    zero = origin if origin is not None else (keys[0][0] if keys else enter)
    tl = Timeline(keys=[(t - zero, n) for t, n in keys], enter=enter - zero)
    tl.marks.append(Mark("answer", "enter", enter - zero, "Enter"))
    _thinking(tl, stamped, zero)
    _answer(tl, stamped, zero, "answer")
    if baseline_enter is not None:
        shift = baseline_enter - enter + zero
        _answer(tl, list(baseline), shift, "baseline")
    return tl


def _thinking(tl: Timeline, events: list[Stamped], zero: float) -> None:
    """Typing-lane segment marks and the thinking lane's calls."""
    calls: dict[int, dict[str, Any]] = {}
    for t, ev in events:
        at, data = t - zero, ev.data
        kind, _, what = ev.type.partition(".")
        if ev.type == E.SEGMENT_COMMITTED:
            tl.marks.append(Mark("typing", "segment", at, str(data["index"] + 1)))
        elif ev.type == E.NOTES_PAUSED:
            tl.marks.append(Mark("thinking", "notes_paused", at, "notes paused"))
        elif kind in ("inference", "prewarm") and what == "started":
            for running in calls.values():  # one call at a time: an open one ended here
                running.setdefault("end", at)
            calls[data["call_id"]] = {"kind": kind, "start": at, "outcome": "running"}
        elif kind in ("inference", "prewarm") and (c := calls.get(data["call_id"])):
            c["end"] = at
            if what == "cancelled":
                c["outcome"] = "partial" if c["outcome"] == "partial" else "cancelled"
            elif what == "deferred":
                c["outcome"] = "deferred"
            elif kind == "prewarm":
                c["outcome"] = "done"
            elif data.get("record", {}).get("extra", {}).get("partial"):
                c["outcome"] = "partial"  # its cancellation follows
            else:
                c["outcome"] = "wait" if data.get("action") == "wait" else "note"
    last = max((t - zero for t, _ in events), default=0.0)
    for call_id, c in calls.items():
        end = max(c.get("end", last), c["start"])
        tl.spans.append(Span("thinking", c["kind"], c["start"], end, c["outcome"], None, call_id))


def _answer(tl: Timeline, events: list[Stamped], zero: float, lane: str) -> None:
    """The answer (or baseline) lane: a discarded speculation, the wait, the answer."""
    enter = tl.enter if tl.enter is not None else 0.0
    spec: float | None = None
    start: float | None = None
    first: float | None = None
    for t, ev in events:
        at = t - zero
        if ev.type == E.SPECULATION_STARTED:
            spec = at
        elif ev.type == E.SPECULATION_DISCARDED and spec is not None:
            tl.spans.append(Span("thinking", "speculation", spec, at, "cancelled"))
            spec = None
        elif ev.type == E.RESPONSE_CREATED:
            start = spec if ev.data.get("speculative") and spec is not None else at
            first = None
        elif ev.type == E.RESPONSE_OUTPUT_TEXT_DELTA and start is not None and first is None:
            first = at
        elif ev.type in (E.RESPONSE_DONE, E.RESPONSE_CANCELLED) and start is not None:
            if start - enter >= WAIT_MIN_S:
                tl.spans.append(Span(lane, "wait", enter, start))
            outcome = "done" if ev.type == E.RESPONSE_DONE else "cancelled"
            kind = "baseline" if lane == "baseline" else "answer"
            tl.spans.append(Span(lane, kind, start, at, outcome, first))
            if first is not None:
                tl.marks.append(Mark(lane, "first_token", first, f"{first - enter:.2f} s"))
            tl.marks.append(Mark(lane, "last_token", at, f"{at - enter:.2f} s"))
            return
