"""The turn's timeline: events -> lanes (pure), the virtual clock it is read on (scripted
test double), and the PNG drawn from it."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from livemind.config import SessionConfig
from livemind.events import Event
from livemind.session import LiveSession
from livemind.timeline import Timeline, TimelineRecorder, build_timeline
from livemind.typist import type_and_commit
from scripted_backend import ScriptedBackend, is_inference_request

# Scripted delays run on the loop's virtual time (looptime): no wall time, no races.
pytestmark = pytest.mark.looptime


def ev(t: float, type_: str, **data: object) -> tuple[float, Event]:
    return (t, Event(type_, dict(data)))


# absolute session-clock times; the first key is at 100.0, Enter at 110.0
KEYS = [(100.0, 1), (104.0, 20), (110.0, 40)]
EVENTS = [
    ev(102.0, "segment.committed", index=0, text="A b c. "),
    ev(102.0, "inference.started", call_id=1, start=0, end=1, segments=["A b c. "]),
    ev(102.5, "inference.done", call_id=1, action="inference", content="x", record={}),
    ev(102.6, "prewarm.started", call_id=2, chars=12),
    ev(102.9, "prewarm.done", call_id=2, chars=12),
    ev(103.0, "prewarm.started", call_id=3, chars=18),
    ev(103.1, "inference.started", call_id=4, start=1, end=2, segments=["D e. "]),  # 3 open
    ev(103.4, "inference.done", call_id=4, action="wait", content="", record={}),
    ev(105.0, "segment.committed", index=1, text="D e. "),
    ev(109.0, "inference.started", call_id=5, start=2, end=3, segments=["F g. "]),
    ev(110.2, "inference.done", call_id=5, action="inference", record={"extra": {"partial": True}}),
    ev(110.2, "inference.cancelled", call_id=5),
    ev(110.3, "response.created", mode="livemind", speculative=False),
    ev(110.5, "response.output_text.delta", delta="Five"),
    ev(111.0, "response.done", text="Five.", timings={}),
]
# the baseline on its own clock: Enter at 7.0, first token 7.8, done 9.0
BASELINE = [
    ev(7.0, "response.created", mode="baseline", speculative=False),
    ev(7.8, "response.output_text.delta", delta="So"),
    ev(9.0, "response.done", text="So five.", timings={}),
]


def timeline() -> Timeline:
    return build_timeline(EVENTS, enter=110.0, keys=KEYS, baseline=BASELINE, baseline_enter=7.0)


def outcomes(tl: Timeline) -> list[tuple[str, str, float, float]]:
    return [(s.kind, s.outcome, s.start, s.end) for s in tl.lane("thinking")]


def test_calls_get_their_outcomes_in_seconds_from_the_first_key() -> None:
    tl = timeline()
    assert tl.enter == pytest.approx(10.0)
    assert tl.keys[0] == (0.0, 1) and tl.keys[-1] == (10.0, 40)
    got = [(k, o, round(a, 3), round(b, 3)) for k, o, a, b in outcomes(tl)]
    assert got == [
        ("inference", "note", 2.0, 2.5),
        ("prewarm", "done", 2.6, 2.9),
        ("prewarm", "running", 3.0, 3.1),  # no end event: it ended when the next call began
        ("inference", "wait", 3.1, 3.4),
        ("inference", "partial", 9.0, 10.2),  # cancelled at Enter, its note so far kept
    ]
    segments = [(m.at, m.label) for m in tl.marks if m.kind == "segment"]
    assert segments == [(pytest.approx(2.0), "1"), (pytest.approx(5.0), "2")]


def test_deferred_calls_end_where_another_users_answer_stopped_them() -> None:
    events = [
        ev(101.0, "inference.started", call_id=1, start=0, end=1, segments=["A b c. "]),
        ev(101.4, "inference.deferred", call_id=1, reason="preempted"),
        ev(101.4, "inference.started", call_id=2, start=0, end=1, segments=["A b c. "]),
        ev(102.0, "inference.done", call_id=2, action="inference", content="x", record={}),
        ev(102.1, "prewarm.started", call_id=3, chars=12),
        ev(102.1, "prewarm.deferred", call_id=3, reason="shed"),
    ]
    tl = build_timeline(events, enter=110.0, keys=KEYS)
    got = [(k, o, round(a, 3), round(b, 3)) for k, o, a, b in outcomes(tl)]
    assert got == [
        ("inference", "deferred", 1.0, 1.4),
        ("inference", "note", 1.4, 2.0),
        ("prewarm", "deferred", 2.1, 2.1),
    ]


def test_answer_and_baseline_lanes_start_at_enter() -> None:
    tl = timeline()
    wait, answer = tl.lane("answer")
    assert wait.kind == "wait" and (wait.start, wait.end) == pytest.approx((10.0, 10.3))
    assert answer.kind == "answer" and answer.outcome == "done"
    assert (answer.start, answer.first_token, answer.end) == pytest.approx((10.3, 10.5, 11.0))
    (base,) = tl.lane("baseline")
    assert (base.start, base.first_token, base.end) == pytest.approx((10.0, 10.8, 12.0))
    assert tl.latencies() == {
        "ttft_s": 0.5,
        "latency_s": 1.0,
        "baseline_ttft_s": 0.8,
        "baseline_latency_s": 2.0,
    }
    kinds = {(m.lane, m.kind): m for m in tl.marks}
    assert kinds[("answer", "enter")].at == pytest.approx(10.0)
    assert kinds[("answer", "first_token")].label == "0.50 s"
    assert kinds[("baseline", "last_token")].label == "2.00 s"
    assert tl.end == pytest.approx(12.0)


def test_json_form_round_trips_and_is_rounded() -> None:
    data = json.loads(json.dumps(timeline().to_dict()))
    assert data["origin"] == "first key" and data["enter"] == 10.0
    assert data["latency"]["latency_s"] == 1.0
    spans = data["spans"]
    assert [s["kind"] for s in spans if s["lane"] == "thinking"].count("inference") == 3
    partial = next(s for s in spans if s.get("outcome") == "partial")
    assert partial == {
        "lane": "thinking",
        "kind": "inference",
        "start": 9.0,
        "end": 10.2,
        "outcome": "partial",
        "call_id": 5,
    }
    assert data["keys"][-1] == [10.0, 40]
    again = Timeline.from_dict(data)
    assert again.to_dict() == data and again.latencies() == timeline().latencies()


def test_speculative_answer_starts_before_enter_and_a_discarded_one_is_shown() -> None:
    events = [
        ev(1.0, "speculation.started", text_chars=30),
        ev(1.4, "speculation.discarded"),
        ev(2.0, "speculation.started", text_chars=31),
        ev(3.0, "response.created", speculative=True),
        ev(3.0, "response.output_text.delta", delta="Held back"),
        ev(3.5, "response.done", text="Held back."),
    ]
    tl = build_timeline(events, enter=3.0, keys=[(0.0, 1), (2.0, 31)])
    (dropped,) = tl.lane("thinking")
    assert (dropped.kind, dropped.outcome, dropped.start, dropped.end) == (
        "speculation",
        "cancelled",
        1.0,
        1.4,
    )
    (answer,) = tl.lane("answer")  # no wait: it was already running at Enter
    assert (answer.start, answer.first_token, answer.end) == (2.0, 3.0, 3.5)
    assert tl.latencies()["ttft_s"] == 0.0


def test_a_cancelled_answer_and_no_baseline() -> None:
    events = [ev(5.0, "response.created"), ev(5.5, "response.cancelled")]
    tl = build_timeline(events, enter=5.0)
    (answer,) = tl.lane("answer")
    assert answer.outcome == "cancelled" and answer.first_token is None
    assert tl.latencies() == {
        "ttft_s": None,
        "latency_s": 0.5,
        "baseline_ttft_s": None,
        "baseline_latency_s": None,
    }
    assert tl.keys == [] and tl.enter == 0.0  # no keys: time zero is Enter


def test_recorder_stamps_events_and_keeps_the_first_answer_token_only() -> None:
    now = iter([1.0, 2.0, 3.0, 4.0, 5.0])
    rec = TimelineRecorder(lambda: next(now))
    for type_ in (
        "inference.started",
        "inference.delta",  # dropped: a note's text is not part of the picture
        "response.created",
        "response.output_text.delta",
        "response.output_text.delta",  # dropped: not the first token
        "memory.invalidated",  # dropped
        "response.done",
    ):
        rec(Event(type_, {}))
    assert [(t, e.type) for t, e in rec.events] == [
        (1.0, "inference.started"),
        (2.0, "response.created"),
        (3.0, "response.output_text.delta"),
        (4.0, "response.done"),
    ]


TEXT = "Ann has two cats. Bob has three dogs. How many pets in all?"


async def test_a_virtual_clock_puts_the_session_on_the_typing_timeline() -> None:
    """At 60 characters/minute the virtual typing takes ~58 s; the session's clock follows
    it, so its calls are stamped where the keys put them and the answer after Enter."""
    backend = ScriptedBackend(
        lambda r: "INFERENCE: a b" if is_inference_request(r) else "Five pets.",
        delay=0.01,
        prewarm=True,
    )
    cfg = SessionConfig(min_len=3, prewarm_min_chars=8)
    session = LiveSession(backend, cfg)
    rec = TimelineRecorder(session.clock.now)
    session.on(rec)
    real = asyncio.get_running_loop().time()
    typed = await type_and_commit(session, TEXT, cpm=60, fast=True)
    assert asyncio.get_running_loop().time() - real < 10  # nobody waited for the typing
    assert typed.enter_s == pytest.approx(typed.started_s + len(TEXT))
    keys = [(typed.started_s + t, len(s)) for t, s in typed.keys]
    tl = build_timeline(rec.events, enter=typed.enter_s, keys=keys)
    assert tl.enter == pytest.approx(len(TEXT) - 1)  # the first key is at 1 s
    calls = tl.lane("thinking")
    segment = next(m for m in tl.marks if m.kind == "segment")
    assert 15 < segment.at < 25 and segment.at == pytest.approx(round(segment.at), abs=0.05)
    first_call = next(s for s in calls if s.kind == "inference")
    assert first_call.start == pytest.approx(segment.at, abs=0.05)  # a key's virtual time
    assert first_call.outcome == "note" and first_call.end < tl.enter
    assert any(s.kind == "prewarm" for s in calls)
    (answer,) = tl.lane("answer")
    assert tl.enter <= answer.start < answer.end < tl.enter + 1
    assert tl.latencies()["latency_s"] == pytest.approx(typed.latency_s, abs=0.02)


def test_plot_writes_a_readable_png(tmp_path: Path) -> None:
    from matplotlib.image import imread

    from livemind.timeline_plot import plot_timeline

    path = tmp_path / "timeline.png"
    plot_timeline(timeline(), path, title="LiveMind vs baseline", subtitle="scripted")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = imread(path).shape
    assert 1200 <= width <= 2000 and 450 <= height <= 900


def test_plot_without_matplotlib_says_how_to_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from livemind.demo import _plotter

    for name in [n for n in sys.modules if n.split(".")[0] == "matplotlib"] + ["matplotlib"]:
        monkeypatch.setitem(sys.modules, name, None)  # as if it were not installed
    monkeypatch.delitem(sys.modules, "livemind.timeline_plot", raising=False)
    with pytest.raises(ValueError, match=r"--plot needs matplotlib.*livemind\[eval\]"):
        _plotter()
