"""End to end with the real smollm2-135m model: session, CLI demo, chat, bad input."""

from __future__ import annotations

import io
import json
import time

import pytest

from livemind.backends.openai_http import OpenAIBackend
from livemind.chat import chat_loop
from livemind.config import SessionConfig
from livemind.session import LiveSession, SessionError
from livemind.typist import type_and_commit

pytestmark = pytest.mark.model

QUESTION = (
    "Sara has 12 red pens and 8 blue pens. She gives 5 red pens to her brother. "
    "Then she buys 3 more blue pens. How many pens does Sara have now?"
)
# notes on a word problem (the "free" policy): "auto" would write none on QUESTION; what
# auto does there is checked in test_auto_notes_solve_a_word_problem_from_the_text
CFG = SessionConfig(min_len=10, inference_max_tokens=32, answer_max_tokens=48, notes="free")


async def test_typed_question_gets_inferences_and_a_cached_answer(llama_backend) -> None:
    session = LiveSession(llama_backend, CFG)
    events: list = []
    session.on(events.append)
    typed = await type_and_commit(session, QUESTION, cpm=240, fast=True)
    kinds = [e.type for e in events]
    assert kinds.count("segment.committed") == 4
    assert "inference.delta" in kinds and "response.output_text.delta" in kinds
    answer = typed.answer
    assert answer.text.strip()
    assert len(answer.calls) >= 1
    assert all(c.prompt_tokens > 0 and c.wall_s > 0 for c in answer.calls)
    # The answer call reuses the cached prefix of the inference calls.
    assert answer.output.cached_tokens and answer.output.cached_tokens > 0
    assert answer.output.evaluated_tokens < answer.output.prompt_tokens
    assert typed.latency_s > 0 and typed.ttft_s is not None


async def test_session_through_http_backend(llama_backend) -> None:
    backend = OpenAIBackend(llama_backend.base_url, api_key=llama_backend.api_key)
    try:
        session = LiveSession(backend, CFG)
        typed = await type_and_commit(session, QUESTION, cpm=240, fast=True)
        assert typed.answer.text.strip() and len(typed.answer.calls) >= 1
        assert typed.answer.output.cached_tokens is not None
    finally:
        await backend.aclose()


async def test_text_longer_than_context_gives_clear_error_and_recovers(llama_backend) -> None:
    session = LiveSession(llama_backend, CFG)
    errors: list = []
    session.on(lambda e: e.type == "error" and errors.append(e.data))
    long_text = "The quick brown fox jumps over the lazy dog near the river bank. " * 250
    session.set_text(long_text)
    await session.settled()
    with pytest.raises(SessionError) as info:
        await session.commit()
    assert info.value.code == "context_overflow"
    assert "2048" in str(info.value)  # names the limit (tokens per slot)
    assert [(e["code"], e["stage"]) for e in errors] == [
        ("context_overflow", "prewarm"),  # said once while typing, then at Enter
        ("context_overflow", "output"),
    ]
    assert session.text == long_text  # nothing lost
    session.set_text("What is the capital of France? Answer in one word.")
    assert (await session.commit()).text.strip()


async def test_chat_two_turns(llama_backend) -> None:
    typed = ["My name is Ada.", "Please remember it.", "", "What is my name?", ""]
    lines = iter([line + "\n" for line in typed])  # then EOF
    out = io.StringIO()
    await chat_loop(llama_backend, None, CFG, read_line=lambda: next(lines, ""), out=out)
    text = out.getvalue()
    assert text.count("answer ▸") == 2
    assert text.count("inference calls while you typed") == 2


def test_cli_demo_json(cli) -> None:
    start = time.perf_counter()
    proc = cli("demo", "--json", "--model", "smollm2-135m", "--fast", "--max-tokens", "96")
    elapsed = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    for key in (
        "question",
        "answer",
        "baseline_answer",
        "latency_s",
        "ttft_s",
        "baseline_latency_s",
        "baseline_ttft_s",
        "inference_calls",
        "actions",
        "model",
        "output_model",
    ):
        assert key in result
    assert result["inference_calls"] == len(result["actions"]) >= 1
    assert {"segments", "action", "content"} <= set(result["actions"][0])
    assert result["model"] == result["output_model"] == "SmolLM2-135M-Instruct.Q4_1"
    assert elapsed < 300, f"demo took {elapsed:.0f} s"  # a hang guard, not a speed check


@pytest.mark.parametrize(
    ("model", "needle"),
    [("no-such-model", "smollm2-135m"), ("/nonexistent/model.gguf", "model.gguf")],
)
def test_cli_bad_model(cli, model: str, needle: str) -> None:
    proc = cli("demo", "--json", "--model", model, "--fast")
    assert proc.returncode == 2
    assert "livemind: error:" in proc.stderr and needle in proc.stderr
    assert "Traceback" not in proc.stderr


async def test_auto_notes_solve_a_word_problem_from_the_text(llama_backend) -> None:
    """The defaults (auto answers, auto notes) on a word problem with the real model: no
    inference call, the plain layout prefilled while typed, a reason answer at Enter."""
    await llama_backend.reset_cache()
    session = LiveSession(llama_backend, SessionConfig(min_len=10, answer_max_tokens=48))
    events: list = []
    session.on(events.append)
    typed = await type_and_commit(session, QUESTION, fast=True, think_s=1.0)
    await session.aclose()
    kinds = [e.type for e in events]
    assert "notes.paused" in kinds and "inference.started" not in kinds
    answer = typed.answer
    assert answer.answer_mode == "reason" and answer.prewarms and answer.text.strip()
    out = answer.output
    assert out.cached_tokens and out.cached_tokens > out.prompt_tokens // 2  # prefilled


async def test_edit_cancels_real_inference_call(llama_backend) -> None:
    import asyncio

    cfg = SessionConfig(min_len=10, inference_max_tokens=200, answer_max_tokens=16)
    session = LiveSession(llama_backend, cfg)
    events: list = []
    session.on(events.append)
    session.set_text("Write a very long story about a cat named Tom. Then it")
    for _ in range(200):  # wait until the real call is streaming
        await asyncio.sleep(0.01)
        if any(e.type == "inference.delta" for e in events):
            break
    session.set_text("Write a very long story about a dog named Rex. Then it")
    await session.settled()
    kinds = [e.type for e in events]
    assert "inference.cancelled" in kinds and "memory.invalidated" in kinds
    assert (
        session.turn.memory.entries[0].segments[0].startswith("Write a very long story about a dog")
    )
    assert llama_backend.in_flight == 0


async def test_baseline_prewarm_caches_the_typed_prompt(llama_backend) -> None:
    question = (
        "A baker makes 40 rolls in the morning and 25 in the afternoon. "
        "He sells 52 of them before closing time. How many rolls are left over?"
    )
    cfg = SessionConfig(mode="baseline", prewarm=True, answer_max_tokens=8)
    typed = await type_and_commit(LiveSession(llama_backend, cfg), question, fast=True)
    out = typed.answer.output
    assert typed.answer.prewarms and typed.answer.calls == []
    assert all(p.prompt_tokens > 0 for p in typed.answer.prewarms)
    # Everything up to the last sentence was prefilled while it was typed.
    assert out.cached_tokens is not None and out.cached_tokens >= 0.5 * out.prompt_tokens
    assert typed.answer.busy_s > out.wall_s
