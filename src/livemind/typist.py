"""Simulated typing into a :class:`~livemind.session.LiveSession`, then Enter.

A :class:`Typist` turns a text into a keystroke plan: (arrival time, full text after the
key) pairs, with optional seeded jitter, pauses between words and one typo that is fixed
with backspaces a few keys later. The plan is replayed in one of two ways:

- real (``fast=False``): keys arrive on the wall clock while the session works
  concurrently, as a person at a keyboard;
- virtual (``fast=True``, the paper's protocol; the session must run on a
  :class:`~livemind.clock.SessionClock`, the default): model calls take their real time and the keys
  typed meanwhile are released at once when the session is idle again; while nothing
  runs, the clock jumps to the next key (or to the next timer of the session, which then
  fires: the speculation). Nobody waits for the typing itself. A key typed while a call
  runs reaches the session when the call ends, so its edit (and the idle timer it
  re-arms) counts from then.

Latency is measured from Enter to the end of the answer. Enter comes ``think_s`` after the
last key (0: at once); ``overhead_s`` is the part of the latency spent on work still
running at Enter (a key released late, an inference call finished at Enter). During the
pause the session may prefill (prewarm) and start a speculative answer: the clock runs in
real time while the session works and jumps while it is idle, and Enter comes on time.

Times the session records (call records, events stamped with ``session.clock.now()``) lie
on the same timeline as the keys: ``TypedAnswer.started_s`` + a key's time.
"""

from __future__ import annotations

import asyncio
import random
import string
import time
from collections.abc import Callable
from dataclasses import dataclass

from livemind.clock import SessionClock
from livemind.session import Answer, LiveSession

DEFAULT_CPM = 240.0
Keystroke = tuple[float, str]  # (arrival time in seconds, full text after the key)


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
    last_key_s: float = 0.0  # the session's clock when the last key (and suffix) arrived


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
    if fast and not isinstance(clock, SessionClock):
        raise ValueError("virtual typing (fast=True) needs a session on a SessionClock")
    started = clock.now()
    enter = started + typing_s + think_s
    if isinstance(clock, SessionClock) and fast:
        await _replay_virtual(session, clock, keys, started)
        last_key = clock.now()
        session.set_text(text + instant_suffix)
        await _pause_virtual(session, clock, enter)
        overhead = max(0.0, clock.now() - enter)
    else:
        start = time.perf_counter()
        for at, snapshot in keys[:-1]:
            await asyncio.sleep(max(0.0, at - (time.perf_counter() - start)))
            session.set_text(snapshot)
            if on_text is not None:
                on_text(snapshot)
        await asyncio.sleep(max(0.0, keys[-1][0] - (time.perf_counter() - start)))
        last_key = clock.now()
        session.set_text(text + instant_suffix)
        await asyncio.sleep(think_s)  # the session's own timer starts any speculation
        overhead = 0.0
    answer = await session.commit()
    overhead += answer.wait_s
    latency = overhead + answer.latency_s - answer.wait_s
    ttft = None if answer.ttft_s is None else overhead + answer.ttft_s - answer.wait_s
    return TypedAnswer(
        answer, latency, ttft, overhead, typing_s, started, enter, tuple(keys), last_key
    )


def _jump(clock: SessionClock, at: float) -> None:
    """Move the idle clock on to ``at``, stopping at a timer due before (it fires)."""
    deadline = clock.next_deadline()
    clock.skip_to(at if deadline is None else min(at, deadline))


async def _replay_virtual(
    session: LiveSession, clock: SessionClock, keys: list[Keystroke], started: float
) -> None:
    """Release all keys but the last on the virtual clock: the keys whose time has come
    go to the session at once whenever its typing phase is idle."""
    applied = 0  # keys already handed to the session
    while True:
        now = clock.now() - started
        arrived = applied
        while arrived < len(keys) and keys[arrived][0] <= now + 1e-9:
            arrived += 1
        if arrived == len(keys):
            return  # the last key is typed: the caller hands it over
        if arrived > applied:
            session.set_text(keys[arrived - 1][1])
            applied = arrived
        if session.busy:
            await session.settled()  # real time passes on the clock
        else:
            _jump(clock, started + keys[applied][0])


async def _pause_virtual(session: LiveSession, clock: SessionClock, enter: float) -> None:
    """The pause before Enter: real time while the session works (a typing-phase call, a
    speculative answer), jumps while it is idle; returns at ``enter`` (or at once if that
    has passed: a call still running then is the commit's business)."""
    while (left := enter - clock.now()) > 1e-9:
        if session.busy or session.speculating:
            quiet = asyncio.ensure_future(session.quiet())
            await asyncio.wait({quiet}, timeout=left)
            quiet.cancel()
        else:
            _jump(clock, enter)


def _typo_position(text: str, rng: random.Random) -> int | None:
    """A letter position for the typo, away from the very end; None if there is none."""
    candidates = [i for i, c in enumerate(text[:-6]) if c.isalpha()]
    return rng.choice(candidates) if candidates else None


def _wrong_key(char: str, rng: random.Random) -> str:
    letters = string.ascii_lowercase.replace(char.lower(), "")
    return rng.choice(letters)
