"""Zebra (Einstein) logic puzzles from ``reasoning-gym==0.1.25``'s ``zebra_puzzles``.

Six houses, five characteristics: a header, one line per characteristic, about 19
numbered clues and the question "What is the name of the person who lives in House 1?",
29-32 sentences in all (docs/DATASETS.md). The answer is one lower-case name
(``answer_kind="word"``).

Item ``i`` of ``seed`` is reasoning-gym's item ``i`` of seed ``seed * 1_000_000`` (the
generator seeds item ``i`` with ``seed + i``, so plain seeds 42 and 43 would share all but
one puzzle); ``qid`` = ``zebra/<seed>/<i>``, subject ``zebra``. The generator's "Provide only
the name ..." suffix is cut (:meth:`~.questions.Question.answer_instruction` asks for the
format) and its question line is mended ("What is Name of ... House 1??" -> "What is the
name of ... House 1?") so that the stem reads as a user would type it. Generating one
puzzle takes about a second (a SAT solver removes redundant clues).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from livemind.eval.questions import Question, SentenceRange, sentence_count
from livemind.eval.rgym import rgym_factory

ZEBRA_DEFAULT_N = 100
ZEBRA_PEOPLE = 6
ZEBRA_CHARACTERISTICS = 5
SEED_STRIDE = 1_000_000  # item i of our seed s is the generator's item i of seed s * stride
_GIVE_UP = 20  # puzzles tried without one in range before the range is called hopeless
_SUFFIX = " Provide only the name of the person as your final answer."
_ASK = re.compile(r"What is (\w+) of the person who lives in House (\d+)\?+\Z")
_NAME = re.compile(r"[a-z]+(?:[-'][a-z]+)*")


def zebra_question(seed: int, i: int, item: Mapping[str, Any]) -> Question:
    """The :class:`Question` of generator item ``item`` (its ``question`` and ``answer``);
    ``ValueError`` if the item is not shaped as reasoning-gym 0.1.25 makes them."""
    text = str(item["question"]).removesuffix(_SUFFIX).rstrip()
    body, _, ask = text.rpartition("\n")
    m = _ASK.fullmatch(ask.strip())
    gold = str(item["answer"]).strip().lower()
    if not body or m is None or not _NAME.fullmatch(gold):
        raise ValueError(f"zebra/{seed}/{i}: not a reasoning-gym 0.1.25 zebra puzzle: {ask!r}")
    stem = f"{body}\nWhat is the {m[1].lower()} of the person who lives in House {m[2]}?"
    qid = f"zebra/{seed}/{i}"
    return Question(qid, "zebra", "zebra", stem, (), gold, answer_kind="word")


def load_zebra(n: int, seed: int, lengths: SentenceRange) -> list[Question]:
    """The first ``n`` puzzles of ``seed`` whose sentence count ``lengths`` admits (about a
    second each). ``ValueError`` when too few qualify: none among the first 20, or fewer
    than ``n`` among the first ``2n + 20``. ``ImportError`` without reasoning-gym."""
    if n == 0:
        return []
    limit = 2 * n + _GIVE_UP
    ds = _zebra_factory().create_dataset(
        "zebra_puzzles",
        num_people=ZEBRA_PEOPLE,
        num_characteristics=ZEBRA_CHARACTERISTICS,
        seed=seed * SEED_STRIDE,
        size=limit,
    )
    out: list[Question] = []
    tried = 0
    for i in range(limit):
        if len(out) == n or (i == _GIVE_UP and not out):
            break
        tried += 1
        q = zebra_question(seed, i, ds[i])
        if not lengths.active or lengths.admits(sentence_count(q.stem)):
            out.append(q)
    if len(out) < n:
        raise ValueError(f"only {len(out)} of {tried} zebra puzzles have {lengths} (n={n})")
    return out


def _zebra_factory() -> Any:
    """``reasoning_gym.factory`` with ``zebra_puzzles`` registered (only its modules)."""
    return rgym_factory("logic", ["zebra_puzzles"], "zebra")
