"""Prewarm, speculation and the aligned format in the session, with the scripted test
double (no model: these check the scheduling logic; the cache effects are checked with a
real model in test_cache_alignment.py)."""

import asyncio

import pytest

from livemind.answering import looks_complete, prewarm_cut
from livemind.backends.base import Request
from livemind.config import SessionConfig
from livemind.formats import TYPING_MARK, aligned_output_instruction
from livemind.session import LiveSession
from scripted_backend import ScriptedBackend, is_inference_request

# Scripted delays run on the loop's virtual time (looptime): no wall time, no races.
pytestmark = pytest.mark.looptime

TEXT = "Tom has three apples. He buys four more. Then he eats one of them. How many are left?"
QUESTION = "Which planet is known as the red planet?\nA. Venus\nB. Mars"


is_inference = is_inference_request


def script(request: Request) -> str:
    return "INFERENCE: noted" if is_inference(request) else "The answer is (B)."


def make(**cfg) -> tuple[LiveSession, ScriptedBackend, list]:
    delay = cfg.pop("delay", 0.0)
    backend = ScriptedBackend(script, delay=delay, prewarm=True, prewarm_delay=delay)
    session = LiveSession(backend, SessionConfig(min_len=3, **cfg))
    events: list = []
    session.on(events.append)
    return session, backend, events


async def type_text(session: LiveSession, text: str) -> None:
    for i in range(1, len(text) + 1):
        session.set_text(text[:i])
        await session.settled()


def test_prewarm_cut_is_before_whitespace_and_spaced() -> None:
    assert prewarm_cut("The quick brown fox", 0, 5) == len("The quick brown")
    assert prewarm_cut("The quick brown fox ", 0, 5) == len("The quick brown fox")
    assert prewarm_cut("The quick brown fox", 12, 5) is None  # only 3 new characters
    assert prewarm_cut("Nospace", 0, 1) is None


def test_looks_complete() -> None:
    assert looks_complete("How many are left?")
    assert looks_complete(QUESTION)
    assert looks_complete("Compute 2+2.")
    assert not looks_complete("How many are")
    assert not looks_complete("   ")


async def test_livemind_prewarms_the_unfinished_sentence() -> None:
    session, backend, _ = make(prewarm=True, prewarm_min_chars=8)
    await type_text(session, "Tom has three apples and a very long sentence keeps")
    assert backend.prewarm_requests, "no prefill-only call while the sentence was typed"
    texts = [r.messages[-1]["content"] for r in backend.prewarm_requests]
    assert all("Tom has three apples and a very long sentence keeps".startswith(t) for t in texts)
    assert texts == sorted(texts, key=len) and len(set(texts)) == len(texts)
    assert not backend.requests  # no stable segment yet: no inference call


async def test_prewarm_never_runs_ahead_of_a_due_inference_call() -> None:
    session, backend, events = make(prewarm=True, prewarm_min_chars=4, delay=0.01)
    for i in range(1, len(TEXT) + 1):
        session.set_text(TEXT[:i])
        await asyncio.sleep(0)
    await session.settled()
    # every stable segment was read by an inference call despite the prewarm traffic
    assert session.turn.memory.seen_upto == len(session.segmenter.segments) == 3
    answer = await session.commit()
    assert answer.prewarms and all(not r.cancelled or r.wall_s >= 0 for r in answer.prewarms)
    assert answer.busy_s >= sum(r.wall_s for r in answer.prewarms)


async def test_baseline_prewarm_uses_the_answer_prompt() -> None:
    session, backend, _ = make(mode="baseline", prewarm=True, prewarm_min_chars=10)
    await type_text(session, TEXT)
    assert backend.prewarm_requests
    last = backend.prewarm_requests[-1].messages[-1]["content"]
    assert TEXT.startswith(last.split("\n\n")[0])
    await session.commit()


async def test_aligned_keeps_waits_and_history_transcript() -> None:
    replies = iter(["WAIT", "INFERENCE: 3 + 4 = 7", "INFERENCE: 7 - 1 = 6"])

    def aligned_script(request: Request) -> str:
        return next(replies, "INFERENCE: x") if is_inference(request) else "6 apples."

    backend = ScriptedBackend(aligned_script)
    session = LiveSession(backend, SessionConfig(format="aligned", min_len=3))
    await type_text(session, TEXT)
    inference = [r for r in backend.requests if is_inference(r)]
    assert [r.messages[-1]["content"] for r in inference] == [
        f"Tom has three apples.\n\n{TYPING_MARK}",
        f"He buys four more.\n\n{TYPING_MARK}",
        f"Then he eats one of them.\n\n{TYPING_MARK}",
    ]
    assert inference[1].messages[2] == {"role": "assistant", "content": "WAIT"}
    await session.commit()
    final = backend.requests[-1].messages
    assert final[-1]["content"] == f"How many are left?\n\n{aligned_output_instruction()}"
    assert final[: len(inference[-1].messages)] == inference[-1].messages
    # the next turn extends the whole transcript of this one
    assert session.history == [*final[1:], {"role": "assistant", "content": "6 apples."}]


async def test_speculation_is_adopted_when_the_text_is_unchanged() -> None:
    session, backend, events = make(speculate=True, speculate_after_s=0.05, delay=0.02)
    await type_text(session, QUESTION)
    await asyncio.sleep(0.3)  # idle: the answer starts and finishes before Enter
    assert "speculation.started" in [e.type for e in events]
    outputs_before = len(backend.requests)
    answer = await session.commit()
    assert answer.speculative and answer.text == "The answer is (B)."
    assert len(backend.requests) == outputs_before  # no second output call
    assert answer.speculation_saved_s > 0 and answer.latency_s < 0.05
    deltas = "".join(e.data["delta"] for e in events if e.type == "response.output_text.delta")
    assert deltas == "The answer is (B)."  # held back until Enter, then released


async def test_speculation_is_discarded_when_the_text_changes() -> None:
    session, backend, events = make(
        speculate=True, speculate_after_s=60, delay=0.05
    )  # only explicit
    await type_text(session, QUESTION)
    assert session.speculate()
    session.set_text(QUESTION + "\nC. Jupiter")
    assert "speculation.discarded" in [e.type for e in events]
    answer = await session.commit()
    assert not answer.speculative and len(answer.wasted) == 1 and answer.wasted[0].cancelled
    assert "C. Jupiter" in backend.requests[-1].messages[-1]["content"]
    assert answer.busy_s >= answer.wasted[0].wall_s


async def test_no_speculation_on_text_that_looks_unfinished() -> None:
    session, backend, events = make(speculate=True, speculate_after_s=0.01)
    await type_text(session, "Which planet is known as")
    await asyncio.sleep(0.1)
    assert not session.speculate()
    assert "speculation.started" not in [e.type for e in events]


async def test_an_edit_before_the_prewarmed_text_cancels_the_prewarm() -> None:
    session, backend, _ = make(prewarm=True, prewarm_min_chars=8, delay=0.5)
    session.set_text("Tom has three apples and some")
    await asyncio.sleep(0.05)  # the prewarm of "Tom has three apples and" is in flight
    assert backend.prewarm_requests
    session.set_text("Tim has three apples and some")  # edited before the cut
    await session.settled()
    first = session.turn.prewarms[0]
    assert first.cancelled
    assert backend.prewarm_requests[-1].messages[-1]["content"].startswith("Tim")


async def test_speculation_preempts_a_running_call_under_commit_policy_cancel() -> None:
    session, backend, events = make(
        speculate=True, speculate_after_s=0.05, delay=0.4, commit_policy="cancel"
    )
    session.set_text(QUESTION)  # its first sentence gets an inference call (0.4 s)
    await asyncio.sleep(0.2)  # idle for 0.05 s, complete-looking: the call gives way
    kinds = [e.type for e in events]
    assert "inference.cancelled" in kinds and "speculation.started" in kinds
    assert kinds.index("inference.cancelled") < kinds.index("speculation.started")
    answer = await session.commit()
    assert answer.speculative and answer.text == "The answer is (B)."
    assert sum(is_inference(r) for r in backend.requests) == 1  # not started again


async def test_speculation_after_preemption_is_dropped_and_inference_resumes_on_edit() -> None:
    session, backend, events = make(
        speculate=True, speculate_after_s=0.05, delay=0.3, commit_policy="cancel"
    )
    session.set_text(QUESTION)
    await asyncio.sleep(0.15)
    assert "speculation.started" in [e.type for e in events]
    session.set_text(QUESTION + "\nC. Jupiter")
    await session.settled()  # the typing phase is back: the sentence gets its call again
    assert sum(is_inference(r) for r in backend.requests) == 2
    assert "speculation.discarded" in [e.type for e in events]


async def test_speculation_waits_for_a_running_call_under_commit_policy_wait() -> None:
    session, backend, events = make(speculate=True, speculate_after_s=0.05, delay=0.3)
    session.set_text(QUESTION)
    await asyncio.sleep(0.15)
    kinds = [e.type for e in events]
    assert "inference.cancelled" not in kinds and "speculation.started" not in kinds
    await session.settled()
    await asyncio.sleep(0.01)  # the calls are done: now the answer starts
    assert "speculation.started" in [e.type for e in events]
    assert session.turn.memory.entries


async def test_a_numeric_stem_prefilled_plain_is_answered_plain_when_its_options_arrive() -> None:
    # notes="auto" reads "In 1850 ... 45." as a word problem: no notes, the plain layout
    # is prefilled; the options then make it multiple choice, and the answer must stay
    # in the layout the cache holds (else it re-reads the whole text at Enter)
    session, backend, events = make(prewarm=True, prewarm_min_chars=8, notes="auto")
    stem = "In 1850 the town had 20 mills. By 1900 it had 45 of them. Which best explains it?"
    await type_text(session, stem)
    await session.settled()
    assert backend.prewarm_requests and not backend.requests  # prefilled, no notes
    warmed = backend.prewarm_requests[-1].messages
    session.set_text(stem + "\n(A) rail\n(B) war\n(C) famine")
    await session.commit()
    sent = backend.requests[-1].messages
    assert sent[0] == warmed[0]  # the same system prompt
    assert sent[1]["content"].startswith(warmed[1]["content"])
    await session.aclose()


async def test_no_note_call_reads_the_options_of_a_stem_prefilled_plain() -> None:
    # with calls that take time, the options arrive while the plain layout is cached: a
    # note call would re-read the whole text in the notes layout (a prefill Enter cannot
    # stop: 33 s on a 26-sentence stem), so none runs and the answer stays plain
    session, backend, events = make(prewarm=True, prewarm_min_chars=8, notes="auto", delay=0.2)
    stem = "In 1850 the town had 20 mills. By 1900 it had 45 of them. Which best explains it?"
    await type_text(session, stem)
    assert session.turn.prefilled_plain
    session.set_text(stem + "\n(A) rail\n(B) war\n(C) famine")
    await asyncio.sleep(1.0)
    await session.settled()
    assert not [r for r in backend.requests if is_inference(r)]
    warmed = backend.prewarm_requests[-1].messages
    assert "(B) war" in warmed[1]["content"]  # the options were prefilled, plain
    await session.commit()
    sent = backend.requests[-1].messages
    assert sent[1]["content"].startswith(warmed[1]["content"])
    assert sent[1]["content"].endswith(session.config.answer_instruction or "it out.")
    await session.aclose()


async def test_notes_written_after_a_plain_prefill_put_the_answer_in_the_notes_layout() -> None:
    # two numbers in the first sentence read as a word problem (plain prefill); the
    # sentences after carry none, so the text stops reading as one and notes are written:
    # the cache then holds the notes layout, and the answer uses it
    session, backend, events = make(prewarm=True, prewarm_min_chars=8, notes="auto", delay=0.2)
    first = "The town had 20 mills in 1850."
    await type_text(session, first + " It was")
    assert session.turn.prefilled_plain and not session.turn.memory.entries
    stem = first + " It was a quiet place. People liked it. Trade grew by the river. Why?"
    await type_text(session, stem)
    await session.settled()
    assert session.turn.memory.entries and not session.turn.prefilled_plain
    session.set_text(stem + "\n(A) rail\n(B) war\n(C) famine")
    await session.commit()
    inference = [r for r in backend.requests if is_inference(r)]
    sent = backend.requests[-1].messages
    assert sent[0] == inference[-1].messages[0]  # the notes layout's system prompt
    await session.aclose()
