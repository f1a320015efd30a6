"""livemind's HTTP backend against one real vLLM CPU worker (smollm2-135m): streaming,
prewarm mode recognised as ``vllm``, cached tokens reported, a closed stream stops the
generation, and a typed question's answer call evaluates about what the engine had never
been sent (up to vLLM's cache block of 32 tokens)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

import httpx

from livemind.backends.base import Request, Stage
from livemind.backends.openai_http import OpenAIBackend
from livemind.config import SessionConfig
from livemind.eval.unseen import RecordingBackend, VllmChatTokenizer, unseen_tokens
from livemind.session import LiveSession
from scale.cluster import Cluster

BLOCK = 32  # --block-size of the workers: vLLM caches whole blocks only

QUESTION = (
    "A baker fills 14 trays with 24 rolls each before sunrise. "
    "By noon she has sold three quarters of the rolls at 40 cents each. "
    "In the afternoon she sells the rest at half price. "
    "How much money did she take in for the rolls that day?"
)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def metric(url: str, name: str) -> float:
    """The sum of a Prometheus metric's samples on a worker's ``/metrics``."""
    text = httpx.get(url + "/metrics", timeout=10).text
    pattern = re.compile(rf"^{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", re.M)
    return sum(float(v) for v in pattern.findall(text))


async def test_streams_recognises_vllm_and_reports_cached_tokens(workers: Cluster) -> None:
    backend = OpenAIBackend(workers.workers[0].url)
    try:
        caps = await backend.probe()
        assert backend.resolved_prewarm_mode == "vllm" and caps.prewarm  # from owned_by
        long_text = " ".join(f"Line {i} of a long shared preamble." for i in range(40))
        deltas = [d async for d in backend.stream(Request(user(long_text), max_tokens=12))]
        assert "".join(d.text for d in deltas).strip()
        first = deltas[-1].usage
        assert first is not None and first.prompt_tokens > 3 * BLOCK
        # the same prefix again, longer: whole cached blocks are reported and skipped
        prompt = user(long_text + " And one more line.")
        text, usage = await backend.complete(Request(prompt, max_tokens=4))
        assert usage.cached_tokens is not None and usage.cached_tokens >= 3 * BLOCK
        assert usage.evaluated_tokens is not None and usage.evaluated_tokens < 2 * BLOCK
        assert backend.capabilities.cached_tokens
    finally:
        await backend.aclose()


async def test_prewarm_fills_the_cache_for_the_next_call(workers: Cluster) -> None:
    backend = OpenAIBackend(workers.workers[0].url)
    try:
        prompt = user(" ".join(f"Fact {i}: the {i}th stone is grey." for i in range(30)))
        warm = await backend.prewarm(Request(prompt, stage=Stage.PREWARM))
        assert warm is not None and warm.completion_tokens <= 1
        _, usage = await backend.complete(Request(prompt, max_tokens=4))
        assert usage.cached_tokens is not None
        assert usage.prompt_tokens - usage.cached_tokens <= BLOCK
    finally:
        await backend.aclose()


async def test_closing_the_stream_stops_the_generation(workers: Cluster) -> None:
    url = workers.workers[1].url
    backend = OpenAIBackend(url)
    request = Request(user("Count from one to one thousand in words."), max_tokens=2000)
    try:
        stream = backend.stream(request)
        got = 0
        async with contextlib.aclosing(stream):
            async for delta in stream:
                got += bool(delta.text)
                if got >= 3:
                    break
        deadline = time.monotonic() + 10
        while metric(url, "vllm:num_requests_running") > 0:
            assert time.monotonic() < deadline, "the worker kept generating"
            await asyncio.sleep(0.2)
        before = metric(url, "vllm:generation_tokens_total")
        await asyncio.sleep(2)
        assert metric(url, "vllm:generation_tokens_total") == before
        assert before < 1000  # far from the 2000 tokens asked for
    finally:
        await backend.aclose()


async def test_answer_call_evaluates_about_the_never_seen_tokens(workers: Cluster) -> None:
    url = workers.workers[0].url
    backend = OpenAIBackend(url)
    log = RecordingBackend(backend)
    config = SessionConfig(
        min_len=3, inference_max_tokens=12, answer_max_tokens=4, notes="free",
        prewarm=True, prewarm_min_chars=12,
    )  # fmt: skip
    session = LiveSession(log, config, session_id="vllm-unseen")
    for i in range(1, len(QUESTION) + 1):  # key by key, every due call finishing
        session.set_text(QUESTION[:i])
        await session.settled()
    answer = await session.commit()
    await session.aclose()
    tokenizer = VllmChatTokenizer(url, backend.model)
    try:
        unseen = await unseen_tokens(tokenizer, log.sent[-1], log.sent[:-1])
    finally:
        await tokenizer.aclose()
        await backend.aclose()
    out = answer.output
    assert answer.calls and answer.prewarms
    assert out.evaluated_tokens is not None and out.prompt_tokens
    # vLLM reuses whole blocks: at most one partial block more than the unseen tail
    assert unseen <= out.evaluated_tokens <= unseen + BLOCK, (out.evaluated_tokens, unseen)
    assert out.evaluated_tokens < 0.5 * out.prompt_tokens
