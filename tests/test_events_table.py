"""The event table (livemind.events.EVENTS) against reality: scripted sessions and a
server connection (scripted test double) go through typing, edits, prewarm, speculation,
notes paused and resumed, errors, a cancel, history trimming and the side-by-side
baseline; every event they emit must pass ``check_event``, and every name and optional
field of the table must have been seen (unless listed below as deliberately unexercised).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import looptime
import pytest
from fastapi.testclient import TestClient

from livemind.backends.base import BackendError, Request, Stage
from livemind.backends.priority import PriorityBackend
from livemind.backends.scheduling import CallScheduler, Priority, SchedulingPolicy
from livemind.config import SessionConfig
from livemind.events import ENVELOPE, EVENTS, Event, EventName, check_event, events_table
from livemind.server.app import create_app
from livemind.server.guard import SitePolicy
from livemind.session import LiveSession, SessionError
from scripted_backend import ScriptedBackend

# table entries (names, or (name, optional field)) these paths do not reach, and why
UNEXERCISED: dict[str | tuple[str, str], str] = {}

QUESTION = "Which planet is known as the red planet?\nA. Venus\nB. Mars"
SITE = SitePolicy.for_bind("127.0.0.1", allow_hosts=["testserver"])


def by_stage(answer: str = "The answer is (B).") -> Callable[[Request], str]:
    note = "INFERENCE: noted " + " ".join("abcdefghij")
    return lambda r: note if r.stage == Stage.INFERENCE else answer


def session(script: Callable[[Request], Any], events: list[Event], **cfg: Any) -> LiveSession:
    delay = cfg.pop("delay", 0.0)
    backend = ScriptedBackend(script, delay=delay, prewarm=True, prewarm_delay=delay)
    # speculate_after_s=60: speculation only when the test calls speculate()
    settings = {"min_len": 3, "notes": "free", "speculate_after_s": 60.0, **cfg}
    live = LiveSession(backend, SessionConfig(**settings))
    live.on(events.append)
    return live


async def seen(events: list[Event], kind: str, count: int = 1) -> None:
    """Wait until ``count`` events of ``kind`` have arrived."""
    for _ in range(1000):
        if sum(e.type == kind for e in events) >= count:
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"fewer than {count} {kind} events")


async def type_text(live: LiveSession, text: str) -> None:
    for i in range(1, len(text) + 1):
        live.set_text(text[:i])
        await live.settled()


async def session_paths() -> list[Event]:
    """Every way a session emits events, each on its own scripted session."""
    events: list[Event] = []

    # typing with an edit under a running call, then Enter
    live = session(by_stage(), events, delay=0.02)
    live.set_text("Tom has three apples. He buys four. Then")
    await asyncio.sleep(0.01)
    live.set_text("Tom has five apples. He buys four. Then")
    await live.settled()
    await type_text(live, "Tom has five apples. He buys four. Then he eats one. How many?")
    await live.commit()
    # Enter cuts a call short and keeps its note so far (commit_policy="keep")
    live.update_config(commit_policy="keep")
    before = sum(e.type == EventName.INFERENCE_DELTA for e in events)
    live.set_text("Anna reads books every day. She likes them. And")
    await seen(events, EventName.INFERENCE_DELTA, before + 3)  # "INFERENCE: noted a"
    await live.commit()
    await live.aclose()

    # prefill while typing: one prewarm cancelled by an edit before its cut, one done
    live = session(by_stage(), events, prewarm=True, prewarm_min_chars=8, delay=0.1)
    live.set_text("Tom has three apples and some")
    await seen(events, EventName.PREWARM_STARTED)
    live.set_text("Tim has three apples and some")
    await live.settled()
    await live.aclose()

    # collaborative: candidate notes, a final look at the question, the output model's
    # own prewarm
    small = ScriptedBackend(by_stage(), model="small", prewarm=True)
    live = session(by_stage("INFERENCE: answer: (B), because"), events, prewarm=True)
    live.output_backend = small
    live.update_config(notes="candidate", prewarm_min_chars=8)
    await type_text(live, QUESTION)
    await live.settled()
    await live.commit()
    small.prewarm_delay = 0.5  # Enter cancels the output model's prewarm
    live.set_text("Which planet is the largest one of all")
    for _ in range(200):
        if live.busy and any(e.data.get("target") == "output" for e in events[-3:]):
            break
        await asyncio.sleep(0.01)
    await live.commit()
    await live.aclose()

    # a speculative answer discarded by an edit, then one adopted at Enter
    live = session(by_stage(), events, speculate=True, delay=0.01)
    await type_text(live, QUESTION)
    assert live.speculate()
    live.set_text(QUESTION + "\nC. Jupiter")
    await live.settled()
    assert live.speculate()
    assert (await live.commit()).speculative
    await live.aclose()

    # notes="auto": a word problem pauses the notes, other text resumes them
    live = session(by_stage(), events, notes="auto")
    live.set_text("Tom has 3 apples. He buys 4 more. How many apples")
    live.set_text("Tell me about Paris.")
    await live.settled()
    await live.aclose()

    # errors: an inference call, a bug in a call, the answer call, an empty Enter
    calls = 0

    def failing(request: Request) -> str | BackendError:
        nonlocal calls
        calls += 1
        if request.stage == Stage.INFERENCE:
            if calls == 2:
                raise RuntimeError("engine bug")
            return BackendError("unreachable", "cannot reach the model") if calls == 1 else "WAIT"
        return BackendError("server_error", "boom")

    live = session(failing, events)
    await type_text(live, "First part. Second part. Third part. Fourth")
    with pytest.raises(BackendError):
        await live.commit()
    live.set_text("  ")
    with pytest.raises(SessionError):
        await live.commit()
    await live.aclose()

    # a history that no longer fits the context is trimmed
    def small_context(request: Request) -> str:
        if sum(len(m["content"]) for m in request.messages) > 700:
            raise BackendError("context_overflow", "prompt too long for the context")
        return "INFERENCE: ok" if request.stage == Stage.INFERENCE else "Answer " + "x" * 60

    live = session(small_context, events)
    for turn in range(6):
        await type_text(live, f"Question {turn} is here. Tell me more about it now.")
        await live.commit()
    await live.aclose()

    # answers first on a shared engine: another user's answer stops a note; prefills
    # (the output model's too) are shed while the engine is busy
    engine = ScriptedBackend(by_stage(), delay=0.05, prewarm=True)
    shared = PriorityBackend(engine, CallScheduler(SchedulingPolicy(slots=2, prewarm_waiting=0)))
    live = LiveSession(shared, SessionConfig(min_len=3, notes="free"))
    live.on(events.append)
    before = sum(e.type == EventName.INFERENCE_DELTA for e in events)
    live.set_text("Tom has three apples. He buys four. Then")
    await seen(events, EventName.INFERENCE_DELTA, before + 1)
    await shared.complete(Request([{"role": "user", "content": "hi"}], stage=Stage.OUTPUT))
    await live.settled()
    await live.aclose()
    small = PriorityBackend(
        ScriptedBackend(by_stage(), model="small", prewarm=True),
        CallScheduler(SchedulingPolicy(prewarm_waiting=0)),
    )
    held = await small.scheduler.acquire(Priority.ANSWER)
    live = session(by_stage(), events, prewarm=True, prewarm_min_chars=8)
    live.output_backend = small
    live.update_config(notes="candidate")
    await type_text(live, QUESTION)
    small.scheduler.release(held)
    await live.aclose()

    # a cancelled answer (the session says so by raising; the server sends the event)
    live = session(lambda r: "word " * 50, events, mode="baseline", delay=0.01)
    live.set_text("Tell me a story.")
    task = asyncio.create_task(live.commit())
    await asyncio.sleep(0.05)
    live.cancel()
    with pytest.raises(SessionError):
        await task
    await live.aclose()
    return events


def until(ws: Any, done: Callable[[dict[str, Any]], bool], seen: list[dict[str, Any]]) -> None:
    for _ in range(5000):
        event = ws.receive_json()
        seen.append(event)
        if done(event):
            return
    raise AssertionError(f"not seen among {[e['type'] for e in seen][-20:]}")


def is_(kind: str, compare: bool = False) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["type"] == kind and e.get("compare", False) == compare


def wire_paths() -> list[dict[str, Any]]:
    """The events a client gets on /v1/live: the session's, forwarded with the envelope,
    and the server's own (created, updated, cancelled, protocol errors, the baseline)."""
    seen: list[dict[str, Any]] = []
    state: dict[str, Any] = {"output": "Done.", "baseline": "Done.", "baseline_fails": False}

    def script(request: Request) -> str | BackendError:
        if request.stage == Stage.INFERENCE:
            return "INFERENCE: ok"
        if request.stage == Stage.BASELINE:
            if state["baseline_fails"]:
                return BackendError("server_error", "the baseline failed")
            return state["baseline"]
        return state["output"]

    backend = ScriptedBackend(script, delay=0.005)
    app = create_app(backend, defaults=SessionConfig(min_len=3, notes="free"), site=SITE)
    with TestClient(app) as client:
        assert client.get("/v1/events").json() == events_table()
        with client.websocket_connect("/v1/live") as ws:
            until(ws, is_("session.created"), seen)
            ws.send_text("{not json")
            until(ws, is_("error"), seen)
            ws.send_json({"type": "input_text.set", "text": "Mia reads. She likes it. Why?"})
            ws.send_json({"type": "input_text.commit", "compare": True})
            until(ws, is_("response.done", compare=True), seen)
            # cancelled: the answer, then the baseline after it
            ws.send_json({"type": "session.update", "session": {"answer_max_tokens": 400}})
            until(ws, is_("session.updated"), seen)
            state["output"] = state["baseline"] = "word " * 300
            ws.send_json({"type": "input_text.set", "text": "Tell me a long story."})
            ws.send_json({"type": "input_text.commit"})
            until(ws, is_("response.output_text.delta"), seen)
            ws.send_json({"type": "response.cancel"})
            until(ws, is_("response.cancelled"), seen)
            state["output"] = "Short."
            ws.send_json({"type": "input_text.set", "text": "Tell me a long story."})
            ws.send_json({"type": "input_text.commit", "compare": True})
            until(ws, is_("response.created", compare=True), seen)
            ws.send_json({"type": "response.cancel"})
            until(ws, is_("response.cancelled", compare=True), seen)
            # the baseline fails: its error is marked compare
            state["baseline_fails"] = True
            ws.send_json({"type": "input_text.set", "text": "Say hello."})
            ws.send_json({"type": "input_text.commit", "compare": True})
            until(ws, is_("error", compare=True), seen)
            ws.send_json({"type": "session.reset"})
            until(ws, is_("session.updated"), seen)
    # a WebSocket refused for want of a token: an error without a session
    app = create_app(backend, token="s3cret", site=SITE)
    with TestClient(app) as client, client.websocket_connect("/v1/live") as ws:
        until(ws, is_("error"), seen)
    return seen


def fields_seen(events: Iterable[Event | Mapping[str, Any]]) -> set[tuple[str, str]]:
    out = set()
    for e in events:
        name, data = (e.type, e.data) if isinstance(e, Event) else (e["type"], e)
        out |= {(name, f) for f in data if f not in ENVELOPE}
    return out


def test_the_event_table_matches_what_sessions_and_the_server_emit() -> None:
    # the scripted sessions run on a loop whose time is virtual (looptime): their
    # delays and waits cost no wall time
    with asyncio.Runner(loop_factory=looptime.new_event_loop) as runner:
        emitted = runner.run(session_paths())
    wire = wire_paths()
    problems = {p for e in [*emitted, *wire] for p in check_event(e)}
    assert not problems, sorted(problems)
    names = {e.type for e in emitted} | {e["type"] for e in wire}
    assert set(EVENTS) - names == {n for n in UNEXERCISED if isinstance(n, str)}
    optional = {(n, f) for n, spec in EVENTS.items() for f in spec.optional}
    assert optional - fields_seen([*emitted, *wire]) == {
        n for n in UNEXERCISED if isinstance(n, tuple)
    }
    # the server's own events never come from a session
    server_only = {n for n, spec in EVENTS.items() if spec.origin == "server"}
    assert not server_only & {e.type for e in emitted}
    assert {e["type"] for e in wire} >= server_only


def test_check_event_names_each_problem() -> None:
    assert check_event(Event(EventName.SEGMENT_COMMITTED, {"index": 0, "text": "A."})) == []
    assert check_event({"type": "segment.committed", "index": 0, "text": "A.", "event_id": 3}) == []
    assert check_event(Event("segment.typed", {})) == ["unknown event 'segment.typed'"]
    assert check_event({"event_id": 1}) == ["unknown event None"]
    assert check_event(Event("segment.committed", {"index": 0, "colour": "red"})) == [
        "segment.committed: missing field 'text'",
        "segment.committed: unexpected field 'colour'",
    ]
    # the envelope belongs to the wire form only
    assert check_event(Event("notes.resumed", {"event_id": 1})) == [
        "notes.resumed: unexpected field 'event_id'"
    ]
