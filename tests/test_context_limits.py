"""Prompts that outgrow the context (issue 16), with the real smollm2-135m on a small
engine (n_ctx=512 over 2 slots: 256 tokens a slot) so that a few sentences are enough and
few tokens are generated (a decoded token is what costs most on a busy 2-core machine).

What must hold: when the notes no longer fit, the typing phase stops writing them (one
``notes.paused``) and never loops; Enter answers without notes when the plain text fits,
else fails with a ``context_overflow`` SessionError naming the tokens and the limit, the
text kept; earlier turns are dropped first, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from websockets.sync.client import ClientConnection, connect

from livemind.config import SessionConfig
from livemind.events import Event
from livemind.session import LiveSession, SessionError

pytestmark = pytest.mark.model

SLOT = 256  # tokens per slot of the small engine
LIMIT_S = 120  # a looping test fails instead of hanging (each takes 1-5 s on idle cores)
SENTENCES = [
    f"Box {n} on shelf {n} holds exactly {3 * n} small blue marbles and one red cube."
    for n in range(1, 41)
]
# notes on every sentence, short answers: the notes fill the slot after 2 sentences, the
# plain text after ~10
CFG = SessionConfig(
    min_len=10, inference_max_tokens=24, answer_max_tokens=12, notes="free", answer_mode="short"
)
OVERFLOW = re.compile(rf"prompt is \d+ tokens but the context holds {SLOT} tokens")


def typed(n: int, first: int = 0) -> str:
    """Sentences ``first`` .. ``first + n - 1``, as typed so far (a space after the last)."""
    return " ".join(SENTENCES[first : first + n]) + " "


@pytest.fixture(scope="module")
def small(smollm2_path: Path) -> Iterator[object]:
    from livemind.backends.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(smollm2_path, n_ctx=2 * SLOT, n_parallel=2, n_threads=2)
    assert backend.context_size == SLOT
    yield backend
    backend.close()


class Log:
    """A session's events, in order."""

    def __init__(self, session: LiveSession) -> None:
        self.events: list[Event] = []
        session.on(self.events.append)

    def kinds(self) -> list[str]:
        return [e.type for e in self.events]

    def of(self, kind: str) -> list[dict[str, object]]:
        return [e.data for e in self.events if e.type == kind]

    def first(self, kind: str) -> int:
        return self.kinds().index(kind)


async def type_sentences(session: LiveSession, n: int, first: int = 0) -> None:
    """One snapshot per sentence, each time until the typing phase has settled."""
    for k in range(1, n + 1):
        session.set_text(typed(k, first))
        await session.settled()


async def test_notes_stop_when_they_no_longer_fit_and_enter_answers_without_them(small) -> None:
    session = LiveSession(small, CFG)
    log = Log(session)
    async with asyncio.timeout(LIMIT_S):
        await type_sentences(session, 6)
        paused = log.of("notes.paused")
        assert len(paused) == 1, "the notes never stopped, or stopped more than once"
        assert "context" in str(paused[0]["reason"]) and OVERFLOW.search(str(paused[0]["reason"]))
        at = log.first("notes.paused")
        assert "inference.started" not in log.kinds()[at:], "a note was tried after the pause"
        notes = [d["content"] for d in log.of("inference.done")]
        assert len(notes) >= 2
        assert not log.of("error")  # the plain text still fits: nothing failed
        answer = await session.commit()
    assert answer.text.strip() and 0 < answer.output.prompt_tokens < SLOT
    assert [a["content"] for a in answer.actions] == notes  # no earlier note lost
    # the plain layout: one user message (the whole text) and the reply, no note turns
    assert len(session.history) == 2 and typed(6).strip() in session.history[0]["content"]


async def test_text_past_the_context_fails_clearly_keeps_the_text_then_recovers(small) -> None:
    session = LiveSession(small, CFG)
    log = Log(session)
    async with asyncio.timeout(LIMIT_S):
        session.set_text(typed(30))
        await session.settled()
        assert len(log.of("notes.paused")) == 1
        errors = log.of("error")
        assert [(e["code"], e["stage"]) for e in errors] == [("context_overflow", "prewarm")]
        assert OVERFLOW.search(str(errors[0]["message"]))
        assert "prewarm.done" not in log.kinds()  # no prefill succeeded: none says so
        calls = len(log.of("inference.started")) + len(log.of("prewarm.started"))
        session.set_text(typed(32))  # typing on: no call is tried again, nothing spins
        await session.settled()
        assert len(log.of("inference.started")) + len(log.of("prewarm.started")) == calls
        assert len(log.of("error")) == 1
        with pytest.raises(SessionError) as info:
            await session.commit()
        assert info.value.code == "context_overflow" and OVERFLOW.search(str(info.value))
        assert session.text == typed(32) and session.history == []  # nothing lost or added
        output = [e for e in log.of("error") if e["stage"] == "output"]
        assert [e["code"] for e in output] == ["context_overflow"]
        assert not session.busy and "response.done" not in log.kinds()
        # the user shortens the text: notes resume, Enter answers
        session.set_text(typed(1))
        await session.settled()
        assert "notes.resumed" in log.kinds()
        answer = await session.commit()
    assert answer.text.strip()
    messages = " ".join(str(m["content"]) for m in session.history)
    assert SENTENCES[0] in messages and SENTENCES[1] not in messages


async def test_enter_on_a_pasted_text_too_long_says_so_once(small) -> None:
    session = LiveSession(small, CFG)
    log = Log(session)
    async with asyncio.timeout(LIMIT_S):
        session.set_text(typed(30))  # pasted, Enter at once: found at Enter
        with pytest.raises(SessionError) as info:
            await session.commit()
        await session.settled()  # after the failure: no prefill that would fail again
    assert info.value.code == "context_overflow" and session.text == typed(30)
    assert [(e["code"], e["stage"]) for e in log.of("error")] == [("context_overflow", "output")]
    assert len(log.of("notes.paused")) == 1 and "prewarm.started" not in log.kinds()


async def test_enter_drops_the_notes_when_only_the_answer_overflows(small, llama_backend) -> None:
    # notes written on a 2048-token slot, the answer on a 256-token one (collaborative)
    session = LiveSession(llama_backend, CFG, output_backend=small)
    log = Log(session)
    async with asyncio.timeout(LIMIT_S):
        await type_sentences(session, 4)
        assert "notes.paused" not in log.kinds()
        notes = [d["content"] for d in log.of("inference.done")]
        answer = await session.commit()
    assert log.first("response.created") < log.first("notes.paused")  # found at Enter
    assert OVERFLOW.search(str(log.of("notes.paused")[0]["reason"]))
    assert not log.of("error") and log.kinds().count("response.created") == 1
    assert answer.text.strip() and [a["content"] for a in answer.actions] == notes
    assert len(notes) >= 3 and len(session.history) == 2


async def test_history_goes_first_then_the_notes(small) -> None:
    session = LiveSession(small, CFG)
    log = Log(session)
    async with asyncio.timeout(LIMIT_S):
        session.set_text("What is the capital of France? ")
        await session.settled()
        await session.commit()
        await type_sentences(session, 5)
        trimmed = log.of("history.trimmed")
        assert len(trimmed) == 1 and trimmed[0]["turns_left"] == 0
        assert log.first("history.trimmed") < log.first("notes.paused")
        answer = await session.commit()
    assert answer.text.strip() and not log.of("error")
    messages = " ".join(str(m["content"]) for m in session.history)
    assert "France" not in messages and typed(5).strip() in messages


async def test_the_answer_trims_history_for_a_long_current_turn(small) -> None:
    # no typing-phase calls (no notes, no prewarm): the overflow is found at Enter
    cfg = replace(CFG, notes="auto", answer_mode="reason", prewarm=False)
    session = LiveSession(small, cfg)
    log = Log(session)
    async with asyncio.timeout(LIMIT_S):
        session.set_text(typed(5))
        await session.commit()
        assert len(session.history) == 2
        session.set_text(typed(6, first=20))
        answer = await session.commit()
    assert [d["stage"] for d in log.of("history.trimmed")] == ["output"]
    assert answer.text.strip() and not log.of("error")
    assert log.kinds().count("response.created") == 2  # one per turn, the retry included
    messages = " ".join(str(m["content"]) for m in session.history)
    assert SENTENCES[0] not in messages and typed(6, first=20).strip() in messages


def events_until(ws: ClientConnection, done: Callable[[dict[str, object]], bool]) -> list[dict]:
    """The events received up to and including the first that ``done`` accepts."""
    seen: list[dict] = []
    while not seen or not done(seen[-1]):
        seen.append(json.loads(ws.recv(timeout=LIMIT_S)))
    return seen


def error_at(stage: str) -> Callable[[dict[str, object]], bool]:
    return lambda e: e["type"] == "error" and e.get("stage") == stage


def test_over_the_websocket(serve: Callable[..., contextlib.AbstractContextManager[str]]) -> None:
    flags = ["--ctx", str(2 * SLOT), "--max-tokens", "12", "--notes", "free"]
    with (
        serve(*flags, "--answer-mode", "short") as url,
        connect(url.replace("http", "ws", 1) + "/v1/live") as ws,
    ):
        events_until(ws, lambda e: e["type"] == "session.created")
        ws.send(json.dumps({"type": "input_text.set", "text": typed(30)}))
        typing = events_until(ws, error_at("prewarm"))  # the text no longer fits: said once
        assert [e["type"] for e in typing].count("notes.paused") == 1
        assert typing[-1]["code"] == "context_overflow"
        for _ in range(2):  # Enter fails clearly, twice: the text stayed on the server
            ws.send(json.dumps({"type": "input_text.commit"}))
            failed = events_until(ws, error_at("output"))
            assert failed[-1]["code"] == "context_overflow"
            assert OVERFLOW.search(str(failed[-1]["message"]))
            assert "response.done" not in [e["type"] for e in failed]
        # the connection stays usable: a shorter text is answered
        ws.send(json.dumps({"type": "input_text.set", "text": typed(1)}))
        ws.send(json.dumps({"type": "input_text.commit"}))
        answered = events_until(ws, lambda e: e["type"] == "response.done")
        kinds = [e["type"] for e in answered]
        assert "error" not in kinds and "notes.resumed" in kinds  # no duplicate error either
        assert str(answered[-1]["text"]).strip()
