"""How far back a note reaches: whether the notes on a long prompt connect the newest
sentence with things said many sentences earlier, or only restate the newest one.

A record's action trace lists, per inference call, the pieces it read and the note it
wrote. :func:`note_reaches` rebuilds the prompt's sentence order from the trace and, for
each note, finds the words it shares with earlier sentences but not with the pieces it
was written on; its *reach* is the distance, in sentences, to the most recent earlier
sentence holding such a word (the farthest over its words): a note about sentence 25
that names someone last mentioned in sentence 3 reaches 22 back. Content words only
(four letters or more, no common function words; numbers of two digits or more).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_WORD = re.compile(r"[a-z][a-z'-]{3,}|\d{2,}(?:\.\d+)?")
_COMMON = frozenset(
    """that this with from have has had which their there they them then than what when
    where were will would could should about also into only some such more most other
    each every does done being been because after before over under between answer
    inference person people house following question true false your these those""".split()  # noqa: SIM905
)


@dataclass(frozen=True, slots=True)
class Reach:
    """One note: the sentence index it was written on, how far back it reached (0: not
    beyond its own pieces), the word that reached farthest and the sentence it came from."""

    at: int
    reach: int
    note: str
    word: str = ""
    source: str = ""


@functools.lru_cache(maxsize=4096)
def content_words(text: str) -> frozenset[str]:
    """The content words of ``text`` (cached: each sentence is looked up once per note)."""
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _COMMON)


def _place(sentences: list[str], segment: str) -> int:
    """The index of ``segment`` in the sentence order, adding it (or growing the last
    sentence it extends: a tail read again once complete)."""
    if segment in sentences:
        return sentences.index(segment)
    if sentences and segment.startswith(sentences[-1]):
        sentences[-1] = segment
        return len(sentences) - 1
    sentences.append(segment)
    return len(sentences) - 1


def note_reaches(actions: Iterable[Mapping[str, Any]]) -> list[Reach]:
    """A :class:`Reach` per inference note of a record's ``actions`` (in order)."""
    sentences: list[str] = []
    out: list[Reach] = []
    for action in actions:
        segments: Sequence[str] = action.get("segments") or ()
        places = [_place(sentences, s) for s in segments]
        note = str(action.get("content") or "")
        if action.get("action") != "inference" or not note or not places:
            continue
        first = min(places)
        own = content_words(" ".join(segments))
        best = Reach(first, 0, note)
        for word in content_words(note) - own:
            for j in range(first - 1, -1, -1):
                if word in content_words(sentences[j]):
                    if first - j > best.reach:
                        best = Reach(first, first - j, note, word, sentences[j].strip())
                    break
        out.append(best)
    return out
