"""The typing simulator's clocks, with the scripted test double."""

import asyncio

import pytest

from livemind.config import SessionConfig
from livemind.session import LiveSession
from livemind.typist import type_and_commit
from scripted_backend import ScriptedBackend, is_inference_request

# Scripted delays run on the loop's virtual time (looptime): no wall time, no races.
pytestmark = pytest.mark.looptime

TEXT = "Ann has two cats. Bob has three dogs. How many pets in all?"


def scripted(delay: float) -> ScriptedBackend:
    return ScriptedBackend(
        lambda r: "INFERENCE: a b c" if is_inference_request(r) else "Five.",
        delay=delay,
    )


async def test_fast_mode_uses_a_virtual_clock() -> None:
    session = LiveSession(scripted(0.0), SessionConfig(min_len=3))
    start = asyncio.get_running_loop().time()
    typed = await type_and_commit(session, TEXT, cpm=60, fast=True)  # 1 char/s virtual
    assert asyncio.get_running_loop().time() - start < 5  # nobody waited ~60 s of typing
    assert typed.typing_s == pytest.approx(len(TEXT))
    assert typed.answer.text == "Five."
    assert len(typed.answer.calls) == 2
    assert typed.overhead_s < 0.05  # calls were far faster than the typing


async def test_slow_calls_cause_overhead_and_batching() -> None:
    # Each word takes 0.05 s, so an inference call (4 words) takes ~0.2 s while the
    # virtual typist types a character every 0.01 s: calls lag behind and batch segments.
    session = LiveSession(scripted(0.05), SessionConfig(granularity="word", min_len=1))
    typed = await type_and_commit(session, TEXT, cpm=6000, fast=True)
    calls = typed.answer.calls
    words = len(TEXT.split())
    assert 1 <= len(calls) < words - 1
    assert any(len(a["segments"]) > 1 for a in typed.answer.actions)
    assert typed.latency_s >= typed.overhead_s > 0
    assert typed.ttft_s is not None and typed.ttft_s <= typed.latency_s


async def test_real_time_typing() -> None:
    session = LiveSession(scripted(0.0), SessionConfig(min_len=3))
    seen: list[str] = []
    start = asyncio.get_running_loop().time()
    typed = await type_and_commit(session, "One two. Three four.", cpm=12000, on_text=seen.append)
    assert asyncio.get_running_loop().time() - start >= 19 * 60 / 12000
    assert seen[-1] == "One two. Three four"  # every keystroke was shown
    assert typed.answer.text == "Five."


async def test_bad_speed() -> None:
    session = LiveSession(scripted(0.0))
    with pytest.raises(ValueError, match="cpm"):
        await type_and_commit(session, TEXT, cpm=0)


def test_plan_is_seeded_and_ends_with_the_text() -> None:
    from livemind.typist import Typist

    text = "The quick brown fox jumps over the lazy dog. It was not amused at all."
    plain = Typist(cpm=600).plan(text)
    assert [t for _, t in plain] == [text[: i + 1] for i in range(len(text))]
    assert plain[-1][0] == pytest.approx(len(text) * 0.1)
    jittery = Typist(cpm=600, jitter=0.3, pause_rate=0.5, pause_s=2.0, seed=1).plan(text)
    assert jittery == Typist(cpm=600, jitter=0.3, pause_rate=0.5, pause_s=2.0, seed=1).plan(text)
    assert jittery != Typist(cpm=600, jitter=0.3, pause_rate=0.5, pause_s=2.0, seed=2).plan(text)
    assert jittery[-1][0] > plain[-1][0]  # pauses make it longer
    times = [t for t, _ in jittery]
    assert times == sorted(times)


def test_typo_is_made_then_fixed_with_backspaces() -> None:
    from livemind.typist import Typist

    text = "Alice bought seven apples and ate two of them."
    keys = Typist(typo=True, seed=3).plan(text)
    texts = [t for _, t in keys]
    assert texts[-1] == text
    assert any(not text.startswith(t) for t in texts)  # a wrong key was on screen
    shrinks = sum(1 for a, b in zip(texts, texts[1:], strict=False) if len(b) < len(a))
    assert 3 <= shrinks <= 6  # backspaced over the typo and the keys after it
    assert len(keys) == len(text) + 2 * shrinks


async def test_typo_while_typing_never_reaches_the_answer_prompt() -> None:
    from livemind.typist import Typist

    for seed in range(5):
        backend = scripted(0.0)
        session = LiveSession(backend, SessionConfig(min_len=3))
        await type_and_commit(session, TEXT, typist=Typist(typo=True, seed=seed), fast=True)
        final = backend.requests[-1].messages
        user_text = " ".join(m["content"].split("\n\n")[0] for m in final if m["role"] == "user")
        assert " ".join(user_text.split()) == TEXT  # the corrected text, nothing else


async def test_think_time_lets_a_speculative_answer_run_before_enter() -> None:
    # The answer takes ~0.3 s (6 words x 0.05 s); the typist pauses 1 s before Enter and
    # speculation starts 0.2 s after the last key: the answer is ready at Enter.
    backend = ScriptedBackend(
        lambda r: "INFERENCE: x" if is_inference_request(r) else "a b c d e f",
        delay=0.05,
    )
    cfg = SessionConfig(min_len=3, speculate=True, speculate_after_s=0.2)
    session = LiveSession(backend, cfg)
    start = asyncio.get_running_loop().time()
    typed = await type_and_commit(session, TEXT, cpm=60000, fast=True, think_s=1.0)
    assert typed.answer.speculative
    assert typed.latency_s < 0.05 and typed.answer.speculation_saved_s > 0.5
    # the session was idle once the answer was ready: the rest of the pause was skipped
    assert asyncio.get_running_loop().time() - start < 0.75
    assert typed.enter_s - typed.started_s == pytest.approx(typed.typing_s + 1.0)
    plain = LiveSession(backend, SessionConfig(min_len=3))
    typed = await type_and_commit(plain, TEXT, cpm=60000, fast=True, think_s=1.0)
    assert not typed.answer.speculative and typed.latency_s >= 0.25


def long_notes_reply(r) -> str:
    """30-word notes (~1.5 s at 0.05 s a word), a two-word answer."""
    if is_inference_request(r):
        return "INFERENCE: " + " ".join(["w"] * 30)
    return "a b"


@pytest.mark.parametrize("policy", ["wait", "cancel"])
async def test_enter_comes_on_time_even_while_a_call_runs(policy: str) -> None:
    # Each inference reply streams for ~1.5 s (30 words x 0.05 s); the typist pauses
    # 0.3 s: Enter must arrive while the last call still runs, and the commit policy
    # decides what that costs (waiting for it, or almost nothing when cancelled).
    backend = ScriptedBackend(long_notes_reply, delay=0.05)
    cfg = SessionConfig(min_len=3, commit_policy=policy, notes="free")  # notes on numbers
    session = LiveSession(backend, cfg)
    typed = await type_and_commit(
        session, TEXT, cpm=600, fast=True, think_s=0.3, instant_suffix="\n(A) 4 (B) 5"
    )  # the options make the question sentence stable: its call starts in the pause
    if policy == "wait":
        assert typed.overhead_s > 0.8 and typed.latency_s > 0.8
    else:
        assert typed.overhead_s < 0.3 and typed.latency_s < 0.5


@pytest.mark.parametrize("policy", ["wait", "cancel"])
async def test_virtual_pause_speculation_preempts_only_under_cancel(policy: str) -> None:
    # The question sentence's inference call (~1.5 s) starts in the 1 s pause. Under
    # "cancel" the speculative answer (0.1 s) takes its place 0.2 s into the pause and is
    # ready at Enter; under "wait" Enter waits for the call and the answer is not speculative.
    backend = ScriptedBackend(long_notes_reply, delay=0.05)
    cfg = SessionConfig(
        min_len=3, commit_policy=policy, speculate=True, speculate_after_s=0.2, notes="free"
    )
    session = LiveSession(backend, cfg)
    typed = await type_and_commit(
        session, TEXT, cpm=600, fast=True, think_s=1.0, instant_suffix="\n(A) 4 (B) 5"
    )
    if policy == "cancel":
        assert typed.answer.speculative and typed.latency_s < 0.05
    else:
        assert not typed.answer.speculative and typed.overhead_s > 0.3


async def test_the_last_key_time_splits_the_calls_sent_before_it() -> None:
    # The options arrive with the last key; the 1 s pause lets a call read them before
    # Enter. RecordingBackend's start times on the session's clock tell those calls apart.
    from livemind.clock import SessionClock
    from livemind.eval.unseen import RecordingBackend

    clock = SessionClock()
    log = RecordingBackend(scripted(0.01), clock.now)
    session = LiveSession(log, SessionConfig(min_len=3), clock=clock)
    typed = await type_and_commit(
        session, TEXT, cpm=600, fast=True, instant_suffix=" (A) 5 (B) 6", think_s=1.0
    )
    assert typed.last_key_s - typed.started_s == pytest.approx(typed.typing_s, abs=0.05)
    assert typed.last_key_s < typed.enter_s
    before = log.sent_before(typed.last_key_s)
    assert 0 < len(before) < len(log.sent)
    assert all("(A) 5" not in str(messages) for messages, _ in before)
    assert "(A) 5" in str(log.sent[-1][0])  # the answer read the options
    assert len(log.started) == len(log.sent)
