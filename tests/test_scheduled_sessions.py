"""Sessions on one scheduled engine (the scripted double, virtual time): another user's
answer stops a session's note, the session says so and writes the note later; a
prefill refused while the engine is busy is skipped, not retried in a loop; the server
refuses new sessions while the answers queued exceed the budget or late answers have
capped the sessions, and reports the queue."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient

from livemind.backends.base import Request, Stage
from livemind.backends.openai_http import OpenAIBackend
from livemind.backends.priority import PriorityBackend
from livemind.backends.scheduling import CallScheduler, Priority, SchedulingPolicy
from livemind.config import SessionConfig
from livemind.server.admission import SessionCap
from livemind.server.app import create_app
from livemind.server.guard import SitePolicy
from livemind.server.hub import HubError, SessionHub
from livemind.server.metrics import Metrics
from livemind.server.scheduled import Scheduling, scheduled
from livemind.session import LiveSession
from scripted_backend import ScriptedBackend, is_inference_request

pytestmark = pytest.mark.looptime

TEXT = "Tom has three apples. He buys four more. Then he eats one of them. How many are left?"


def script(request: Request) -> str:
    if is_inference_request(request):
        return "INFERENCE: noted " + " ".join(["x"] * 20)
    return "Six apples are left."


def session_on(backend: PriorityBackend, **cfg) -> tuple[LiveSession, list]:
    session = LiveSession(backend, SessionConfig(min_len=3, notes="free", **cfg))
    events: list = []
    session.on(events.append)
    return session, events


async def other_users_answer(backend: PriorityBackend) -> str:
    request = Request([{"role": "user", "content": "hi"}], stage=Stage.OUTPUT)
    return "".join([d.text async for d in backend.stream(request)])


async def test_another_users_answer_defers_a_note_which_runs_later() -> None:
    engine = ScriptedBackend(script, delay=0.1)
    backend = PriorityBackend(engine, CallScheduler(SchedulingPolicy(slots=2)))
    session, events = session_on(backend)
    session.set_text(TEXT[:45])  # two sentences: a note call starts
    await asyncio.sleep(0.25)  # the note is being written
    assert any(e.type == "inference.started" for e in events)
    assert await other_users_answer(backend) == "Six apples are left."
    deferred = [e for e in events if e.type == "inference.deferred"]
    assert [e.data["reason"] for e in deferred] == ["preempted"]
    await session.settled()  # the worker plans the note again once the answer is done
    done = [e for e in events if e.type == "inference.done"]
    assert done and done[-1].data["call_id"] > deferred[0].data["call_id"]
    assert session.turn.failed_upto == 0  # a deferral is not a failure: nothing is skipped
    assert (await session.commit()).text == "Six apples are left."
    await session.aclose()


async def test_after_enter_the_sessions_running_note_is_not_stopped_for_others() -> None:
    engine = ScriptedBackend(script, delay=0.1)
    backend = PriorityBackend(engine, CallScheduler(SchedulingPolicy(slots=2)))
    session, events = session_on(backend, commit_policy="wait")
    session.set_text(TEXT[:45])
    await asyncio.sleep(0.25)  # the note is being written
    commit = asyncio.create_task(session.commit())  # Enter waits for the note
    await asyncio.sleep(0.05)
    assert backend.scheduler.counts["promoted"] == 1
    assert await other_users_answer(backend) == "Six apples are left."
    assert (await commit).text == "Six apples are left."
    assert not [e for e in events if e.type == "inference.deferred"]
    assert any(e.type == "inference.done" for e in events)
    await session.aclose()


async def test_a_shed_prefill_is_skipped_once_and_the_answer_still_comes() -> None:
    engine = ScriptedBackend(script, delay=0.05, prewarm=True, prewarm_delay=0.5)
    scheduler = CallScheduler(SchedulingPolicy(slots=1, prewarm_waiting=0))
    backend = PriorityBackend(engine, scheduler)
    held = await scheduler.acquire(Priority.ANSWER)  # another user's answer holds the engine
    session, events = session_on(backend, mode="baseline", prewarm=True)
    session.set_text(TEXT[:-12])  # three sentences stand: their prefill is due
    await asyncio.sleep(0.1)
    deferred = [e for e in events if e.type == "prewarm.deferred"]
    assert [e.data["reason"] for e in deferred] == ["shed"]
    assert not engine.prewarm_requests  # nothing reached the engine
    assert sum(e.type == "prewarm.started" for e in events) == 1  # no retry loop
    scheduler.release(held)
    assert (await session.commit()).text == "Six apples are left."
    await session.aclose()


async def test_the_hub_refuses_new_sessions_while_answers_are_over_budget() -> None:
    now = [0.0]
    scheduler = CallScheduler(SchedulingPolicy(slots=1, answer_budget_s=3.0), clock=lambda: now[0])
    hub = SessionHub(PriorityBackend(ScriptedBackend(script), scheduler))
    first = await scheduler.acquire(Priority.ANSWER)
    now[0] = 2.0
    scheduler.release(first, completed=True)  # answers take 2 s here
    running = await scheduler.acquire(Priority.ANSWER)
    hub.open("127.0.0.1")  # one answer under way, 2 s each: within the budget
    queued = asyncio.create_task(scheduler.acquire(Priority.ANSWER))
    await asyncio.sleep(0)
    with pytest.raises(HubError) as err:
        hub.open("127.0.0.1")  # 2 answers x 2 s > 3 s
    assert err.value.code == "overloaded"
    assert hub.metrics.value("livemind_errors_total", code="overloaded") == 1
    scheduler.release(running)
    scheduler.release(await queued)
    hub.open("127.0.0.1")
    await hub.aclose()


async def test_late_answers_cap_the_sessions_and_the_ones_open_go_on() -> None:
    now = [0.0]
    cap = SessionCap(3.0, 32, clock=lambda: now[0])
    hub = SessionHub(ScriptedBackend(script), admission=cap)
    open_ = [hub.open("127.0.0.1") for _ in range(4)]
    hub.answered({"timings": {"latency_s": 1.0, "ttft_s": 0.2}, "usage": {"completion_tokens": 40}})
    assert hub.metrics.value("livemind_session_cap") == 32
    now[0] = 10.0
    late = {"timings": {"latency_s": 12.0, "ttft_s": 6.0}, "usage": {"completion_tokens": 40}}
    hub.answered({**late, "speculative": True})  # written before Enter: says nothing
    assert hub.metrics.value("livemind_session_cap") == 32
    hub.answered(late)  # 11.2 s later than its tokens take: 4 live, cap 3
    assert hub.metrics.value("livemind_session_cap") == 3
    with pytest.raises(HubError) as err:
        hub.open("127.0.0.1")
    assert err.value.code == "overloaded"
    assert all(not conn.closed for conn in open_)  # the sessions already open go on
    await hub.close(open_.pop())
    await hub.close(open_.pop())
    hub.open("127.0.0.1")  # 2 live, room for a third
    await hub.aclose()


def test_the_server_learns_its_cap_only_with_scheduling_and_a_budget() -> None:
    assert isinstance(Scheduling().session_cap(32), SessionCap)
    assert Scheduling(answer_budget_s=0).session_cap(32) is None
    assert Scheduling(enabled=False).session_cap(32) is None


def test_metrics_show_each_engines_queue_and_deferrals() -> None:
    site = SitePolicy.for_bind("127.0.0.1", allow_hosts=["testserver"])
    app = create_app(ScriptedBackend(script), site=site)
    with TestClient(app) as client:
        text = client.get("/metrics").text
    assert 'livemind_calls_waiting{engine="main",priority="answer"} 0.0' in text
    assert 'livemind_answer_backlog_seconds{engine="main"} 0.0' in text
    assert "livemind_session_cap 32.0" in text  # nothing learned yet: --max-sessions
    assert (
        'livemind_background_deferred_total{engine="main",reason="preempted",stage="inference"}'
        in text
    )


def test_scheduling_off_sends_calls_straight_to_the_engine() -> None:
    engine = ScriptedBackend(script)
    site = SitePolicy.for_bind("127.0.0.1", allow_hosts=["testserver"])
    app = create_app(engine, site=site, scheduling=Scheduling(enabled=False))
    assert app.state.hub.backend.inner is engine  # only the metering wrapper
    with TestClient(app) as client:
        assert "livemind_calls_waiting" not in client.get("/metrics").text


def test_the_policy_follows_the_engines_slots() -> None:
    assert Scheduling().policy(1) == SchedulingPolicy(slots=1, background=1, answer_budget_s=20)
    policy = Scheduling(background=9, beside_answers=9).policy(4)
    assert (policy.slots, policy.background, policy.beside_answers) == (4, 4, 4)
    assert Scheduling().policy(8).background == 4
    with pytest.raises(ValueError):
        Scheduling(answer_budget_s=-1)


def test_metrics_label_both_engines_of_a_collaborative_server_in_one_family() -> None:
    site = SitePolicy.for_bind("127.0.0.1", allow_hosts=["testserver"])
    small = ScriptedBackend(script, model="small")
    app = create_app(ScriptedBackend(script), output_backend=small, site=site)
    with TestClient(app) as client:
        text = client.get("/metrics").text
    assert text.count("# TYPE livemind_calls_waiting gauge") == 1
    assert 'livemind_calls_waiting{engine="output",priority="answer"} 0.0' in text
    assert 'livemind_calls_waiting{engine="main",priority="answer"} 0.0' in text


def test_a_url_engine_other_than_llama_cpp_schedules_itself() -> None:
    metrics = Metrics()
    vllm = OpenAIBackend("http://127.0.0.1:9/v1", model="m", prewarm_mode="vllm")
    assert scheduled(vllm, None, metrics, "main") is vllm
    llama = OpenAIBackend("http://127.0.0.1:9/v1", model="m", prewarm_mode="llama")
    assert isinstance(scheduled(llama, None, metrics, "main"), PriorityBackend)
