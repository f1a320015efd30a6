"""Session logic with the scripted test double (no model)."""

import asyncio

import pytest

from livemind.backends.base import BackendError, Request
from livemind.config import SessionConfig
from livemind.session import LiveSession, SessionError
from scripted_backend import ScriptedBackend, is_inference_request

# Scripted delays run on the loop's virtual time (looptime): no wall time, no races.
pytestmark = pytest.mark.looptime

TEXT = "Tom has three apples. He buys four more. Then he eats one of them. How many are left?"


def is_inference_call(request: Request) -> bool:
    return is_inference_request(request)


def script(request: Request) -> str:
    if is_inference_call(request):
        return "INFERENCE: noted " + request.messages[-1]["content"].split("\n")[0][:20]
    return "There are six apples left."


def make(delay: float = 0.0, **cfg) -> tuple[LiveSession, ScriptedBackend, list]:
    backend = ScriptedBackend(script, delay=delay)
    cfg = {"notes": "free", **cfg}  # the texts hold numbers: "auto" would write no notes
    session = LiveSession(backend, SessionConfig(min_len=3, **cfg))
    events: list = []
    session.on(events.append)
    return session, backend, events


async def type_text(session: LiveSession, text: str, settle: bool = True) -> None:
    for i in range(1, len(text) + 1):
        session.set_text(text[:i])
        if settle:
            await session.settled()


def types(events: list) -> list[str]:
    return [e.type for e in events]


async def test_inference_calls_while_typing_then_answer() -> None:
    session, backend, events = make()
    await type_text(session, TEXT)
    # Sentences 1-3 are stable while typing (the last one may still change).
    assert [e.data["index"] for e in events if e.type == "segment.committed"] == [0, 1, 2]
    assert len(session.turn.memory.inferences) == 3
    answer = await session.commit()
    assert answer.text == "There are six apples left."
    assert len(answer.calls) == 3 and len(answer.actions) == 3
    assert answer.latency_s >= answer.ttft_s >= 0
    output_prompt = "\n".join(m["content"] for m in backend.requests[-1].messages)
    assert "noted" in output_prompt and "How many are left?" in output_prompt
    assert types(events)[-1] == "response.done"
    assert "response.created" in types(events)


async def test_one_call_in_flight_batches_new_segments() -> None:
    session, backend, events = make(delay=0.02)
    await type_text(session, TEXT, settle=False)  # no waiting: all text arrives at once
    await session.settled()
    calls = [e for e in events if e.type == "inference.started"]
    assert len(calls) < 3  # later segments were merged into fewer calls
    assert calls[-1].data["end"] == 3
    assert any(len(c.data["segments"]) > 1 for c in calls)


async def test_edit_cancels_in_flight_call_and_drops_memory() -> None:
    session, backend, events = make(delay=0.05)
    first = "Tom has three apples. He buys four. "
    session.set_text(first + "Then")
    await asyncio.sleep(0.01)  # the call over the two sentences is running
    session.set_text("Tom has five apples. He buys four. Then")
    await session.settled()
    assert "inference.cancelled" in types(events)
    assert "memory.invalidated" in types(events)
    assert backend.cancelled >= 1
    done = [e for e in events if e.type == "inference.done"]
    assert all("three" not in "".join(e.data["segments"]) for e in done)
    assert [e.segments for e in session.turn.memory.entries][0][0].startswith("Tom has five")


async def test_edit_after_inference_invalidates_it() -> None:
    session, _, events = make()
    await type_text(session, "Alice is 30. Bob is 40. Who is")
    assert len(session.turn.memory.entries) == 2
    session.set_text("Alice is 31. Bob is 40. Who is")
    inv = [e for e in events if e.type == "memory.invalidated"]
    assert inv and inv[-1].data["from_index"] == 0
    await session.settled()
    assert session.turn.memory.entries[0].segments[0] == "Alice is 31."


async def test_multi_turn_history() -> None:
    session, backend, _ = make(format="ua-spi")  # history = the user's texts and answers
    await type_text(session, "Name a fruit. Short")
    await session.commit()
    assert session.text == "" and len(session.history) == 2
    await type_text(session, "And a vegetable? Short")
    await session.commit()
    last = backend.requests[-1].messages
    assert any(m["content"] == "Name a fruit. Short" for m in last)
    assert len(session.history) == 4


async def test_empty_commit() -> None:
    session, backend, events = make()
    session.set_text("   ")
    with pytest.raises(SessionError) as info:
        await session.commit()
    assert info.value.code == "empty_input"
    assert events[-1].type == "error" and events[-1].data["code"] == "empty_input"
    assert backend.requests == []


async def test_reply_that_is_not_an_action_is_kept_as_inference() -> None:
    backend = ScriptedBackend(["the apples add up to seven"])
    session = LiveSession(backend, SessionConfig(min_len=3))
    await type_text(session, "Tom has three apples. He buys four. How")
    entry = session.turn.memory.entries[0]
    assert entry.action.kind == "inference" and "seven" in entry.action.content


async def test_backend_failing_mid_inference_keeps_session_usable() -> None:
    replies = [BackendError("unreachable", "cannot reach the model"), "INFERENCE: ok", "Answer."]
    backend = ScriptedBackend(replies)
    session = LiveSession(backend, SessionConfig(min_len=3))
    events: list = []
    session.on(events.append)
    await type_text(session, "First part. Second part. Third part")
    errors = [e for e in events if e.type == "error"]
    assert errors and errors[0].data["code"] == "unreachable"
    assert (await session.commit()).text == "Answer."


async def test_output_failure_keeps_text_and_recovers() -> None:
    replies = ["INFERENCE: a", BackendError("server_error", "boom"), "Recovered."]
    backend = ScriptedBackend(replies)
    session = LiveSession(backend, SessionConfig(min_len=3))
    await type_text(session, "Alpha beta. Gamma delta")
    with pytest.raises(BackendError):
        await session.commit()
    assert session.text == "Alpha beta. Gamma delta"  # nothing lost
    session.append(" epsilon.")
    assert (await session.commit()).text == "Recovered."


async def test_collaborative_mode_uses_output_model() -> None:
    big = ScriptedBackend(script, model="big")
    small = ScriptedBackend(["Small answer."], model="small")
    session = LiveSession(big, SessionConfig(min_len=3), output_backend=small)
    await type_text(session, "One two three. Four five six. Seven")
    answer = await session.commit()
    assert answer.text == "Small answer." and answer.output.model == "small"
    assert all(is_inference_call(r) for r in big.requests)
    assert len(small.requests) == 1


@pytest.mark.parametrize("mode", ["baseline", "output-only"])
async def test_modes_without_inference_stage(mode: str) -> None:
    session, backend, _ = make(mode=mode)
    await type_text(session, TEXT)
    answer = await session.commit()
    assert answer.calls == [] and len(backend.requests) == 1
    prompt = backend.requests[0].messages[-1]["content"]
    assert TEXT in prompt
    assert ("step by step" in prompt) == (mode == "baseline")


async def test_cancel_answer() -> None:
    backend = ScriptedBackend(["word " * 50], delay=0.01)
    session = LiveSession(backend, SessionConfig(mode="baseline"))
    session.set_text("Tell me a story.")
    task = asyncio.create_task(session.commit())
    await asyncio.sleep(0.05)
    session.cancel()
    with pytest.raises(SessionError) as info:
        await task
    assert info.value.code == "cancelled"
    assert session.text == "Tell me a story."


async def test_commit_waits_for_in_flight_call_or_cancels_it() -> None:
    for policy, expect_done in (("wait", True), ("cancel", False)):
        session, backend, events = make(delay=0.03, commit_policy=policy)
        session.set_text("First sentence here. Second one")
        await asyncio.sleep(0.01)
        answer = await session.commit()
        assert ("inference.done" in types(events)) == expect_done
        assert answer.wait_s >= 0


def test_bad_config() -> None:
    with pytest.raises(ValueError, match="granularity"):
        SessionConfig(granularity="para").validated()


async def test_unreachable_http_backend_gives_error_events_and_keeps_text() -> None:
    import socket

    from livemind.backends.openai_http import OpenAIBackend

    with socket.socket() as sock:  # a port that nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = OpenAIBackend(f"http://127.0.0.1:{port}/v1", model="m", timeout=5)
    session = LiveSession(backend, SessionConfig(min_len=3))
    errors: list = []
    session.on(lambda e: e.type == "error" and errors.append(e.data))
    await type_text(session, "First part here. Second part")
    assert errors and errors[0]["code"] == "unreachable" and str(port) in errors[0]["message"]
    with pytest.raises(BackendError) as info:
        await session.commit()
    assert info.value.code == "unreachable"
    assert session.text == "First part here. Second part"
    await backend.aclose()


async def test_edit_before_in_flight_call_cancels_it() -> None:
    """An edit to earlier text invalidates the notes the running call was shown."""
    session, backend, events = make(delay=0.05)
    await type_text(session, "Alice is thirty. Bob is forty. Carl is")
    session.set_text("Alice is thirty. Bob is forty. Carl is fifty. Dan is")
    await asyncio.sleep(0.01)  # a call over the third sentence is running
    session.set_text("Alice is twenty. Bob is forty. Carl is fifty. Dan is")
    await session.settled()
    assert "inference.cancelled" in types(events)
    entries = session.turn.memory.entries
    assert entries[0].segments[0] == "Alice is twenty."
    assert [e.start for e in entries] == [0] + [e.end for e in entries[:-1]]  # contiguous
    assert entries[-1].end == 3


async def test_reset_during_answer_starts_clean() -> None:
    backend = ScriptedBackend(["word " * 50], delay=0.01)
    session = LiveSession(backend, SessionConfig(mode="baseline"))
    session.set_text("Tell me a story.")
    task = asyncio.create_task(session.commit())
    await asyncio.sleep(0.05)
    session.reset()
    with pytest.raises(SessionError):
        await task
    assert session.text == "" and session.history == []
    session.set_text("Next question.")  # usable again
    assert (await session.commit()).text.startswith("word")


async def test_an_unexpected_exception_in_a_typing_call_is_reported_once_not_retried() -> None:
    seen: list[Request] = []

    def flaky(request: Request) -> str:
        if not is_inference_call(request):
            return "Answer."
        seen.append(request)
        if len(seen) == 1:
            raise RuntimeError("engine bug")
        return "INFERENCE: ok"

    session = LiveSession(ScriptedBackend(flaky), SessionConfig(min_len=3, notes="free"))
    events: list = []
    session.on(events.append)
    session.set_text("First part. Second part. Third")
    await asyncio.wait_for(session.settled(), 5)  # no tight loop re-running the failed call
    errors = [e.data for e in events if e.type == "error"]
    assert [e["code"] for e in errors] == ["internal_error"]
    assert "engine bug" in errors[0]["message"] and errors[0]["stage"] == "inference"
    assert len(seen) == 1
    session.set_text("First part. Second part. Third part. Fourth")  # new text: tried again
    await asyncio.wait_for(session.settled(), 5)
    assert len(seen) == 2
    assert (await session.commit()).text == "Answer."


async def test_history_that_no_longer_fits_is_trimmed_oldest_first() -> None:
    def small_context(request: Request) -> str:
        if sum(len(m["content"]) for m in request.messages) > 700:
            raise BackendError("context_overflow", "prompt too long for the context")
        return "INFERENCE: ok" if is_inference_call(request) else "Answer " + "x" * 60

    session = LiveSession(ScriptedBackend(small_context), SessionConfig(min_len=3, notes="free"))
    events: list = []
    session.on(events.append)
    for turn in range(6):
        await type_text(session, f"Question {turn} is here. Tell me more about it now.")
        assert (await session.commit()).text.startswith("Answer")
    trimmed = [e.data for e in events if e.type == "history.trimmed"]
    assert trimmed, "the history grew past the context without being trimmed"
    assert not [e for e in events if e.type == "error"]
    assert len(session.history) < 2 * 6
    assert types(events).count("response.created") == 6  # one per answer, retries included


async def test_text_prepared_ahead_gives_what_set_text_gives() -> None:
    edits = [TEXT[:30], TEXT[:55], "X" + TEXT[1:55], "X" + TEXT[1:], TEXT]
    direct, _, direct_events = make()
    ahead, _, ahead_events = make()
    for text in edits:
        direct.set_text(text)
        assert ahead.apply_prepared(await ahead.prepare_text(text))
        assert ahead.segmenter.segments == direct.segmenter.segments
        assert ahead.text == direct.text == text
    kinds = ("segment.committed", "memory.invalidated")
    assert [e for e in ahead_events if e.type in kinds] == [
        e for e in direct_events if e.type in kinds
    ]
    stale = await ahead.prepare_text(TEXT + " More.")
    ahead.reset()  # the turn moved on: the prepared text no longer applies
    assert not ahead.apply_prepared(stale) and ahead.text == ""
    stale = await ahead.prepare_text(TEXT)
    ahead.set_text(TEXT[:20])  # another text arrived meanwhile
    assert not ahead.apply_prepared(stale) and ahead.text == TEXT[:20]
    await direct.aclose()
    await ahead.aclose()
