"""Cache alignment, prewarm and speculation with the real smollm2-135m model, through the
embedded engine and through llama.cpp's own HTTP server (several slots)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from livemind.backends.base import Backend
from livemind.backends.openai_http import OpenAIBackend
from livemind.config import SessionConfig
from livemind.eval.unseen import ChatTokenizer, RecordingBackend, llama_server, unseen_tokens
from livemind.session import LiveSession

pytestmark = pytest.mark.model

QUESTION = (
    "A farmer keeps 12 cows and 30 chickens on a small farm near the river. "
    "Every cow gives 9 litres of milk a day and every chicken lays one egg a day. "
    "The farmer sells milk for 2 dollars a litre and eggs for 25 cents each. "
    "How much money does the farmer make in one week from milk and eggs together?"
)


async def type_slowly(session: LiveSession, text: str) -> None:
    """Key by key, letting every due call finish (as a person typing slower than the
    model works)."""
    for i in range(1, len(text) + 1):
        session.set_text(text[:i])
        await session.settled()


async def streamed_then_answered(backend: Backend, session_id: str, **cfg: Any) -> tuple:
    log = RecordingBackend(backend)
    cfg = {"notes": "free", **cfg}  # QUESTION is a word problem: "auto" would write no notes
    config = SessionConfig(min_len=3, inference_max_tokens=12, answer_max_tokens=4, **cfg)
    session = LiveSession(log, config, session_id=session_id)
    await type_slowly(session, QUESTION)
    answer = await session.commit()
    await session.aclose()
    server = llama_server(backend)
    assert server is not None
    tokenizer = ChatTokenizer(*server)
    try:
        unseen = await unseen_tokens(tokenizer, log.sent[-1], log.sent[:-1])
    finally:
        await tokenizer.aclose()
    return answer, unseen


@pytest.mark.parametrize("fmt", ["aligned", "ua-spi"])
async def test_embedded_answer_call_evaluates_only_the_unseen_tail(llama_backend, fmt) -> None:
    await llama_backend.reset_cache()
    answer, unseen = await streamed_then_answered(
        llama_backend, f"align-{fmt}", format=fmt, prewarm=True, prewarm_min_chars=12
    )
    out = answer.output
    assert answer.calls and answer.prewarms  # inference calls and prefill-only calls ran
    assert out.evaluated_tokens is not None and out.cached_tokens is not None
    # llama.cpp re-evaluates at most a token or two at the seam of a cached prefix
    assert out.evaluated_tokens <= unseen + 2, (out.evaluated_tokens, unseen)
    assert unseen < 0.25 * out.prompt_tokens  # and what is unseen is only the tail
    assert out.cached_tokens >= out.prompt_tokens - unseen - 2


@pytest.mark.parametrize(
    ("answer_mode", "notes", "resolved"),
    [
        ("short", "free", "short"),
        ("reason", "facts", "reason"),
        ("reason", "steps", "reason"),
        ("auto", "auto", "reason"),  # the plain layout: no notes, prewarmed while typed
    ],
)
async def test_every_answer_mode_evaluates_only_the_unseen_tail(
    llama_backend, answer_mode, notes, resolved
) -> None:
    await llama_backend.reset_cache()
    answer, unseen = await streamed_then_answered(
        llama_backend,
        f"mode-{answer_mode}-{notes}",
        prewarm=True,
        prewarm_min_chars=12,
        answer_mode=answer_mode,
        notes=notes,
        reason_budget=3,
    )
    out = answer.output
    assert answer.answer_mode == resolved  # auto: QUESTION is a numeric word problem
    assert out.completion_tokens <= (3 if resolved == "reason" else 4)
    assert out.evaluated_tokens is not None
    assert out.evaluated_tokens <= unseen + 2, (answer_mode, out.evaluated_tokens, unseen)
    # the plain layout has no transcript, so its ~25-token instruction weighs more
    assert unseen < (0.4 if notes == "auto" else 0.25) * out.prompt_tokens


async def test_a_partial_note_kept_at_enter_is_read_from_the_cache(llama_backend) -> None:
    """commit_policy="keep": the note cut off at Enter enters the answer prompt, and the
    engine, which wrote those tokens itself, does not evaluate them again."""
    await llama_backend.reset_cache()
    log = RecordingBackend(llama_backend)
    config = SessionConfig(
        min_len=3,
        inference_max_tokens=48,
        answer_max_tokens=4,
        commit_policy="keep",
        notes="free",  # QUESTION is a word problem: "auto" would write no notes
    )
    session = LiveSession(log, config, session_id="keep")
    sentences = QUESTION.split(". ")
    await type_slowly(session, ". ".join(sentences[:-1]) + ". ")
    events: list = []
    session.on(events.append)
    session.set_text(QUESTION + " Thanks.")  # the last sentence gets a call; Enter cuts it

    def written() -> str:
        return "".join(e.data["delta"] for e in events if e.type == "inference.delta")

    async def a_few_words() -> None:  # Enter comes while the note is being written
        while len(written().split()) < 4:
            await asyncio.sleep(0.002)

    await asyncio.wait_for(a_few_words(), timeout=30)
    answer = await session.commit()
    await session.aclose()
    kept = [a for a in answer.actions if a.get("partial")]
    assert kept, f"no partial note kept; the call wrote {written()!r}"
    assert kept[-1]["content"] in log.sent[-1][0][-2]["content"]
    tokenizer = ChatTokenizer(*llama_server(llama_backend))  # type: ignore[misc]
    try:
        unseen = await unseen_tokens(tokenizer, log.sent[-1], log.sent[:-1])
    finally:
        await tokenizer.aclose()
    assert answer.output.evaluated_tokens <= unseen + 3, (answer.output.evaluated_tokens, unseen)


async def test_without_prewarm_the_last_sentence_is_evaluated_after_enter(llama_backend) -> None:
    await llama_backend.reset_cache()
    answer, unseen = await streamed_then_answered(llama_backend, "align-cold", format="aligned")
    last_sentence_tokens = 12  # "How much money ... together?" is ~18 tokens
    assert answer.output.evaluated_tokens >= last_sentence_tokens
    assert answer.output.evaluated_tokens <= unseen + 2


async def test_http_answer_call_evaluates_only_the_unseen_tail(llama_backend) -> None:
    await llama_backend.reset_cache()
    http = OpenAIBackend(llama_backend.base_url, api_key=llama_backend.api_key)
    await http.probe()
    assert http.capabilities.prewarm and http.capabilities.slots == 2
    try:
        answer, unseen = await streamed_then_answered(
            http, "align-http", format="aligned", prewarm=True, prewarm_min_chars=12
        )
    finally:
        await http.aclose()
    out = answer.output
    assert answer.prewarms and out.evaluated_tokens is not None
    assert out.evaluated_tokens <= unseen + 2, (out.evaluated_tokens, unseen)
    assert unseen < 0.25 * out.prompt_tokens


async def test_speculation_is_used_on_unchanged_text_and_dropped_on_edit(llama_backend) -> None:
    cfg = SessionConfig(speculate=True, speculate_after_s=0.1, answer_max_tokens=8)
    session = LiveSession(llama_backend, cfg, session_id="speculate")
    events: list = []
    session.on(events.append)
    session.set_text("What is the capital of France?")
    await asyncio.sleep(1.5)  # the pause before Enter: the answer runs meanwhile
    answer = await session.commit()
    assert answer.speculative and answer.text.strip()
    assert answer.speculation_saved_s > 0 and not answer.wasted
    assert "speculation.started" in [e.type for e in events]

    session.set_text("What is the capital of Spain?")
    await asyncio.sleep(0.4)  # speculation starts on this text ...
    session.set_text("What is the capital of Spain? Answer in one word.")  # ... then an edit
    answer = await session.commit()
    assert not answer.speculative and len(answer.wasted) == 1
    assert "speculation.discarded" in [e.type for e in events]
    await session.aclose()
