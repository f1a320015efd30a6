"""Answers first on a real engine: three typing sessions on smollm2-135m (two slots)
behind one priority scheduler, and another user's answer asked for while they type. The
answer runs before the notes and prefills queued before it, the running note is stopped
(``inference.deferred``), no note or prefill runs beside the answer, and the typists'
notes go on afterwards, each session answering its own question in the end."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncGenerator

import pytest

from livemind.backends.base import Backend, Delta, Request, Stage, Usage
from livemind.backends.forwarding import ForwardingBackend
from livemind.backends.priority import PriorityBackend
from livemind.backends.scheduling import CallScheduler, Priority, SchedulingPolicy
from livemind.config import SessionConfig
from livemind.events import Event
from livemind.session import LiveSession

pytestmark = pytest.mark.model

STORY = (
    "Ada keeps bees on a hill. Each hive gives her nine jars of honey. She has seven hives. "
    "Her brother sells the jars at the market. He keeps one jar of every ten. "
    "The rest of the money goes to new hives. The bees fly far in summer. "
    "In winter they stay inside and eat some honey. Ada checks them every week. "
)
QUESTION = "What is the capital city of France?"


class CallLog(ForwardingBackend):
    """Records each call that reaches the engine: (stage, start, end) on the loop clock."""

    def __init__(self, inner: Backend) -> None:
        super().__init__(inner, owns_inner=False)
        self.calls: list[list] = []

    async def stream(self, request: Request) -> AsyncGenerator[Delta, None]:
        entry = [request.stage, time.monotonic(), None]
        self.calls.append(entry)
        try:
            async with contextlib.aclosing(super().stream(request)) as deltas:
                async for delta in deltas:
                    yield delta
        finally:
            entry[2] = time.monotonic()

    async def prewarm(self, request: Request) -> Usage | None:
        entry = [Stage.PREWARM, time.monotonic(), None]
        self.calls.append(entry)
        try:
            return await super().prewarm(request)
        finally:
            entry[2] = time.monotonic()


class TracingScheduler(CallScheduler):
    """Records each admission (ticket number, priority) and, for each answer asked for,
    how many background calls were waiting at that moment."""

    def __init__(self, policy: SchedulingPolicy) -> None:
        super().__init__(policy)
        self.admitted: list[tuple[int, Priority]] = []
        self.waiting_at_answer: list[int] = []

    async def acquire(self, priority: Priority, session_key: str | None = None):  # type: ignore[no-untyped-def]
        if priority is Priority.ANSWER:
            self.waiting_at_answer.append(
                self.waiting(Priority.INFERENCE) + self.waiting(Priority.PREWARM)
            )
        ticket = await super().acquire(priority, session_key)
        self.admitted.append((ticket.seq, priority))
        return ticket


async def keep_typing(session: LiveSession, text: str, stop: asyncio.Event) -> None:
    """A typist who adds a word every 50 ms, starting over when the text runs out."""
    words = text.split(" ")
    i = 0
    while not stop.is_set():
        i += 1
        session.set_text(" ".join(words[: 1 + i % len(words)]))
        await asyncio.sleep(0.05)


async def test_an_answer_overtakes_queued_notes_and_stops_the_running_one(llama_backend) -> None:
    log = CallLog(llama_backend)
    scheduler = TracingScheduler(SchedulingPolicy.for_slots(2))  # one background call at once
    shared = PriorityBackend(log, scheduler, owns_inner=False)
    notes = SessionConfig(min_len=3, notes="free", inference_max_tokens=32, prewarm=True)
    typists = [LiveSession(shared, notes) for _ in range(3)]
    events: list[Event] = []
    for typist in typists:
        typist.on(events.append)
    stop = asyncio.Event()
    tasks = [asyncio.create_task(keep_typing(t, STORY, stop)) for t in typists]
    try:
        background = (Priority.INFERENCE, Priority.PREWARM)
        for _ in range(1500):  # until a note is being written and another call waits
            if scheduler.running(Priority.INFERENCE) and sum(
                scheduler.waiting(p) for p in background
            ):
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail("the typists never had a note running and a call waiting")
        stop.set()  # the typists rest: their queued calls stay queued, none is edited away
        # another user's answer, asked for in this very step (no await between the check
        # above and its place in the queue)
        answer = await shared.complete(
            Request([{"role": "user", "content": QUESTION}], max_tokens=12, stage=Stage.OUTPUT)
        )
        assert answer[0].strip()
        # the answer was asked for while a note or prefill waited, and went first
        assert scheduler.waiting_at_answer[0] >= 1
        seq = next(s for s, p in scheduler.admitted if p is Priority.ANSWER)
        for _ in range(200):  # a call queued before the answer is admitted after it
            order = [s for s, _ in scheduler.admitted]
            if [s for s in order[order.index(seq) + 1 :] if s < seq]:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail(f"no queued call was overtaken: {scheduler.admitted}")
        (answer_call,) = [c for c in log.calls if c[0] == Stage.OUTPUT]
        start, end = answer_call[1], answer_call[2]
        beside = [c for c in log.calls if c[0] != Stage.OUTPUT and start < c[1] < end]
        assert not beside  # nothing of the typists started while the answer ran
        deferred = [e for e in events if e.type == "inference.deferred"]
        deferred += [e for e in events if e.type == "prewarm.deferred"]
        assert any(e.data["reason"] == "preempted" for e in deferred)
        assert scheduler.counts["inference.preempted"] + scheduler.counts["prewarm.preempted"]
        noted = sum(e.type == "inference.done" for e in events)
        for _ in range(300):  # the typists' notes go on after the answer
            if sum(e.type == "inference.done" for e in events) > noted:
                break
            await asyncio.sleep(0.02)
        else:
            pytest.fail(f"no note after the answer: {[e.type for e in events][-30:]}")
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    for typist in typists:
        typist.set_text(QUESTION)
        assert (await typist.commit()).text.strip()
        await typist.aclose()
    assert not [e for e in events if e.type == "error"]
    assert scheduler.running() == 0 and scheduler.waiting() == 0
