"""Real ``vllm-router`` (0.1.17, the Rust router) in front of two real vLLM CPU workers:
concurrent livemind sessions stay on one worker for every call with the session header
(the workers' own request logs show it) and hop without it (the control); a worker killed
in the middle of a session gives a clear error or a session that goes on elsewhere, never
a hang."""

from __future__ import annotations

import asyncio
import signal
import statistics

import pytest
from scale_support import RouterFactory, served_by

from livemind.answering import Answer
from livemind.backends.base import Backend, BackendError, Request
from livemind.backends.openai_http import OpenAIBackend
from livemind.config import SessionConfig
from livemind.session import LiveSession
from scale.cluster import SERVED_NAME, Cluster, free_port, start_worker, wait_ready

QUESTIONS = [
    "Ada has 3 red pens and 5 blue pens. She gives 2 pens away. How many pens are left?",
    "A bus carries 40 people. At the first stop 12 get off. How many are still on it?",
    "Tom runs 4 km every day. He rests on Sundays. How far does he run in a week?",
    "A shirt costs 20 dollars. It is on sale for a quarter off. What does it cost now?",
    "Each box holds 6 eggs. The farm packs 15 boxes. How many eggs are packed?",
    "A film starts at 7:45 pm. It lasts 110 minutes. When does it end?",
    "Rita saves 5 dollars a week. She wants 60 dollars. How many weeks must she save?",
    "A tank holds 200 litres. It is half full. How many litres does it need to be full?",
]
CONFIG = SessionConfig(
    min_len=3, inference_max_tokens=10, answer_max_tokens=4, notes="free",
    prewarm=True, prewarm_min_chars=12,
)  # fmt: skip


async def type_by_words(session: LiveSession, text: str) -> None:
    """Word by word, letting every due call finish."""
    words = text.split(" ")
    for i in range(1, len(words) + 1):
        session.set_text(" ".join(words[:i]) + (" " if i < len(words) else ""))
        await session.settled()


async def one_session(backend: Backend, key: str, text: str) -> Answer:
    session = LiveSession(backend, CONFIG, session_id=key)
    try:
        await type_by_words(session, text)
        return await session.commit()
    finally:
        await session.aclose()


async def typists(
    url: str, prefix: str, header: str | None = "X-Session-ID", **backend_options: str
) -> tuple[list[str], list[Answer]]:
    """Eight sessions at once through ``url`` (session key in ``header``, ``None``: no
    header); their keys and answers."""
    backend = OpenAIBackend(url, affinity_header=header, **backend_options)
    keys = [f"{prefix}{i}" for i in range(len(QUESTIONS))]
    try:
        answers = await asyncio.wait_for(
            asyncio.gather(
                *(one_session(backend, k, q) for k, q in zip(keys, QUESTIONS, strict=True))
            ),
            timeout=600,
        )
    finally:
        await backend.aclose()
    return keys, list(answers)


def evaluated_share(answers: list[Answer]) -> float:
    """Mean share of the answer prompt the engine evaluated (the rest came from cache)."""
    shares = []
    for a in answers:
        out = a.output
        assert out.evaluated_tokens is not None and out.prompt_tokens
        shares.append(out.evaluated_tokens / out.prompt_tokens)
    return statistics.mean(shares)


async def test_sessions_stay_on_their_worker_with_the_header_and_hop_without(
    workers: Cluster, router: RouterFactory
) -> None:
    urls = [w.url for w in workers.workers]
    routed = router("consistent_hash", urls)
    keys, answers = await typists(routed.url, "aff-")
    assert all(a.output.completion_tokens > 0 for a in answers)
    seen = served_by(workers.workers, keys)
    assert all(len(s) == 1 for s in seen.values()), seen  # every call on one worker
    assert set().union(*seen.values()) == {0, 1}, seen  # and both workers in use
    assert evaluated_share(answers) < 0.5  # most of each answer prompt came from cache

    keys, answers = await typists(routed.url, "off-", header=None)
    seen = served_by(workers.workers, keys)
    hopped = [k for k, s in seen.items() if len(s) == 2]
    assert len(hopped) >= len(keys) // 2, seen  # the control: without the header they hop
    # (what hopping costs in evaluated tokens is measured on MMLU: benchmarks/scale_cache.py)


async def test_sglang_router_manual_policy_keeps_sessions_by_its_routing_key(
    workers: Cluster, router: RouterFactory
) -> None:
    routed = router("manual", [w.url for w in workers.workers], "sglang-router")
    # its model list is its own ("unknown", owned by "local"): name the model and the mode
    options = {"model": SERVED_NAME, "prewarm_mode": "vllm"}
    keys, answers = await typists(routed.url, "smg-", header="X-SMG-Routing-Key", **options)
    assert all(a.output.completion_tokens > 0 for a in answers)
    seen = served_by(workers.workers, keys)
    assert all(len(s) == 1 for s in seen.values()), seen
    assert set().union(*seen.values()) == {0, 1}, seen


async def test_a_killed_worker_gives_a_clear_error_or_the_session_moves(
    workers: Cluster, router: RouterFactory, tmp_path_factory: pytest.TempPathFactory
) -> None:
    port = free_port()
    spare = start_worker(port, "1", tmp_path_factory.mktemp("spare") / f"worker-{port}.log")
    try:
        wait_ready(spare, "/health", 300)
        pair = [workers.workers[0], spare]
        routed = router("consistent_hash", [w.url for w in pair])
        backend = OpenAIBackend(routed.url)
        # a session key the router sends to the spare worker
        candidates = [f"kill-{i}" for i in range(12)]
        for key in candidates:
            await backend.complete(Request([{"role": "user", "content": "hi"}], 1, session_key=key))
        on_spare = [k for k, s in served_by(pair, candidates).items() if s == {1}]
        assert on_spare, "no key of twelve was routed to the spare worker"
        key = on_spare[0]

        session = LiveSession(backend, CONFIG, session_id=key)
        half = len(QUESTIONS[0]) // 2
        await type_by_words(session, QUESTIONS[0][:half])
        spare.stop(signal.SIGKILL)
        outcome: Answer | BackendError
        try:
            async with asyncio.timeout(180):  # nothing may hang
                await type_by_words(session, QUESTIONS[0])
                outcome = await session.commit()
        except BackendError as err:
            outcome = err
        finally:
            await session.aclose()
            await backend.aclose()
        print("killed worker ->", repr(outcome)[:300])  # which of the two outcomes (pytest -s)
        if isinstance(outcome, BackendError):
            assert outcome.code in {"unreachable", "server_error"}, outcome
            assert routed.url in outcome.message or "worker" in outcome.message.lower()
        else:  # the router moved the session: the answer came from the surviving worker
            assert outcome.output.completion_tokens > 0
            assert 0 in served_by(pair, [key])[key]
    finally:
        spare.stop()
