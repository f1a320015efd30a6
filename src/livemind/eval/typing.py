"""Simulated typing into a :class:`~livemind.session.LiveSession`, then Enter.

Two clocks:
- real (``fast=False``): one character every ``60/cpm`` seconds of wall time while the
  session works concurrently, as a person at a keyboard;
- virtual (``fast=True``, the paper's protocol): characters arrive on a virtual clock;
  model calls take their real wall time and advance the clock by it, releasing the
  characters typed meanwhile at once. Nobody waits for the typing itself.

Latency is measured from the moment the whole input is available (the last character)
to the end of the answer; ``overhead_s`` is the part spent finishing an inference call
that was still running when the input ended.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from livemind.session import Answer, LiveSession

DEFAULT_CPM = 240.0


@dataclass(slots=True)
class TypedAnswer:
    answer: Answer
    latency_s: float  # end of input -> complete answer
    ttft_s: float | None  # end of input -> first answer token
    overhead_s: float  # in-flight inference work after the input ended
    typing_s: float  # how long the typing took (virtual or real)


async def type_and_commit(
    session: LiveSession,
    text: str,
    *,
    cpm: float = DEFAULT_CPM,
    fast: bool = False,
    instant_suffix: str = "",
    on_text: Callable[[str], None] | None = None,
) -> TypedAnswer:
    """Type ``text`` at ``cpm`` characters per minute, add ``instant_suffix`` at once
    with the last character (e.g. multiple-choice options), then commit.
    ``on_text`` sees each real-time keystroke's text (for a live display)."""
    if cpm <= 0:
        raise ValueError(f"cpm must be positive, got {cpm}")
    if not text:
        raise ValueError("nothing to type")
    per_char = 60.0 / cpm
    if fast:
        overhead = await _type_virtual(session, text, per_char)
    else:
        overhead = 0.0
        for i in range(1, len(text)):
            session.set_text(text[:i])
            if on_text is not None:
                on_text(text[:i])
            await asyncio.sleep(per_char)
    session.set_text(text + instant_suffix)
    answer = await session.commit()
    overhead += answer.wait_s
    latency = overhead + answer.latency_s - answer.wait_s
    ttft = None if answer.ttft_s is None else overhead + answer.ttft_s - answer.wait_s
    return TypedAnswer(answer, latency, ttft, overhead, len(text) * per_char)


async def _type_virtual(session: LiveSession, text: str, per_char: float) -> float:
    """Release characters on a virtual clock; return the overhead past the last one."""
    n = len(text)
    end = n * per_char  # the moment the last character arrives
    clock = 0.0
    typed = 0
    while True:
        arrived = min(n, int(clock / per_char + 1e-9))
        if arrived >= n:
            break
        if arrived > typed:
            session.set_text(text[:arrived])
            typed = arrived
        if session.busy:
            started = time.perf_counter()
            await session.settled()
            clock += time.perf_counter() - started
        else:
            clock = (typed + 1) * per_char
    return max(0.0, clock - end)
