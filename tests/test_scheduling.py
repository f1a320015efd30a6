"""The priority scheduler's rules (plain asyncio, no model) and its backend wrapper over
the scripted test double: answers overtake queued background calls and stop running
ones, prefills are shed when the engine is busy, the backlog drives admission."""

from __future__ import annotations

import asyncio

import pytest

from livemind.backends.base import Delta, Request, Stage
from livemind.backends.openai_http import OpenAIBackend
from livemind.backends.priority import PriorityBackend
from livemind.backends.scheduling import (
    CallScheduler,
    Deferred,
    Priority,
    SchedulingPolicy,
    engine_priority,
    priority_of,
)
from scripted_backend import ScriptedBackend

A, N, P = Priority.ANSWER, Priority.INFERENCE, Priority.PREWARM


def test_priority_follows_the_stage() -> None:
    assert priority_of(Stage.INFERENCE) is N
    assert priority_of(Stage.PREWARM) is P
    for stage in (Stage.OUTPUT, Stage.BASELINE, Stage.OTHER, Stage.CALIBRATION):
        assert priority_of(stage) is A


def test_engine_priorities_put_answers_first_in_each_engines_order() -> None:
    stages = (Stage.OUTPUT, Stage.INFERENCE, Stage.PREWARM)
    assert [engine_priority("vllm", s) for s in stages] == [0, 1, 2]  # lower first
    assert [engine_priority("sglang", s) for s in stages] == [2, 1, 0]  # higher first
    with pytest.raises(ValueError):
        engine_priority("tgi", Stage.OUTPUT)


def test_a_url_backend_sends_the_priority_only_when_asked() -> None:
    msgs = [{"role": "user", "content": "q"}]
    vllm = OpenAIBackend("http://127.0.0.1:9/v1", model="m", engine_priority="vllm")
    assert vllm._body(Request(msgs, stage=Stage.PREWARM))["priority"] == 2
    assert vllm._body(Request(msgs, stage=Stage.OUTPUT))["priority"] == 0
    plain = OpenAIBackend("http://127.0.0.1:9/v1", model="m")
    assert "priority" not in plain._body(Request(msgs, stage=Stage.OUTPUT))
    with pytest.raises(ValueError):
        OpenAIBackend("http://127.0.0.1:9/v1", engine_priority="yes")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"slots": 0},
        {"slots": 2, "background": 3},
        {"background": 1, "beside_answers": 2},
        {"prewarm_waiting": -1},
        {"answer_budget_s": -1.0},
    ],
)
def test_a_policy_out_of_range_is_refused(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        SchedulingPolicy(**kwargs)


def test_the_default_policy_keeps_half_the_slots_for_answers() -> None:
    assert SchedulingPolicy.for_slots(1).background == 1
    assert SchedulingPolicy.for_slots(8).background == 4
    assert SchedulingPolicy.for_slots(8, background=2).background == 2


async def _queue(sched: CallScheduler, priority: Priority, order: list[str], name: str) -> None:
    ticket = await sched.acquire(priority)
    order.append(name)
    await asyncio.sleep(0)
    sched.release(ticket)


async def test_an_answer_overtakes_queued_background_calls() -> None:
    sched = CallScheduler(SchedulingPolicy(slots=1, preempt=False, prewarm_waiting=4))
    first = await sched.acquire(N)
    order: list[str] = []
    tasks = [
        asyncio.create_task(_queue(sched, p, order, name))
        for p, name in ((P, "prewarm"), (N, "note"), (A, "answer"))
    ]
    await asyncio.sleep(0)
    assert sched.waiting() == 3 and not first.preempted.is_set()
    sched.release(first)
    await asyncio.gather(*tasks)
    assert order == ["answer", "note", "prewarm"]


async def test_an_answer_preempts_background_calls_beyond_the_bound() -> None:
    sched = CallScheduler(SchedulingPolicy(slots=4, background=2))
    note, prefill = await sched.acquire(N), await sched.acquire(P)
    answer = await sched.acquire(A)  # slots are free: it starts at once
    assert note.preempted.is_set() and prefill.preempted.is_set()
    # while the answer runs no background call starts, though slots are free
    waiting = asyncio.create_task(sched.acquire(N))
    await asyncio.sleep(0)
    assert not waiting.done() and sched.waiting(N) == 1
    for ticket in (note, prefill, answer):
        sched.release(ticket)
    assert (await waiting).priority is N
    assert sched.counts["inference.preempted"] == 1 and sched.counts["prewarm.preempted"] == 1


async def test_beside_answers_lets_some_background_work_go_on() -> None:
    sched = CallScheduler(SchedulingPolicy(slots=4, background=2, beside_answers=1))
    note, prefill = await sched.acquire(N), await sched.acquire(P)
    await sched.acquire(A)
    assert prefill.preempted.is_set() and not note.preempted.is_set()  # the prefill goes first


async def test_enter_turns_a_sessions_own_calls_into_answers() -> None:
    sched = CallScheduler(SchedulingPolicy(slots=2, background=1))
    look = await sched.acquire(N, "mine")  # a final look at the question, running
    theirs = asyncio.create_task(sched.acquire(N, "theirs"))
    await asyncio.sleep(0)
    sched.user_waiting("mine")  # Enter: the look is now on the critical path
    assert look.priority is A and sched.counts["promoted"] == 1
    other_answer = await sched.acquire(A, "other")  # another user's answer
    assert not look.preempted.is_set()  # not stopped: someone waits for it too
    assert not theirs.done()  # background waits while answers run
    answer = asyncio.create_task(sched.acquire(A, "mine"))
    await asyncio.sleep(0)
    sched.release(look)
    mine = await answer  # the answer call of the waiting user, ahead of the note
    assert mine.answer_call and not theirs.done()
    sched.release(other_answer)
    assert (later := await sched.acquire(N, "mine")).priority is A  # still waiting
    sched.release(later)
    sched.release(mine)
    sched.user_waiting("mine", waiting=False)  # the answer is there
    sched.release(await theirs)
    assert (await sched.acquire(N, "mine")).priority is N


async def test_a_prefill_is_shed_when_others_already_wait() -> None:
    sched = CallScheduler(SchedulingPolicy(slots=1, prewarm_waiting=1))
    running = await sched.acquire(A)
    queued = asyncio.create_task(sched.acquire(P))
    await asyncio.sleep(0)
    with pytest.raises(Deferred) as err:
        await sched.acquire(P)
    assert err.value.code == "deferred" and err.value.reason == "shed"
    assert sched.counts["prewarm.shed"] == 1
    sched.release(running)
    sched.release(await queued)


async def test_a_cancelled_wait_gives_its_place_up() -> None:
    sched = CallScheduler(SchedulingPolicy(slots=1))
    running = await sched.acquire(A)
    gone = asyncio.create_task(sched.acquire(A))
    nxt = asyncio.create_task(sched.acquire(N))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.gather(gone, return_exceptions=True)
    assert sched.waiting(A) == 0
    sched.release(running)
    assert (await nxt).priority is N and sched.running() == 1


async def test_the_answer_backlog_drives_overload() -> None:
    now = [0.0]
    sched = CallScheduler(SchedulingPolicy(slots=1, answer_budget_s=5.0), clock=lambda: now[0])
    assert not sched.overloaded()  # nothing measured yet
    first = await sched.acquire(A)
    now[0] = 2.0
    sched.release(first, completed=True)  # answers take 2 s
    held = await sched.acquire(A)
    queued = [asyncio.create_task(sched.acquire(A)) for _ in range(2)]
    await asyncio.sleep(0)
    assert sched.answer_backlog_s() == pytest.approx(6.0) and sched.overloaded()
    sched.release(held)
    for task in queued:
        sched.release(await task)
    assert not sched.overloaded()


async def test_a_long_answer_alone_is_no_overload_but_a_queue_of_them_is() -> None:
    now = [0.0]
    sched = CallScheduler(SchedulingPolicy(slots=4, answer_budget_s=5.0), clock=lambda: now[0])
    slow = await sched.acquire(A)
    now[0] = 9.0
    sched.release(slow, completed=True)  # an answer took 9 s: longer than the budget
    assert not sched.overloaded()  # nothing is under way now
    running = [await sched.acquire(A)]
    assert not sched.overloaded()  # one such answer on 4 slots clears in 2.25 s
    running += [await sched.acquire(A) for _ in range(2)]
    assert sched.answer_backlog_s() == pytest.approx(6.75) and sched.overloaded()
    dropped = running.pop()
    now[0] += 60.0
    sched.release(dropped)  # a cancelled answer: its time says nothing about the engine
    assert sched.answer_backlog_s() == pytest.approx(4.5) and not sched.overloaded()
    for ticket in running:
        sched.release(ticket)


def _request(stage: Stage) -> Request:
    return Request([{"role": "user", "content": "q"}], max_tokens=50, stage=stage)


async def _drain(backend: PriorityBackend, stage: Stage) -> str:
    return "".join([d.text async for d in backend.stream(_request(stage))])


async def test_the_wrapper_stops_a_running_note_when_an_answer_comes() -> None:
    engine = ScriptedBackend([" ".join(["w"] * 40)], delay=0.01, prewarm=True, prewarm_delay=1)
    backend = PriorityBackend(engine, CallScheduler(SchedulingPolicy(slots=2, background=1)))
    note = asyncio.create_task(_drain(backend, Stage.INFERENCE))
    await asyncio.sleep(0.05)  # the note is streaming
    answer = await _drain(backend, Stage.OUTPUT)
    with pytest.raises(Deferred) as err:
        await note
    assert err.value.reason == "preempted"
    assert answer.split() == ["w"] * 40 and engine.cancelled == 1
    assert backend.scheduler.running() == 0


async def test_the_wrapper_stops_a_prefill_and_passes_answers_through() -> None:
    engine = ScriptedBackend(["done"], prewarm=True, prewarm_delay=5)
    backend = PriorityBackend(engine, CallScheduler(SchedulingPolicy(slots=2)))
    prefill = asyncio.create_task(backend.prewarm(_request(Stage.PREWARM)))
    await asyncio.sleep(0.01)
    assert await _drain(backend, Stage.OUTPUT) == "done"
    with pytest.raises(Deferred):
        await prefill
    assert backend.scheduler.running() == 0 and backend.scheduler.waiting() == 0


async def test_cancelling_a_background_call_is_a_cancellation_not_a_deferral() -> None:
    engine = ScriptedBackend(["a b c d e f"], delay=0.05)
    backend = PriorityBackend(engine)
    note = asyncio.create_task(_drain(backend, Stage.INFERENCE))
    await asyncio.sleep(0.07)
    note.cancel()
    with pytest.raises(asyncio.CancelledError):
        await note
    assert engine.cancelled == 1 and backend.scheduler.running() == 0


async def test_a_second_cancellation_while_the_engine_stops_still_waits_for_it() -> None:
    class SlowToStop(ScriptedBackend):
        stopped = 0

        async def stream(self, request):  # type: ignore[no-untyped-def,override]
            try:
                await asyncio.sleep(1.0)  # a long prefill: the cancellations land in it
                yield Delta("x")
            finally:
                await asyncio.sleep(0.05)  # the engine takes a while to stop
                self.stopped += 1

    engine = SlowToStop(["unused"])
    backend = PriorityBackend(engine)
    note = asyncio.create_task(_drain(backend, Stage.INFERENCE))
    await asyncio.sleep(0.03)
    note.cancel()
    await asyncio.sleep(0.01)
    note.cancel()  # again, while the engine is still stopping
    with pytest.raises(asyncio.CancelledError):
        await note
    assert engine.stopped == 1 and backend.scheduler.running() == 0
