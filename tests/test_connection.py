"""LiveConnection's own logic with the scripted test double: snapshots that arrive
together are segmented once, appends and commits see the newest text."""

from __future__ import annotations

import asyncio

import pytest

from livemind.backends.base import Request
from livemind.config import SessionConfig
from livemind.server.hub import SessionHub
from livemind.server.protocol import ClientEvent
from scripted_backend import ScriptedBackend, is_inference_request

# Scripted delays run on the loop's virtual time (looptime): no wall time, no races.
pytestmark = pytest.mark.looptime


def reply(request: Request) -> str:
    return "INFERENCE: ok" if is_inference_request(request) else "Done."


async def test_a_burst_of_snapshots_is_segmented_once_and_nothing_is_lost() -> None:
    hub = SessionHub(ScriptedBackend(reply), defaults=SessionConfig(min_len=3))
    conn = hub.open()
    given: list[str] = []
    real = conn.session.set_text
    conn.session.set_text = lambda text: (given.append(text), real(text))[1]  # type: ignore[method-assign]
    text = "Mia reads twelve pages a day. Her book has 180 pages."
    for i in range(1, len(text) + 1):  # one message per key, all received at once
        await conn.handle(ClientEvent("input_text.set", text=text[:i], rev=i))
    await conn.handle(ClientEvent("input_text.append", text=" How long?"))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert given == [text + " How long?"]
    assert conn.session.text == text + " How long?"
    await hub.aclose()


async def test_a_commit_right_after_a_snapshot_answers_that_snapshot() -> None:
    backend = ScriptedBackend(reply)
    hub = SessionHub(backend, defaults=SessionConfig(min_len=3, mode="output-only"))
    conn = hub.open()
    await conn.handle(ClientEvent("input_text.set", text="What is two plus two?", rev=1))
    await conn.handle(ClientEvent("input_text.commit"))
    while conn.busy:
        await asyncio.sleep(0.01)
    answered = [r for r in backend.requests if not is_inference_request(r)]
    assert "What is two plus two?" in answered[-1].messages[-1]["content"]
    await hub.aclose()


def drain(conn) -> list[str]:  # type: ignore[no-untyped-def]
    kinds = []
    while not conn.outbox.empty():
        event = conn.outbox.get_nowait()
        if event is not None:
            kinds.append(event["type"])
    return kinds


async def test_a_cancel_in_the_same_read_as_the_commit_frees_the_session() -> None:
    """Enter and cancel handled back to back, before the answer task has run at all
    (two WebSocket messages in one read): the client hears response.cancelled and the
    next Enter is answered (found by benchmarks/soak.py: the session stayed busy)."""
    hub = SessionHub(ScriptedBackend(reply), defaults=SessionConfig(mode="output-only"))
    conn = hub.open()
    await conn.handle(ClientEvent("input_text.set", text="What is two plus two?", rev=1))
    await conn.handle(ClientEvent("input_text.commit"))
    await conn.handle(ClientEvent("response.cancel"))
    for _ in range(100):
        if not conn.busy:
            break
        await asyncio.sleep(0.01)
    assert not conn.busy
    kinds = drain(conn)
    assert kinds.count("response.cancelled") == 1 and "response.done" not in kinds
    await conn.handle(ClientEvent("input_text.commit"))
    for _ in range(300):
        if "response.done" in (kinds := kinds + drain(conn)):
            break
        await asyncio.sleep(0.01)
    assert "response.done" in kinds and "error" not in kinds
    await hub.aclose()


async def answered_text(backend: ScriptedBackend) -> str:
    answers = [r for r in backend.requests if not is_inference_request(r)]
    return str(answers[-1].messages[-1]["content"])


async def settle(conn) -> None:  # type: ignore[no-untyped-def]
    for _ in range(300):
        if not conn.busy:
            break
        await asyncio.sleep(0.01)
    for _ in range(3):  # the applier task
        await asyncio.sleep(0)


async def the_newer_text_is_kept_and_answered(conn, backend: ScriptedBackend) -> None:  # type: ignore[no-untyped-def]
    await settle(conn)
    assert conn.session.text == "And three plus three?"
    await conn.handle(ClientEvent("input_text.commit"))
    await settle(conn)
    assert "And three plus three?" in await answered_text(backend)


async def test_text_typed_during_the_answer_is_the_text_afterwards() -> None:
    backend = ScriptedBackend(reply, delay=0.02)
    hub = SessionHub(backend, defaults=SessionConfig(mode="output-only"))
    conn = hub.open()
    await conn.handle(ClientEvent("input_text.set", text="What is two plus two?", rev=1))
    await conn.handle(ClientEvent("input_text.commit"))
    await asyncio.sleep(0.01)  # the answer is being produced
    await conn.handle(ClientEvent("input_text.set", text="And three plus three?", rev=2))
    await the_newer_text_is_kept_and_answered(conn, backend)
    await hub.aclose()


async def test_an_enter_cancelled_at_once_keeps_the_newest_text() -> None:
    """Snapshot, Enter, newer snapshot, cancel, all in one read: the newer text stays
    (not the one before the Enter) and is what the next Enter answers."""
    backend = ScriptedBackend(reply)
    hub = SessionHub(backend, defaults=SessionConfig(mode="output-only"))
    conn = hub.open()
    await conn.handle(ClientEvent("input_text.set", text="What is two plus two?", rev=1))
    await conn.handle(ClientEvent("input_text.commit"))
    await conn.handle(ClientEvent("input_text.set", text="And three plus three?", rev=2))
    await conn.handle(ClientEvent("response.cancel"))
    await the_newer_text_is_kept_and_answered(conn, backend)
    await hub.aclose()
