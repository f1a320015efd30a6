"""Micro-benchmark of livemind.segment.Segmenter.update (a script, not a test).

Types a ~21k-character English text one character at a time and times every update, then
reports per-keystroke p50/p99 (microseconds) while the text is ~1k and ~20k characters long,
plus a mid-text edit (backspace + retype in the middle of a 20k text) and a 20k paste.

Run: .venv/bin/python benchmarks/segment_bench.py
"""

from __future__ import annotations

import gc
import platform
import random
import statistics
import sys
import time

from livemind.segment import GRANULARITIES, Segmenter

SENTENCES = [
    "Dr. Smith paid ${n},000.50 for the U.S. patent on Jan. {d}, 2021.",
    "Then, he left; nobody knew why: the lab, the staff, and {n},200 mice stayed behind.",
    '"Is it over?" asked Mrs. Jones.',
    "It was not, e.g. the notes (see p. {d}) said otherwise...",
    "At 10:{d:02d} the meeting began, and Mr. Brown read the report aloud.",
    "The budget grew by {d}% in Q{q}, i.e. from ${n}.5M to ${m}.1M.",
    "Prof. Lee asked whether the results held in the E.U. as well.",
    "Nobody answered!",
    "We shipped {n},{d:03d} units to St. Louis, Boston, and Washington, D.C. last year.",
]


def make_text(length: int, seed: int = 0) -> str:
    """Realistic English: paragraphs of varied sentences with numbers and abbreviations."""
    rng, parts, size = random.Random(seed), [], 0
    while size < length:
        s = rng.choice(SENTENCES).format(
            n=rng.randint(1, 99), m=rng.randint(1, 99), d=rng.randint(1, 31), q=rng.randint(1, 4)
        )
        sep = "\n\n" if rng.random() < 0.15 else " "
        parts.append(s + sep)
        size += len(s) + len(sep)
    return "".join(parts)[:length]


def timed(seg: Segmenter, text: str) -> float:
    t0 = time.perf_counter_ns()
    seg.update(text)
    return (time.perf_counter_ns() - t0) / 1000


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def bench(granularity: str, text: str, edits: int, rng: random.Random) -> list[str]:
    gc.collect()
    seg = Segmenter(granularity)  # default min_len=10
    small = [timed(seg, text[:n]) for n in range(1, 2001)][1000:]  # keystrokes at 1k..2k chars
    seg.update(text[:19000])  # same state as typing it (the result does not depend on history)
    large = [timed(seg, text[:n]) for n in range(19001, 21001)][1000:]  # at 20k..21k chars
    base, edit = text[:20000], []
    seg.update(base)
    for _ in range(edits):
        i = rng.randint(8000, 12000)
        edit.append(timed(seg, base[:i] + base[i + 1 :]))  # backspace in the middle
        edit.append(timed(seg, base))  # retype the character
    paste = []
    for _ in range(3):
        seg.reset()
        paste.append(timed(seg, base) / 1000)
    return [
        granularity,
        *(f"{pct(xs, q):.0f}" for xs in (small, large, edit) for q in (0.5, 0.99)),
        f"{statistics.median(paste):.0f}",
    ]


def main() -> None:
    text = make_text(21000)
    rng = random.Random(1)
    head = ["granularity", "p50 @1k", "p99 @1k", "p50 @20k", "p99 @20k"]
    head += ["mid-edit p50", "mid-edit p99", "paste 20k (ms)"]
    rows = [bench(g, text, 200, rng) for g in GRANULARITIES]
    print(f"Python {sys.version.split()[0]}, {platform.machine()}, min_len=10; times in µs")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
