"""The keystroke-level terminal chat: the status logic (pure), then the real app with
smollm2-135m, fed key by key through prompt_toolkit's pipe input. The test through a real
terminal (tmux) is in test_chat_terminal.py."""

from __future__ import annotations

import asyncio
import io

import pytest

from livemind.chat_status import ChatStatus
from livemind.config import SessionConfig
from livemind.events import Event
from livemind.session import LiveSession

TEXT = (
    "The old lighthouse stands on a rocky island. Its keeper climbs the stairs every "
    "evening. Why would a lighthouse need a keeper today?"
)
CFG = SessionConfig(min_len=3, inference_max_tokens=24, answer_max_tokens=24)


def test_status_counts_segments_notes_and_shows_the_running_note() -> None:
    status = ChatStatus()
    assert status.line() == "read 0 segments · 0 notes"
    status(Event("segment.committed", {"index": 0, "text": "A."}))
    status(Event("inference.started", {"call_id": 1}))
    status(Event("inference.delta", {"call_id": 1, "delta": "the keeper "}))
    status(Event("inference.delta", {"call_id": 1, "delta": "lights the lamp"}))
    assert status.line() == "read 1 segment · 0 notes · thinking ▸ the keeper lights the lamp"
    status(Event("inference.done", {"action": "inference", "content": "keeper\nlights it"}))
    assert status.line() == "read 1 segment · 1 note"
    assert status.take_log() == [("note", "keeper lights it")] and status.take_log() == []
    status(Event("segment.committed", {"index": 1, "text": "B."}))
    status(Event("segment.committed", {"index": 2, "text": "C."}))
    status(Event("memory.invalidated", {"from_index": 1}))  # an edit in the second one
    assert status.line().startswith("read 1 segment ·")
    status(Event("inference.started", {"call_id": 2}))
    status(Event("inference.delta", {"call_id": 2, "delta": "x" * 100}))
    assert status.line().endswith("thinking ▸ …" + "x" * 60)
    status(Event("inference.cancelled", {"call_id": 2}))
    assert status.take_log() == [("dim", "the note being written was dropped: its text was edited")]
    status.entered = True
    status(Event("inference.cancelled", {"call_id": 3}))
    assert "cut short by Enter" in status.take_log()[0][1]
    status(Event("inference.done", {"action": "wait", "content": ""}))  # a WAIT: no note
    status(Event("notes.paused", {"reason": "a word problem"}))
    assert status.line() == "read 1 segment · no notes (solved at Enter)"
    assert [kind for kind, _ in status.take_log()] == ["dim"]
    status(Event("error", {"code": "backend_unavailable", "message": "down"}))
    assert status.take_log() == [("error", "error [backend_unavailable]: down")]
    status.new_turn()
    assert status.line() == "read 0 segments · 0 notes"


@pytest.mark.model
async def test_chat_reads_every_key_and_answers_on_enter(llama_backend) -> None:
    """Typed key by key into the real prompt_toolkit app: the session gets a snapshot per
    key, notes come before Enter, a backspace edits, Enter answers, Ctrl-D leaves."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from livemind.chat_tui import LiveChat

    await llama_backend.reset_cache()
    session = LiveSession(llama_backend, CFG)
    events: list[Event] = []
    session.on(events.append)
    snapshots: list[str] = []
    original = session.set_text

    def spy(text: str) -> None:
        snapshots.append(text)
        original(text)

    session.set_text = spy  # type: ignore[method-assign]
    out = io.StringIO()
    with create_pipe_input() as pipe:
        chat = LiveChat(session, pt_input=pipe, pt_output=DummyOutput(), out=out, color=False)
        run = asyncio.ensure_future(chat.run())
        typed = TEXT[:40] + "Q\x7f" + TEXT[40:]  # a typo, fixed with backspace
        for ch in typed:
            pipe.send_text(ch)
            await asyncio.sleep(0.01)
        for _ in range(600):  # let the model read the last sentence (at most ~60 s)
            if not session.busy:
                break
            await asyncio.sleep(0.1)
        before_enter = [e.type for e in events]
        pipe.send_text("\r")
        for _ in range(1200):
            if any(e.type == "response.done" for e in events):
                break
            await asyncio.sleep(0.1)
        pipe.send_text("\x04")  # Ctrl-D on the empty input
        assert await asyncio.wait_for(run, 60) == 0
    await session.aclose()
    assert len(snapshots) >= len(typed) - 1  # one snapshot per key
    assert TEXT[:40] + "Q" in snapshots and snapshots[-1] == TEXT
    assert "inference.done" in before_enter and "response.created" not in before_enter
    text = out.getvalue()
    assert "note ▸ " in text.split("livemind ▸ ")[0]  # notes printed before the answer
    assert "livemind ▸ " in text and "(Enter → first token" in text
    done = next(e for e in events if e.type == "response.done")
    assert done.data["text"].strip() and done.data["text"].strip()[:20] in text


async def test_alt_enter_adds_a_line_and_enter_sends_both() -> None:
    """The documented keys, through the real prompt_toolkit app (scripted engine)."""
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from livemind.chat_tui import LiveChat
    from scripted_backend import ScriptedBackend

    backend = ScriptedBackend(lambda request: "WAIT")
    session = LiveSession(backend, SessionConfig(min_len=3, prewarm=False))
    out = io.StringIO()
    with create_pipe_input() as pipe:
        chat = LiveChat(session, pt_input=pipe, pt_output=DummyOutput(), out=out, color=False)
        run = asyncio.ensure_future(chat.run())
        for keys in ("First line.", "\x1b\r", "Second line?"):  # Esc+Enter = Alt-Enter
            pipe.send_text(keys)
        for _ in range(200):  # until the app has read the keys
            if session.text == "First line.\nSecond line?":
                break
            await asyncio.sleep(0.02)
        assert session.text == "First line.\nSecond line?"  # both lines
        assert "livemind ▸" not in out.getvalue()  # and not sent yet
        pipe.send_text("\r")
        for _ in range(100):
            if "(Enter → first token" in out.getvalue():
                break
            await asyncio.sleep(0.05)
        pipe.send_text("\x04")
        assert await asyncio.wait_for(run, 10) == 0
    await session.aclose()
    answer_prompt = " ".join(m["content"] for m in backend.requests[-1].messages)
    assert "First line." in answer_prompt and "Second line?" in answer_prompt
    assert "livemind ▸ WAIT" in out.getvalue()  # the answer was printed
