"""Collaborative mode with real engines: one smollm2-135m engine reads the text as typed,
a second one answers. The output model's own cache is prewarmed with the transcript while
the text is typed, so at Enter it evaluates only what it never saw."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from livemind.answer_label import strip_label
from livemind.backends.llamacpp import LlamaCppBackend
from livemind.config import SessionConfig
from livemind.eval.unseen import ChatTokenizer, RecordingBackend, llama_server, unseen_tokens
from livemind.events import Event, EventName
from livemind.session import LiveSession

pytestmark = pytest.mark.model

QUESTION = (
    "Maria planted a row of tomato plants along the south wall of her garden. "
    "She waters them every morning before work and feeds them once a week. "
    "In July the plants grew taller than the fence and gave more fruit than she could eat. "
    "Which of these helped the plants most?\n(A) shade\n(B) sunlight\n(C) frost\n(D) wind"
)


@pytest.fixture(scope="module")
def output_engine(smollm2_path: Path) -> Iterator[LlamaCppBackend]:
    """A second engine: the output model of a collaborative session."""
    engine = LlamaCppBackend(smollm2_path, n_ctx=2048, n_parallel=1, n_threads=2)
    yield engine
    engine.close()


async def collaborative_turn(
    reader: Any, answerer: Any, **cfg: Any
) -> tuple[Any, RecordingBackend, list[Event]]:
    """Type QUESTION key by key (every due call finishes), press Enter."""
    await reader.reset_cache()
    await answerer.reset_cache()
    out = RecordingBackend(answerer)
    settings = {"min_len": 3, "inference_max_tokens": 12, "answer_max_tokens": 4, **cfg}
    live = LiveSession(reader, SessionConfig(**settings), output_backend=out)
    events: list[Event] = []
    live.on(events.append)
    for i in range(1, len(QUESTION) + 1):
        live.set_text(QUESTION[:i])
        await live.settled()
    answer = await live.commit()
    await live.aclose()
    return answer, out, events


async def test_the_output_model_is_prewarmed_while_typed(llama_backend, output_engine) -> None:
    answer, out, events = await collaborative_turn(
        llama_backend, output_engine, notes="candidate", prewarm=True, prewarm_min_chars=12
    )
    warmed = [e for e in events if e.type == EventName.PREWARM_DONE and e.data.get("target")]
    assert len(warmed) >= 3  # after notes and as the text grew
    assert strip_label(out.sent[-1][1]) == answer.text  # the output engine answered
    # the output model's cache at Enter: only what its own prewarms never sent
    server = llama_server(output_engine)
    assert server is not None
    tokenizer = ChatTokenizer(*server)
    try:
        unseen = await unseen_tokens(tokenizer, out.sent[-1], out.sent[:-1])
    finally:
        await tokenizer.aclose()
    final = answer.output
    assert final.evaluated_tokens is not None and final.cached_tokens is not None
    assert final.evaluated_tokens <= unseen + 2, (final.evaluated_tokens, unseen)
    assert final.evaluated_tokens < 0.25 * final.prompt_tokens
    # the note writer saw the options before Enter: a final look at the question
    looks = [e for e in events if e.type == EventName.INFERENCE_STARTED]
    assert looks and looks[-1].data["segments"][-1].strip() == "(D) wind"


async def test_without_output_prewarm_the_answer_model_reads_it_all(
    llama_backend, output_engine
) -> None:
    answer, out, events = await collaborative_turn(
        llama_backend, output_engine, notes="candidate", prewarm=False
    )
    assert not [e for e in events if e.data.get("target") == "output"]
    assert len(out.sent) == 1  # only the answer call reached the output model
    final = answer.output
    assert final.evaluated_tokens is not None
    assert final.evaluated_tokens > 0.9 * final.prompt_tokens  # a cold cache


def test_cli_demo_shows_the_output_models_cache_filled_before_enter(cli, smollm2_path) -> None:
    """`livemind demo --output-model`: a second engine answers, and its JSON says how
    much of the answer prompt that engine still had to read at Enter."""
    proc = cli(
        "demo", "--json", "--fast", "--model", "smollm2-135m",
        "--output-model", str(smollm2_path), "--max-tokens", "24",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    cache = json.loads(proc.stdout)["answer_cache"]
    assert cache["prewarms_before_enter"] >= 1
    assert cache["prompt_tokens"] > 0 and cache["evaluated_tokens_at_enter"] is not None
    assert cache["evaluated_tokens_at_enter"] < 0.5 * cache["prompt_tokens"]
    assert cache["cached_tokens_at_enter"] >= cache["prompt_tokens"] // 2
