"""Simulated typing into a :class:`~livemind.session.LiveSession`, then Enter.

A :class:`Typist` turns a text into a keystroke plan: (arrival time, full text after the
key) pairs, with optional seeded jitter, pauses between words and one typo that is fixed
with backspaces a few keys later. The plan is replayed on one of two clocks:

- real (``fast=False``): keys arrive on the wall clock while the session works
  concurrently, as a person at a keyboard;
- virtual (``fast=True``, the paper's protocol): keys arrive on a virtual clock; model
  calls take their real wall time and advance the clock by it, releasing the keys typed
  meanwhile at once. Nobody waits for the typing itself.

Latency is measured from Enter to the end of the answer. Enter comes ``think_s`` after the
last key (0: at once, the paper's protocol); ``overhead_s`` is the part of the latency spent
finishing an inference call that was still running at Enter. During the think time the
session may prefill (prewarm) and start a speculative answer, as it would for a person
pausing before Enter: on the virtual clock the speculation starts once the session is idle
and ``speculate_after_s`` has passed, and the rest of the pause then passes in real time.

A session that runs on a :class:`VirtualClock` has that clock moved over the typing the
virtual replay skips, so its own timestamps (call records, events stamped with
``session.clock``) lie on the same timeline as the keys: ``TypedAnswer.started_s`` + a
key's time.
"""

from __future__ import annotations

import asyncio
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass

from livemind.session import Answer, LiveSession

DEFAULT_CPM = 240.0
Keystroke = tuple[float, str]  # (arrival time in seconds, full text after the key)


class VirtualClock:
    """A session clock that reads real time plus the idle time the virtual replay skipped
    (:func:`type_and_commit` with ``fast=True`` moves it; otherwise it is
    ``time.perf_counter``). Calls still take their real time on it."""

    def __init__(self) -> None:
        self._skipped = 0.0

    def __call__(self) -> float:
        return time.perf_counter() + self._skipped

    def skip(self, seconds: float) -> None:
        """Move the clock ``seconds`` ahead (nothing for a negative amount)."""
        self._skipped += max(0.0, seconds)


@dataclass(frozen=True, slots=True)
class Typist:
    """How the simulated user types.

    ``jitter``: relative spread of each key interval (0.3 = ±30 %, uniform).
    ``pause_rate``: chance of a pause after a word; pauses last ``pause_s`` on average.
    ``typo``: make one wrong key somewhere in the text and notice it ``2..5`` keys later:
    backspace to it and retype (the final text is always the intended one).
    """

    cpm: float = DEFAULT_CPM
    jitter: float = 0.0
    pause_rate: float = 0.0
    pause_s: float = 1.0
    typo: bool = False
    seed: int = 0

    def plan(self, text: str) -> list[Keystroke]:
        """The keystrokes that type ``text``; the last one's text is ``text``."""
        if self.cpm <= 0:
            raise ValueError(f"cpm must be positive, got {self.cpm}")
        if not text:
            raise ValueError("nothing to type")
        rng = random.Random(self.seed)
        base = 60.0 / self.cpm
        clock = 0.0
        typed = ""
        keys: list[Keystroke] = []

        def press(new_text: str) -> None:
            nonlocal clock, typed
            step = base * (1 + rng.uniform(-self.jitter, self.jitter))
            if typed.endswith(" ") and self.pause_rate and rng.random() < self.pause_rate:
                step += rng.expovariate(1 / self.pause_s)
            clock += max(step, 0.0)
            typed = new_text
            keys.append((clock, typed))

        typo_at = _typo_position(text, rng) if self.typo else None
        for i, char in enumerate(text):
            if i == typo_at:
                later = min(rng.randint(2, 5), len(text) - i - 1)
                wrong = _wrong_key(char, rng)
                press(typed + wrong)
                for c in text[i + 1 : i + 1 + later]:
                    press(typed + c)
                for _ in range(later + 1):
                    press(typed[:-1])
            press(typed + char)
        return keys


@dataclass(slots=True)
class TypedAnswer:
    answer: Answer
    latency_s: float  # end of input -> complete answer
    ttft_s: float | None  # end of input -> first answer token
    overhead_s: float  # in-flight inference work after the input ended
    typing_s: float  # how long the typing took (virtual or real)
    started_s: float = 0.0  # the session's clock when the typing began (key times count from it)
    enter_s: float = 0.0  # the session's clock at Enter: started_s + typing_s + think_s
    keys: tuple[Keystroke, ...] = ()  # the keystroke plan that was typed


async def type_and_commit(
    session: LiveSession,
    text: str,
    *,
    typist: Typist | None = None,
    cpm: float | None = None,
    fast: bool = False,
    instant_suffix: str = "",
    on_text: Callable[[str], None] | None = None,
    think_s: float = 0.0,
) -> TypedAnswer:
    """Type ``text`` as ``typist`` would (``cpm`` overrides its speed), add
    ``instant_suffix`` at once with the last key (e.g. multiple-choice options), pause
    ``think_s``, then commit. ``on_text`` sees each real-time keystroke's text."""
    typist = typist or Typist()
    if cpm is not None:
        typist = Typist(
            cpm, typist.jitter, typist.pause_rate, typist.pause_s, typist.typo, typist.seed
        )
    keys = typist.plan(text)
    typing_s = keys[-1][0]
    clock = session.clock
    started = clock()

    def reach(at: float) -> None:
        """Move a virtual session clock on to ``at`` seconds after the typing began."""
        if isinstance(clock, VirtualClock):
            clock.skip(started + at - clock())

    if fast:
        overhead = await _replay_virtual(session, keys, reach)
    else:
        overhead = 0.0
        start = time.perf_counter()
        for at, snapshot in keys[:-1]:
            await asyncio.sleep(max(0.0, at - (time.perf_counter() - start)))
            session.set_text(snapshot)
            if on_text is not None:
                on_text(snapshot)
        await asyncio.sleep(max(0.0, keys[-1][0] - (time.perf_counter() - start)))
    session.set_text(text + instant_suffix)
    if fast:
        pause = await _think_virtual(session, think_s, overhead, lambda x: reach(typing_s + x))
        overhead = max(0.0, overhead + pause - think_s)
        reach(typing_s + think_s)
    else:
        await asyncio.sleep(think_s)  # the session's own timer starts any speculation
    answer = await session.commit()
    overhead += answer.wait_s
    latency = overhead + answer.latency_s - answer.wait_s
    ttft = None if answer.ttft_s is None else overhead + answer.ttft_s - answer.wait_s
    enter = started + typing_s + think_s
    return TypedAnswer(answer, latency, ttft, overhead, typing_s, started, enter, tuple(keys))


async def _replay_virtual(
    session: LiveSession, keys: list[Keystroke], reach: Callable[[float], None]
) -> float:
    """Release keys on a virtual clock; return the overhead past the last one. ``reach(t)``
    is told each time the clock jumps ahead to ``t`` over idle time."""
    end = keys[-1][0]
    clock = 0.0
    applied = 0  # keys already handed to the session
    while True:
        arrived = applied
        while arrived < len(keys) and keys[arrived][0] <= clock + 1e-9:
            arrived += 1
        if arrived == len(keys):
            break  # the last key is typed: the caller commits
        if arrived > applied:
            session.set_text(keys[arrived - 1][1])
            applied = arrived
        if session.busy:
            started = time.perf_counter()
            await session.settled()
            clock += time.perf_counter() - started
        else:
            clock = keys[applied][0]
            reach(clock)
    return max(0.0, clock - end)


async def _think_virtual(
    session: LiveSession, think_s: float, already: float, reach: Callable[[float], None]
) -> float:
    """The pause before Enter on the virtual clock (``already`` seconds of it were spent
    before the last key was handed over); returns the time the session then kept
    working, at most what is left of the pause: Enter comes on time, and a call still
    running then is the commit's business (``commit_policy``: wait for it or cancel it).
    ``reach(t)`` is told when the clock jumps ahead to ``t`` seconds into the pause."""
    if think_s <= 0:
        return 0.0
    cfg = session.config
    started = time.perf_counter()
    idle = asyncio.ensure_future(session.settled())
    if cfg.speculate and cfg.speculate_after_s < think_s:
        # the session's timer would fire here; the session decides whether a running
        # call gives way (commit_policy) or the speculation waits for it
        await asyncio.wait({idle}, timeout=max(0.0, cfg.speculate_after_s - already))
        if not idle.done():
            session.speculate()
    left = think_s - already - (time.perf_counter() - started)
    await asyncio.wait({idle}, timeout=max(0.0, left))
    idle.cancel()
    busy = time.perf_counter() - started
    spec_at = max(already + busy, cfg.speculate_after_s)
    if cfg.speculate and spec_at < think_s:
        reach(spec_at)
        if session.speculate():
            await asyncio.sleep(think_s - spec_at)  # the speculative answer runs meanwhile
    return busy


def _typo_position(text: str, rng: random.Random) -> int | None:
    """A letter position for the typo, away from the very end; None if there is none."""
    candidates = [i for i, c in enumerate(text[:-6]) if c.isalpha()]
    return rng.choice(candidates) if candidates else None


def _wrong_key(char: str, rng: random.Random) -> str:
    letters = string.ascii_lowercase.replace(char.lower(), "")
    return rng.choice(letters)
