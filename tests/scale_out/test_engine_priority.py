"""Request priorities reach a real vLLM engine (``--engine-priority vllm``).

One more worker, started with ``--scheduling-policy priority`` and room for one sequence at
a time (``--max-num-seqs 1``), so calls queue inside vLLM. A long note occupies it; a
second note and then an answer arrive while it runs. With livemind's priorities the
answer runs before the note that arrived earlier; the control, the same calls without
priorities, keeps their arrival order (vLLM serves equal priorities first come, first
served)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from livemind.backends.base import Request, Stage
from livemind.backends.openai_http import OpenAIBackend
from scale.cluster import Proc, free_port, start_worker, wait_ready


@pytest.fixture(scope="module")
def one_seq_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Proc]:
    port = free_port()
    log: Path = tmp_path_factory.mktemp("priority") / f"worker-{port}.log"
    extra = ["--scheduling-policy", "priority", "--max-num-seqs", "1"]
    proc = start_worker(port, "1", log, extra)
    try:
        wait_ready(proc, "/health", 300)
        yield proc
    finally:
        proc.stop()


def call(text: str, stage: Stage, max_tokens: int) -> Request:
    """A call that writes exactly ``max_tokens`` tokens (``ignore_eos``)."""
    messages = [{"role": "user", "content": text}]
    extra = {"ignore_eos": True}
    return Request(messages, max_tokens=max_tokens, stage=stage, extra=extra, session_key=text)


async def first_token_at(
    backend: OpenAIBackend, request: Request, started: float, first: asyncio.Event
) -> float:
    """Stream the whole call; return seconds from ``started`` to its first text (and set
    ``first`` then)."""
    at: float | None = None
    async for delta in backend.stream(request):
        if delta.text and at is None:
            at = time.monotonic() - started
            first.set()
    assert at is not None, "the call streamed no text"
    return at


async def order_of_service(url: str, engine_priority: str | None) -> tuple[float, float]:
    """(first token of the queued note, first token of the later answer), in seconds."""
    backend = OpenAIBackend(url, engine_priority=engine_priority, prewarm_mode="off")
    try:
        await backend.probe()
        t0 = time.monotonic()
        events = [asyncio.Event() for _ in range(3)]
        long_note = call("Count slowly from one upwards.", Stage.INFERENCE, 160)
        busy = asyncio.create_task(first_token_at(backend, long_note, t0, events[0]))
        await events[0].wait()  # the one sequence is now taken by a long note
        note_call = call("Describe a quiet harbour.", Stage.INFERENCE, 8)
        note = asyncio.create_task(first_token_at(backend, note_call, t0, events[1]))
        await asyncio.sleep(0.3)  # the note is queued first
        answer_call = call("Name a colour.", Stage.OUTPUT, 8)
        answer = asyncio.create_task(first_token_at(backend, answer_call, t0, events[2]))
        note_s, answer_s, busy_s = await asyncio.gather(note, answer, busy)
        assert busy_s < min(note_s, answer_s)
        return note_s, answer_s
    finally:
        await backend.aclose()


async def test_an_answer_overtakes_a_queued_note_in_vllm(one_seq_worker: Proc) -> None:
    note_s, answer_s = await order_of_service(one_seq_worker.url, "vllm")
    assert answer_s < note_s, (note_s, answer_s)


async def test_without_priorities_vllm_keeps_arrival_order(one_seq_worker: Proc) -> None:
    note_s, answer_s = await order_of_service(one_seq_worker.url, None)
    assert note_s < answer_s, (note_s, answer_s)
