"""Evaluation questions and how a sample of them is drawn.

:class:`Question` is one item of any dataset. Sampling is stratified by subject and
prefix-stable: each subject is shuffled with ``random.Random(seed)``, then subjects are
interleaved by Tijdeman's chairman-assignment rule so that *every* prefix of length ``k``
holds each subject ``floor(k*share)`` or ``ceil(k*share)`` times, so the first ``k`` of a
larger sample are the sample of ``k``. (Exact largest-remainder counts cannot be
prefix-stable: Alabama paradox.) :func:`sentence_count` is the length measure that
:class:`SentenceRange` (``min_sentences``/``max_sentences``) filters on (sentences as
:class:`livemind.segment.Segmenter` cuts them).
"""

from __future__ import annotations

import functools
import heapq
import random
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

from livemind.eval.answers import LETTERS
from livemind.segment import Segmenter

ANSWER_KINDS: tuple[str, ...] = ("choice", "number", "word")


@dataclass(frozen=True, slots=True)
class Question:
    """One evaluation item. ``stem`` is what the simulated user types; ``gold`` is a letter
    (``kind == "choice"``), a normalised number string (``"number"``) or one lower-case
    word such as a name (``"word"``). ``known_values``: numbers a right note may hold (GSM;
    :mod:`.notes_check`), else empty. ``answer_kind``: ``""`` infers the kind from the
    options (choice with options, number without); any other value must be one of
    :data:`ANSWER_KINDS` and is the kind."""

    qid: str
    dataset: str
    subject: str
    stem: str
    options: tuple[str, ...]
    gold: str
    known_values: tuple[str, ...] = ()
    answer_kind: str = ""

    def __post_init__(self) -> None:
        if self.answer_kind not in ("", *ANSWER_KINDS):
            raise ValueError(f"answer_kind must be one of {ANSWER_KINDS}, not {self.answer_kind!r}")

    @property
    def kind(self) -> str:
        """``"choice"``, ``"number"`` or ``"word"``: how the answer is extracted and scored."""
        return self.answer_kind or ("choice" if self.options else "number")

    def options_text(self) -> str:
        """``"\\n(A) ...\\n(B) ..."``; ``""`` for open-ended questions."""
        return "".join(f"\n({LETTERS[i]}) {o}" for i, o in enumerate(self.options))

    def answer_instruction(self) -> str:
        """The line that asks for an answer format :func:`~.answers.extract_answer` reads."""
        if self.kind == "choice":
            last = LETTERS[len(self.options) - 1]
            return (
                "End your answer with 'The answer is (X)' where X is the letter "
                f"(A-{last}) of the correct option."
            )
        if self.kind == "word":
            return (
                "End your answer with 'The answer is W' where W is the single word "
                "(a name, for example) that answers the question."
            )
        return "End your answer with 'The answer is N' where N is the final number."


@dataclass(frozen=True, slots=True)
class SentenceRange:
    """Which sentence counts a length filter keeps: ``low <= count <= high`` (``high=None``:
    no upper bound). ``ValueError`` on a negative bound or ``high < low``."""

    low: int = 0
    high: int | None = None

    def __post_init__(self) -> None:
        for name, v in (("min_sentences", self.low), ("max_sentences", self.high)):
            if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
                raise ValueError(f"{name} must be an integer >= 0 (got {v!r})")
        if self.high is not None and self.high < self.low:
            raise ValueError(f"max_sentences={self.high} is below min_sentences={self.low}")

    @property
    def active(self) -> bool:
        """Whether the range leaves anything out (else counting can be skipped)."""
        return self.low > 0 or self.high is not None

    def admits(self, count: int) -> bool:
        return self.low <= count and (self.high is None or count <= self.high)

    def __str__(self) -> str:
        if self.high is None:
            return f">= {self.low} sentences"
        return f"{self.low}-{self.high} sentences" if self.low else f"<= {self.high} sentences"


@functools.lru_cache(maxsize=65536)
def sentence_count(text: str) -> int:
    """Number of sentences in ``text`` as the session's sentence segmenter cuts it."""
    seg = _segmenter()
    seg.reset()
    seg.update(text, final=True)
    return len(seg.segments)


@functools.cache
def _segmenter() -> Segmenter:
    return Segmenter("sentence", min_len=1)


def stratified(pool: list[Question], n: int, seed: int) -> list[Question]:
    """The first ``n`` items of the seeded, subject-interleaved order of ``pool``."""
    groups: dict[str, list[Question]] = {}
    for q in pool:
        groups.setdefault(q.subject, []).append(q)
    rng = random.Random(seed)
    for subject in sorted(groups):
        rng.shuffle(groups[subject])
    taken: Counter[str] = Counter()
    out = []
    for subject in interleave({s: len(g) for s, g in groups.items()}, n, rng):
        out.append(groups[subject][taken[subject]])
        taken[subject] += 1
    return out


def interleave(sizes: dict[str, int], n: int, rng: random.Random) -> list[str]:
    """A sequence of ``n`` subject names (``n <= sum(sizes)``) whose every prefix of length
    ``k`` holds subject ``s`` within ``1 - 1/(2S-2)`` of ``k * sizes[s] / sum(sizes)`` times.

    Tijdeman (1980): at step ``t`` a subject is eligible once ``t*p - c >= 1 - sigma``;
    the eligible one with the earliest deadline ``(c + sigma) / p`` is chosen (exact rationals).
    """
    sizes = {s: k for s, k in sizes.items() if k > 0}
    total = sum(sizes.values())
    if n > total:
        raise ValueError(f"n={n} exceeds the {total} items available")
    if len(sizes) <= 1:
        return [next(iter(sizes))] * n if sizes else []
    sigma = 1 - Fraction(1, 2 * len(sizes) - 2)
    count = dict.fromkeys(sizes, 0)
    waiting = [(Fraction(total) * (1 - sigma) / sizes[s], rng.random(), s) for s in sorted(sizes)]
    heapq.heapify(waiting)
    ready: list[tuple[Fraction, float, str]] = []
    out = []
    for t in range(1, n + 1):
        while waiting and waiting[0][0] <= t:
            _, _, s = heapq.heappop(waiting)
            heapq.heappush(
                ready, (Fraction(total) * (count[s] + sigma) / sizes[s], rng.random(), s)
            )
        _, _, s = heapq.heappop(ready)
        out.append(s)
        count[s] += 1
        if count[s] < sizes[s]:
            release = Fraction(total) * (count[s] + 1 - sigma) / sizes[s]
            heapq.heappush(waiting, (release, rng.random(), s))
    return out
