"""The typing simulator's clocks, with the scripted test double."""

import time

import pytest

from livemind.backends.scripted import ScriptedBackend
from livemind.config import SessionConfig
from livemind.eval.typing import type_and_commit
from livemind.session import LiveSession

TEXT = "Ann has two cats. Bob has three dogs. How many pets in all?"


def scripted(delay: float) -> ScriptedBackend:
    return ScriptedBackend(
        lambda r: "INFERENCE: a b c" if "still typing" in r.messages[-1]["content"] else "Five.",
        delay=delay,
    )


async def test_fast_mode_uses_a_virtual_clock() -> None:
    session = LiveSession(scripted(0.0), SessionConfig(min_len=3))
    start = time.perf_counter()
    typed = await type_and_commit(session, TEXT, cpm=60, fast=True)  # 1 char/s virtual
    assert time.perf_counter() - start < 5  # nobody waited ~60 s of typing
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
    start = time.perf_counter()
    typed = await type_and_commit(session, "One two. Three four.", cpm=12000, on_text=seen.append)
    assert time.perf_counter() - start >= 19 * 60 / 12000
    assert seen[-1] == "One two. Three four"  # every keystroke was shown
    assert typed.answer.text == "Five."


async def test_bad_speed() -> None:
    session = LiveSession(scripted(0.0))
    with pytest.raises(ValueError, match="cpm"):
        await type_and_commit(session, TEXT, cpm=0)
