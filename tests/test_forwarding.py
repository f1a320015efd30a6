"""ForwardingBackend (the base of backend wrappers) and innermost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from livemind.backends.base import Backend, Capabilities, Delta, Request, Usage
from livemind.backends.forwarding import ForwardingBackend, innermost
from livemind.eval.unseen import RecordingBackend
from livemind.server.metrics import MeteredBackend, Metrics


class Endless(Backend):
    """Streams ``x`` until closed; records what it was asked and whether it was closed."""

    name = "endless"

    def __init__(self) -> None:
        self.model = "m0"
        self.capabilities = Capabilities(prewarm=True, slots=3)
        self.context_size = 512
        self.stream_closed = asyncio.Event()
        self.calls: list[str] = []

    async def stream(self, request: Request) -> AsyncIterator[Delta]:
        self.calls.append("stream")
        try:
            while True:
                yield Delta(text="x")
        finally:
            self.stream_closed.set()

    async def prewarm(self, request: Request) -> Usage | None:
        self.calls.append("prewarm")
        return Usage(prompt_tokens=7, evaluated_tokens=7, cached_tokens=0)

    async def reset_cache(self) -> None:
        self.calls.append("reset_cache")

    async def aclose(self) -> None:
        self.calls.append("aclose")


REQ = Request([{"role": "user", "content": "hi"}])


async def test_early_exit_closes_the_inner_stream_at_once() -> None:
    inner = Endless()
    stream = ForwardingBackend(inner).stream(REQ)
    assert (await stream.__anext__()).text == "x"
    await stream.aclose()
    assert inner.stream_closed.is_set()


async def test_cancelling_the_consumer_closes_the_inner_stream() -> None:
    inner = Endless()
    started = asyncio.Event()

    async def consume() -> None:
        async for _ in MeteredBackend(inner, Metrics()).stream(REQ):
            started.set()
            await asyncio.sleep(0)

    task = asyncio.create_task(consume())
    await started.wait()
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert inner.stream_closed.is_set()


async def test_attributes_and_calls_are_forwarded() -> None:
    inner = Endless()
    wrapper = ForwardingBackend(inner)
    assert (wrapper.name, wrapper.model, wrapper.context_size) == ("endless", "m0", 512)
    assert wrapper.capabilities == inner.capabilities
    inner.model = "m1"  # learnt later (an HTTP backend's model lookup): shows through
    assert wrapper.model == "m1"
    assert (await wrapper.prewarm(REQ)) == Usage(
        prompt_tokens=7, evaluated_tokens=7, cached_tokens=0
    )
    await wrapper.reset_cache()
    await wrapper.aclose()
    assert inner.calls == ["prewarm", "reset_cache", "aclose"]
    await ForwardingBackend(inner, owns_inner=False).aclose()
    assert inner.calls.count("aclose") == 1


async def test_wrappers_that_do_not_own_their_engine_leave_it_open() -> None:
    inner = Endless()
    await RecordingBackend(inner).aclose()
    await MeteredBackend(inner, Metrics()).aclose()
    assert "aclose" not in inner.calls


async def test_recording_and_metering_on_top() -> None:
    inner = Endless()
    metrics = Metrics()
    log = RecordingBackend(MeteredBackend(inner, metrics))
    got = []
    async with contextlib.aclosing(log.stream(REQ)) as stream:
        async for delta in stream:
            got.append(delta.text)
            if len(got) == 3:
                break
    assert inner.stream_closed.is_set()
    await log.prewarm(REQ)
    assert log.sent == [(REQ.messages, "xxx"), (REQ.messages, "")]
    assert metrics.value("livemind_calls_total") == 2
    assert metrics.value("livemind_prompt_tokens_evaluated_total") == 7


def test_innermost() -> None:
    inner = Endless()
    assert innermost(inner) is inner
    assert innermost(RecordingBackend(MeteredBackend(inner, Metrics()))) is inner
