"""Collaborative mode's scheduling with the scripted test double: candidate notes, the
final look at a complete question, the output model's prewarm (cache effects with real
engines: test_collaborative.py)."""

from __future__ import annotations

import asyncio

import pytest

from livemind.backends.base import Request, Stage
from livemind.config import SessionConfig
from livemind.events import Event, EventName
from livemind.session import LiveSession
from scripted_backend import ScriptedBackend

pytestmark = pytest.mark.looptime

QUESTION = "Tom grows apples in his garden. Which fruit does Tom grow?\n(A) pears\n(B) apples"
CANDIDATE = "INFERENCE: answer: (B), because he grows apples"


def reader_script(request: Request) -> str:
    return CANDIDATE if request.stage == Stage.INFERENCE else "unused"


def make(**cfg: object) -> tuple[LiveSession, ScriptedBackend, ScriptedBackend, list[Event]]:
    reader = ScriptedBackend(reader_script, delay=0.05, prewarm=True, prewarm_delay=0.05)
    small = ScriptedBackend(["The answer is (B)."], model="small", prewarm=True)
    settings = {"min_len": 3, "notes": "candidate", "prewarm": True, "prewarm_min_chars": 8}
    live = LiveSession(reader, SessionConfig(**{**settings, **cfg}), output_backend=small)
    events: list[Event] = []
    live.on(events.append)
    return live, reader, small, events


async def type_settling(live: LiveSession, text: str) -> None:
    for i in range(1, len(text) + 1):
        live.set_text(text[:i])
        await live.settled()


async def test_the_note_writer_states_its_answer_before_enter_and_the_small_model_sees_it() -> None:
    live, reader, small, events = make()
    await type_settling(live, QUESTION)
    final_look = [e for e in events if e.type == EventName.INFERENCE_STARTED][-1]
    assert final_look.data["segments"][-1] == "\n(B) apples"
    answer = await live.commit()
    assert answer.text == "The answer is (B)."
    sent = small.requests[-1].messages
    assert any("answer: (B)" in m["content"] for m in sent if m["role"] == "assistant")
    assert "give that same answer" in sent[-1]["content"]
    # the small model's cache was filled while typed, with the transcript as it grew
    assert len(small.prewarm_requests) >= 3
    assert all(r.stage == Stage.PREWARM for r in small.prewarm_requests)
    await live.aclose()


async def test_each_key_of_the_last_option_drops_the_look_at_the_shorter_one() -> None:
    live, reader, small, events = make()
    await type_settling(live, QUESTION)
    looks = [
        e.data["segments"][-1]
        for e in events
        if e.type == EventName.INFERENCE_STARTED and "(B)" in e.data["segments"][-1]
    ]
    assert looks[-1] == "\n(B) apples"
    done = [e for e in events if e.type == EventName.INFERENCE_DONE]
    assert done[-1].data["segments"][-1] == "\n(B) apples"  # the note kept is on the whole line
    assert any(e.type == EventName.MEMORY_INVALIDATED for e in events)  # shorter looks dropped
    answer = await live.commit()
    assert [a["segments"][-1] for a in answer.actions].count("\n(B) apples") == 1
    await live.aclose()


async def test_output_prewarm_waits_for_notes_and_enter_cancels_it() -> None:
    live, reader, small, events = make()
    small.prewarm_delay = 5.0
    live.set_text("Tom grows apples in his garden. He sells them at")
    await asyncio.sleep(1.0)  # the note and the reader's prewarm are done; the small one runs
    kinds = [
        (e.type, e.data.get("target"))
        for e in events
        if e.type in (EventName.INFERENCE_DONE, EventName.PREWARM_STARTED)
    ]
    assert kinds.index((EventName.INFERENCE_DONE, None)) < kinds.index(
        (EventName.PREWARM_STARTED, "output")
    )
    assert live.busy
    await live.commit()
    assert any(
        e.type == EventName.PREWARM_CANCELLED and e.data.get("target") == "output" for e in events
    )
    await live.aclose()


async def test_one_model_for_both_stages_gets_no_second_prewarm() -> None:
    reader = ScriptedBackend(reader_script, prewarm=True)
    live = LiveSession(reader, SessionConfig(min_len=3, notes="candidate", prewarm=True))
    events: list[Event] = []
    live.on(events.append)
    await type_settling(live, QUESTION)
    assert any(e.type == EventName.PREWARM_DONE for e in events)
    assert not any(e.data.get("target") == "output" for e in events)
    await live.aclose()


async def test_at_enter_a_final_look_runs_until_it_has_stated_its_answer() -> None:
    live, reader, small, events = make(commit_policy="keep")
    live.set_text(QUESTION)  # the options arrive at once: a final look starts
    await asyncio.sleep(0.01)
    answer = await live.commit()
    kept = answer.actions[-1]
    assert kept.get("partial") and kept["content"].startswith("answer: (B)")
    assert "because" not in kept["content"]  # cut once the answer was out
    assert any("answer: (B)" in m["content"] for m in small.requests[-1].messages)
    await live.aclose()


async def test_at_enter_a_final_look_that_states_no_answer_is_cut_at_once() -> None:
    live, reader, small, events = make(commit_policy="keep")
    reader._script = lambda r: "INFERENCE: Tom grows apples in a garden of his own, not pears"
    live.set_text(QUESTION)
    await asyncio.sleep(0.01)
    t0 = live.clock.now()
    answer = await live.commit()
    assert answer.wait_s < 0.2 and live.clock.now() - t0 < 0.5  # not the whole note (~0.6 s)
    await live.aclose()


@pytest.mark.parametrize("mode", ["livemind", "baseline"])
async def test_an_answer_that_starts_with_the_note_label_is_shown_without_it(mode: str) -> None:
    """Small models often copy the label of the notes they were shown; livemind answers
    drop it from the stream and the stored answer alike (the baseline saw no notes)."""
    live, reader, small, events = make(mode=mode)
    small._script = ["INFERENCE: answer: (B), because he grows apples"]
    await type_settling(live, QUESTION)
    answer = await live.commit()
    streamed = "".join(
        e.data["delta"] for e in events if e.type == EventName.RESPONSE_OUTPUT_TEXT_DELTA
    )
    shown = "answer: (B), because he grows apples"
    expected = shown if mode == "livemind" else "INFERENCE: " + shown
    assert answer.text == streamed == expected
    assert live.history[-1]["content"] == expected  # the next turn sees what was shown
    await live.aclose()


async def test_a_numeric_stem_gets_its_note_when_the_options_arrive_in_collaborative_mode() -> None:
    # notes="auto": the stem reads as a word problem (no notes, plain prefills); when its
    # options arrive the note writer reads it, as the answer runs on another engine whose
    # cache that note call does not touch (one engine for both stays plain instead)
    live, reader, small, events = make(notes="auto")
    stem = "In 1850 the town had 20 mills. By 1900 it had 45 of them. Which best explains it?"
    await type_settling(live, stem)
    assert not [r for r in reader.requests if r.stage == Stage.INFERENCE]
    assert not live.turn.prefilled_plain  # the answering model shares no cache with the notes
    await type_settling(live, stem + "\n(A) rail\n(B) war")
    assert [r for r in reader.requests if r.stage == Stage.INFERENCE]
    await live.aclose()
