"""The embedded llama.cpp backend, on the real SmolLM2-135M model (2 threads)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest

from livemind.backends.base import BackendError, Capabilities, Request, Usage
from livemind.backends.llamacpp import LlamaCppBackend


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def wait_idle(backend: LlamaCppBackend, timeout: float = 5.0) -> float:
    """Seconds until no engine request is in flight (fails after ``timeout``)."""
    start = time.monotonic()
    while backend.in_flight:
        assert time.monotonic() - start < timeout, "engine request still running"
        await asyncio.sleep(0.01)
    return time.monotonic() - start


def test_missing_model_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(BackendError) as err:
        LlamaCppBackend(missing)
    assert err.value.code == "model_missing"
    assert str(missing) in err.value.message


def test_unloadable_model_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"not a gguf file")
    with pytest.raises(BackendError) as err:
        LlamaCppBackend(bad, n_ctx=256, n_parallel=1)
    assert err.value.code == "server_error"
    assert str(bad) in err.value.message


@pytest.mark.model
def test_attributes(llama_backend: LlamaCppBackend) -> None:
    assert llama_backend.name == "llama.cpp"
    assert llama_backend.model == "SmolLM2-135M-Instruct.Q4_1"
    assert llama_backend.capabilities == Capabilities(prewarm=True, cached_tokens=True, slots=2)
    assert llama_backend.context_size == 2048
    assert llama_backend.base_url.startswith("http://127.0.0.1:")
    assert llama_backend.base_url.endswith("/v1")


@pytest.mark.model
def test_the_engines_own_port_wants_its_random_key(llama_backend: LlamaCppBackend) -> None:
    import httpx

    root = llama_backend.base_url.removesuffix("/v1")
    body = {"messages": user("hi"), "max_tokens": 1}
    key = {"Authorization": f"Bearer {llama_backend.api_key}"}
    assert len(llama_backend.api_key) >= 32
    # another local user, without the key: no model, no slot erasing, no slot listing
    assert httpx.post(llama_backend.base_url + "/chat/completions", json=body).status_code == 401
    assert httpx.post(root + "/slots/0?action=erase").status_code == 401
    assert httpx.get(root + "/slots").status_code == 401
    # with it (as the backend itself does)
    slots = httpx.get(root + "/slots", headers=key).json()
    assert slots[0]["n_ctx"] == llama_backend.context_size
    ok = httpx.post(llama_backend.base_url + "/chat/completions", json=body, headers=key)
    assert ok.status_code == 200


@pytest.mark.model
async def test_stream_has_text_and_usage(llama_backend: LlamaCppBackend) -> None:
    deltas = [
        d
        async for d in llama_backend.stream(
            Request(user("Stream test: name a fruit."), max_tokens=12)
        )
    ]
    assert deltas[-1].usage is not None
    assert all(d.usage is None for d in deltas[:-1])
    text = "".join(d.text for d in deltas)
    assert text.strip()
    usage = deltas[-1].usage
    assert usage.prompt_tokens > 10
    assert 0 < usage.completion_tokens <= 12
    assert usage.cached_tokens is not None and usage.evaluated_tokens is not None
    assert usage.cached_tokens + usage.evaluated_tokens == usage.prompt_tokens
    assert usage.finish_reason in ("stop", "length")


@pytest.mark.model
async def test_complete_and_max_tokens(llama_backend: LlamaCppBackend) -> None:
    text, usage = await llama_backend.complete(
        Request(user("Write a long essay about the history of Rome."), max_tokens=5)
    )
    assert text
    assert usage.completion_tokens == 5
    assert usage.finish_reason == "length"


@pytest.mark.model
async def test_stop_sequences_pass_through(llama_backend: LlamaCppBackend) -> None:
    req = Request(user("List the days of the week, one per line."), max_tokens=40)
    full, _ = await llama_backend.complete(req)
    words = full.split()
    assert len(words) >= 4, full
    stop = words[2]
    cut, usage = await llama_backend.complete(Request(req.messages, max_tokens=40, stop=[stop]))
    assert stop not in cut
    assert full.startswith(cut)
    assert usage.finish_reason == "stop"


@pytest.mark.model
async def test_cancel_mid_stream_then_next_call(llama_backend: LlamaCppBackend) -> None:
    # ignore_eos + 1500 tokens: ~10 s of generation unless the engine stops
    req = Request(
        user("Count from one to two hundred in words."),
        max_tokens=1500,
        extra={"ignore_eos": True},
    )
    got = 0
    started = time.monotonic()
    async for delta in llama_backend.stream(req):
        if delta.text:
            got += 1
        if got == 2:
            break
    # the engine notices at its next chunk and frees the slot
    await wait_idle(llama_backend, timeout=5.0)
    assert time.monotonic() - started < 6.0
    started = time.monotonic()
    text, usage = await llama_backend.complete(Request(user("Say hi."), max_tokens=4))
    assert usage.completion_tokens > 0
    assert time.monotonic() - started < 10.0


@pytest.mark.model
async def test_task_cancellation_stops_engine(llama_backend: LlamaCppBackend) -> None:
    first = asyncio.Event()

    async def consume() -> None:
        req = Request(
            user("Tell a very long story about dragons."),
            max_tokens=1500,
            extra={"ignore_eos": True},
        )
        async for delta in llama_backend.stream(req):
            if delta.text:
                first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await wait_idle(llama_backend, timeout=5.0)


class _CountingServer:
    """The real engine server, with a record of every request that reaches it."""

    def __init__(self, real: object) -> None:
        self._real = real
        self.contents: list[str] = []

    def handle_chat_completions(self, body: dict, callback: object) -> object:  # type: ignore[type-arg]
        self.contents.append(str(body["messages"][0]["content"]))
        return self._real.handle_chat_completions(body, callback)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)


@pytest.mark.model
async def test_a_call_cancelled_while_queued_never_reaches_the_engine(
    llama_backend: LlamaCppBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    counting = _CountingServer(llama_backend.transport.server)
    monkeypatch.setattr(llama_backend.transport, "server", counting)
    long = Request(user("Count slowly from one to fifty."), max_tokens=48)
    busy = [asyncio.create_task(llama_backend.complete(long)) for _ in range(4)]
    for _ in range(500):  # every worker thread of the pool is taken
        if len(counting.contents) == 4:
            break
        await asyncio.sleep(0.01)
    queued = asyncio.create_task(llama_backend.complete(Request(user("Queued 31337."))))
    await asyncio.sleep(0.2)
    assert len(counting.contents) == 4  # it waits for a worker
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    await asyncio.wait_for(asyncio.gather(*busy), 120)
    await asyncio.sleep(0.2)  # a worker is free now: a dropped call would start here
    assert not [c for c in counting.contents if "31337" in c]
    await wait_idle(llama_backend)


@pytest.mark.model
async def test_cancel_during_prefill(smollm2_path: Path) -> None:
    """A long prompt is cut short: progress chunks let the engine see the cancel."""
    backend = LlamaCppBackend(smollm2_path, n_ctx=2048, n_parallel=1, n_batch=64)
    try:
        # ~1800 tokens: about 5 s of prefill on 2 idle cores, in batches of 64
        long_text = "Nonce prefill. " + "The quick brown fox jumps over the lazy dog. " * 175
        gen = backend.stream(Request(user(long_text), max_tokens=4))
        task = asyncio.create_task(gen.__anext__())
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await gen.aclose()
        assert await wait_idle(backend, timeout=2.0) < 2.0
        _, usage = await backend.complete(Request(user("hi"), max_tokens=2))
        assert usage.completion_tokens > 0
    finally:
        await backend.aclose()


@pytest.mark.model
async def test_two_concurrent_streams(llama_backend: LlamaCppBackend) -> None:
    async def run(topic: str) -> tuple[str, Usage]:
        return await llama_backend.complete(
            Request(user(f"Concurrent test. Write three words about {topic}."), max_tokens=16)
        )

    (t1, u1), (t2, u2) = await asyncio.wait_for(
        asyncio.gather(run("the sea"), run("the mountains")), 60
    )
    assert t1 and t2
    assert u1.completion_tokens > 0 and u2.completion_tokens > 0
    assert llama_backend.in_flight == 0


GROW_BASE = (
    "Growing prompt test 4711. I am planning a trip to Lisbon next spring with two "
    "friends and we want to see the old town, eat pastries and"
)
GROW_TAIL = " take the famous yellow tram up the hill to the castle at sunset"


@pytest.mark.model
async def test_prefix_cache_on_growing_prompt(llama_backend: LlamaCppBackend) -> None:
    _, first = await llama_backend.complete(Request(user(GROW_BASE), max_tokens=4))
    _, second = await llama_backend.complete(Request(user(GROW_BASE + GROW_TAIL), max_tokens=4))
    assert second.prompt_tokens > first.prompt_tokens
    assert second.cached_tokens is not None and second.evaluated_tokens is not None
    assert second.cached_tokens > 0
    assert second.evaluated_tokens < second.prompt_tokens
    grown = second.prompt_tokens - first.prompt_tokens
    # only the new tail (+ the few tokens after the old end of the user text) is evaluated
    assert second.evaluated_tokens <= grown + 8
    assert second.cached_tokens >= first.prompt_tokens - 8


@pytest.mark.model
async def test_prewarm_then_chat(llama_backend: LlamaCppBackend) -> None:
    text = (
        "Prewarm test 9090. My grandmother kept bees behind the barn and every August we "
        "helped her take the honey out of the hives while"
    )
    warm = await llama_backend.prewarm(Request(user(text)))
    assert warm is not None
    assert warm.completion_tokens <= 1  # llama.cpp samples one token, never more
    assert warm.prompt_tokens > 20
    _, usage = await llama_backend.complete(
        Request(user(text + " the dog barked at the smoke"), max_tokens=4)
    )
    assert usage.cached_tokens is not None
    # everything but the chat template's closing tokens came from the prewarmed cache
    assert usage.cached_tokens >= warm.prompt_tokens - 8
    assert usage.evaluated_tokens is not None and usage.evaluated_tokens <= 20


@pytest.mark.model
async def test_context_overflow_then_usable(llama_backend: LlamaCppBackend) -> None:
    with pytest.raises(BackendError) as err:
        await llama_backend.complete(Request(user("word " * 2500), max_tokens=4))
    assert err.value.code == "context_overflow"
    msg = err.value.message
    assert "2048 tokens per slot" in msg
    assert "n_ctx=4096" in msg and "n_parallel=2" in msg
    assert "prompt is 25" in msg  # ~2500 tokens
    text, usage = await llama_backend.complete(Request(user("Still alive?"), max_tokens=4))
    assert usage.completion_tokens > 0
    assert llama_backend.in_flight == 0


@pytest.mark.model
async def test_malformed_request_is_bad_request(llama_backend: LlamaCppBackend) -> None:
    with pytest.raises(BackendError) as err:
        await llama_backend.complete(Request("not a list"))  # type: ignore[arg-type]
    assert err.value.code == "bad_request"
    assert "messages" in err.value.message
    _, usage = await llama_backend.complete(Request(user("ok?"), max_tokens=2))
    assert usage.completion_tokens > 0


@pytest.mark.model
async def test_extra_is_merged(llama_backend: LlamaCppBackend) -> None:
    # id_slot pins the slot; n_predict (llama.cpp's own name) wins over max_tokens
    _, usage = await llama_backend.complete(
        Request(user("Extra test."), max_tokens=30, extra={"id_slot": 1, "n_predict": 3})
    )
    assert usage.completion_tokens == 3


@pytest.mark.model
async def test_aclose_frees_engine(smollm2_path: Path) -> None:
    before = len(os.listdir("/proc/self/task"))
    backend = LlamaCppBackend(smollm2_path, n_ctx=600, n_parallel=1)
    # the context size is read back from the engine (llama.cpp pads it to 256s)
    assert backend.context_size == backend.n_ctx == 768
    _, usage = await backend.complete(Request(user("hi"), max_tokens=2))
    assert usage.completion_tokens > 0
    assert len(os.listdir("/proc/self/task")) > before + 5  # llama.cpp runs ~10 threads
    # closing while a stream runs: the engine stops and the consumer gets an error
    stream = backend.stream(
        Request(user("Talk forever."), max_tokens=400, extra={"ignore_eos": True})
    )
    assert (await stream.__anext__()).text
    await backend.aclose()
    with pytest.raises(BackendError, match="closed"):
        async for _ in stream:
            pass
    await backend.aclose()  # twice is fine
    assert backend.closed
    # llama.cpp's loop + HTTP threads and our workers are gone (one ggml thread and
    # asyncio's default-executor thread, used by aclose, may stay)
    assert len(os.listdir("/proc/self/task")) <= before + 2
    with pytest.raises(BackendError):
        await backend.complete(Request(user("hi"), max_tokens=2))


async def test_reset_cache_makes_the_next_call_cold(smollm2_path) -> None:
    from livemind.backends.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(smollm2_path, n_ctx=2048, n_parallel=2, host_cache_mib=0)
    try:
        msgs = [{"role": "user", "content": "Tell me about the Roman empire, please. " * 5}]
        await backend.complete(Request(msgs, max_tokens=2))
        _, warm = await backend.complete(Request(msgs, max_tokens=2))
        assert warm.cached_tokens and warm.cached_tokens > 50
        await backend.reset_cache()
        _, cold = await backend.complete(Request(msgs, max_tokens=2))
        assert cold.cached_tokens == 0 and cold.evaluated_tokens == cold.prompt_tokens
    finally:
        await backend.aclose()


async def test_ngram_speculative_decoding_option(smollm2_path) -> None:
    """``ngram_spec`` turns on llama.cpp's draft-free speculative decoding; the engine
    still answers, and an unknown type is a clear error."""
    with pytest.raises(ValueError, match="ngram_spec"):
        LlamaCppBackend(smollm2_path, n_ctx=1024, n_parallel=1, ngram_spec="ngram-magic")
    spec = LlamaCppBackend(smollm2_path, n_ctx=1024, n_parallel=1, ngram_spec="ngram-simple")
    try:
        messages = [{"role": "user", "content": "Repeat: one two three four."}]
        text, usage = await spec.complete(Request(messages, max_tokens=12))
        assert text.strip() and usage.completion_tokens >= 1
    finally:
        await spec.aclose()
