"""Incremental segmentation of text that is still being typed (LiveMind, arXiv 2406.14319).

Invariant: ``"".join(s.text for s in seg.segments) + seg.tail == seg.text`` after every call.

Pieces: ``char`` = one non-space character, ``word`` = a word, ``sentence`` = a pysbd sentence,
``clause`` = a sentence further cut after ``,`` ``;`` ``:`` (never inside ``1,000`` or ``10:30``).
Every cut sits *before* whitespace, so a piece is its leading whitespace plus its content.
Consecutive pieces are merged left to right until a group holds ``min_len`` non-space characters;
the groups are the segments.

Canonical result (what makes incremental == fresh exact): segments are found window by window.
From a segment boundary ``s``, ``text[s:s + W]`` is split and merged. If the window reaches the end
of the text, its groups are the remaining segments; the last one stays in ``tail`` unless
``final`` (for ``sentence``/``clause``, so does a group not yet followed by a complete word: pysbd
changes its mind while that word is typed, e.g. "sat .." -> "sat ..."). Otherwise every group
but the last two is emitted (the last is cut by the window edge, the one before it had a
truncated look-ahead) and the next window starts after the last emitted group; when fewer than
three groups fit, ``W`` doubles for that window. Each decision depends only on the text inside
its window, so an update keeps every window that ends before the first changed character and
recomputes the rest: a keystroke at the end costs O(W), not O(len(text)).
Whitespace after the last content character always stays in ``tail``, even when ``final``.
"""

from __future__ import annotations

import copy
import re
from bisect import bisect_right
from dataclasses import dataclass
from typing import Literal

import pysbd

Granularity = Literal["char", "word", "clause", "sentence"]
GRANULARITIES: tuple[str, ...] = ("char", "word", "clause", "sentence")

_CHAR = re.compile(r"\S")
_WORD = re.compile(r"(?<=\S)\s+(?=\S)")
# A clause ends after , ; or : (plus closing quotes/brackets), but not at , or : between digits.
_CLAUSE = re.compile(r"(?:;|[,:](?!\d)|(?<!\d)[,:])[\"'\u201d\u2019)\]]*")
# A sentence/clause boundary at the end of the text is stable once the next word is complete.
_NEXT_WORD = re.compile(r"\s+\S+\s")
_BLOCK = 256
# One per window: (start, end, reach = max end of the windows so far, segment count after it).
_Step = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class Segment:
    """A stable segment: ``text == full_text[start:end]``; ``index`` is its list position."""

    index: int
    start: int
    end: int
    text: str


@dataclass(slots=True)
class SegmentUpdate:
    """Result of :meth:`Segmenter.update`.

    ``invalidated_from``: index of the first previously stable segment that is no longer valid
    (``None``: none). ``added``: the segments that are stable now and were not before, in order.
    """

    invalidated_from: int | None
    added: list[Segment]


def _common_prefix(a: str, b: str) -> int:
    """Length of the common prefix of ``a`` and ``b`` (memcmp-speed, ~len/256 Python steps)."""
    if b.startswith(a):
        return len(a)
    if a.startswith(b):
        return len(b)
    i = 0
    while a[i : i + _BLOCK] == b[i : i + _BLOCK]:
        i += _BLOCK
    while a[i] == b[i]:
        i += 1
    return i


def _common_suffix(a: str, b: str, limit: int) -> int:
    """Length of the common suffix of ``a`` and ``b``, capped at ``limit``."""
    k, la, lb = 0, len(a), len(b)
    while k + _BLOCK <= limit and a[la - k - _BLOCK : la - k] == b[lb - k - _BLOCK : lb - k]:
        k += _BLOCK
    while k < limit and a[la - k - 1] == b[lb - k - 1]:
        k += 1
    return k


def _sentence_splitter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False, char_span=True)


class Segmenter:
    """Incremental segmenter. Feed the whole current text to :meth:`update` after each edit.

    ``segments`` always equal those of a fresh ``Segmenter`` fed the same text and ``final`` flag
    in a single update, whatever the edit history.
    """

    _WINDOW = 256  # base window in characters (a class attribute so that tests can shrink it)

    def __init__(self, granularity: str = "sentence", min_len: int = 10) -> None:
        """Raise ``ValueError`` on an unknown granularity or ``min_len < 1``."""
        if granularity not in GRANULARITIES:
            valid = ", ".join(GRANULARITIES)
            raise ValueError(f"granularity must be one of: {valid} (got {granularity!r})")
        if isinstance(min_len, bool) or not isinstance(min_len, int) or min_len < 1:
            raise ValueError(f"min_len must be an integer >= 1 (got {min_len!r})")
        self.granularity = granularity
        self.min_len = min_len
        self._base = max(self._WINDOW, 16 * min_len)
        self._sbd = _sentence_splitter() if granularity in ("sentence", "clause") else None
        self.reset()

    def fork(self) -> Segmenter:
        """An independent copy in the same state (its own sentence splitter too): update
        it in another thread while this one is still read."""
        twin = copy.copy(self)
        twin._segs = list(self._segs)
        twin._steps = list(self._steps)
        if self._sbd is not None:
            twin._sbd = _sentence_splitter()
        return twin

    def reset(self) -> None:
        """Forget all text: back to the state of a new instance."""
        self._text = ""
        self._final = False
        self._segs: list[Segment] = []
        self._steps: list[_Step] = []

    @property
    def text(self) -> str:
        """The current full text."""
        return self._text

    @property
    def segments(self) -> list[Segment]:
        """The stable segments (a copy)."""
        return list(self._segs)

    @property
    def tail(self) -> str:
        """The text after the last stable segment (not yet stable)."""
        return self._text[self._segs[-1].end :] if self._segs else self._text

    def update(self, text: str, final: bool = False) -> SegmentUpdate:
        """Set the full text; ``final=True`` makes all of it stable (trailing whitespace aside).

        Segments identical (same index, offsets and text) before and after are not reported, so
        appends invalidate nothing unless pysbd revises a boundary (not seen in fuzzing) or
        ``final`` went from True to False. ``final`` is not sticky: results always match a fresh
        segmenter given the same ``text`` and ``final``.
        """
        old = self._text
        if final == self._final and text == old:
            return SegmentUpdate(None, [])
        d = _common_prefix(old, text)
        lim = min(d, len(old) - 1, len(text) - 1)  # an end-of-text window is always recomputed
        j = bisect_right(self._steps, lim, key=lambda st: st[2])
        kept = self._steps[j - 1][3] if j else 0
        stale, old_steps = self._segs[kept:], self._steps[j:]
        del self._segs[kept:], self._steps[j:]
        # Old windows starting at or after `same_from` see the same text, shifted: reusable.
        same_from = len(old) - _common_suffix(old, text, min(len(old), len(text)) - d)
        if final != self._final:
            same_from = len(old) + 1
        self._text, self._final = text, final
        self._run(old_steps, stale, kept, len(text) - len(old), same_from)
        i, new = kept, self._segs
        while i - kept < len(stale) and i < len(new) and new[i] == stale[i - kept]:
            i += 1
        return SegmentUpdate(i if i - kept < len(stale) else None, new[i:])

    def _run(
        self, old: list[_Step], stale: list[Segment], kept: int, delta: int, same_from: int
    ) -> None:
        """Recompute windows from the end of the last segment to the end of the text.

        ``old``/``stale``: the dropped windows and segments (``kept`` segments precede them).
        When a new window starts where an old one started at or after ``same_from`` (old
        coordinates), the rest is reused, shifted by ``delta`` characters.
        """
        text, n, size = self._text, len(self._text), self._base
        s = self._segs[-1].end if self._segs else 0
        reach = self._steps[-1][2] if self._steps else 0
        o = 0
        while True:
            while o < len(old) and old[o][0] + delta < s:
                o += 1
            if o < len(old) and old[o][0] + delta == s and old[o][0] >= same_from:
                before = old[o - 1][3] if o else kept
                shift = len(self._segs) - before
                for g in stale[before - kept :]:
                    self._segs.append(
                        Segment(g.index + shift, g.start + delta, g.end + delta, g.text)
                    )
                for st, en, _, c in old[o:]:
                    reach = max(reach, en + delta)
                    self._steps.append((st + delta, en + delta, reach, c + shift))
                return
            wend = min(n, s + size)
            w = text[s:wend]
            ends = self._groups(w)
            if wend < n and len(ends) < 3:
                size *= 2
                continue
            if wend < n:
                del ends[-2:]
            elif ends and self._final:
                ends[-1] = len(w.rstrip())
            elif ends:
                ends.pop()
                while ends and self._sbd is not None and not _NEXT_WORD.match(w, ends[-1]):
                    ends.pop()
            prev = 0
            for e in ends:
                self._segs.append(Segment(len(self._segs), s + prev, s + e, w[prev:e]))
                prev = e
            reach = max(reach, wend)
            self._steps.append((s, wend, reach, len(self._segs)))
            if wend == n:
                return
            s, size = s + prev, self._base

    def _cuts(self, w: str) -> list[int]:
        """Candidate piece boundaries in ``w``; each sits right after a non-space character."""
        if self.granularity == "char":
            return [m.end() for m in _CHAR.finditer(w)]
        if self.granularity == "word":
            return [m.start() for m in _WORD.finditer(w)]
        assert self._sbd is not None
        cuts = [sp.start + len(sp.sent.rstrip()) for sp in self._sbd.segment(w) if sp.sent.strip()]
        if self.granularity == "clause":
            cuts += [m.end() for m in _CLAUSE.finditer(w)]
        return cuts

    def _groups(self, w: str) -> list[int]:
        """End offsets of the merged groups of ``w``; the last one is ``len(w)``."""
        content_end = len(w.rstrip())
        if not content_end:
            return []
        cuts = sorted({c for c in self._cuts(w) if 0 < c < content_end})
        cuts.append(len(w))
        ends: list[int] = []
        prev = count = 0
        for c in cuts:
            count += len("".join(w[prev:c].split()))
            prev = c
            if count >= self.min_len or c == len(w):
                ends.append(c)
                count = 0
        return ends
