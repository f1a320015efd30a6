"""Tests for livemind.segment (pure text processing, no model)."""

from __future__ import annotations

import random

import pytest

from livemind.segment import GRANULARITIES, Segment, Segmenter, SegmentUpdate

EXAMPLE = "Dr. Smith paid $1,000.50 for it. Then, he left."
PARAGRAPH = (
    "Dr. Smith paid $1,000.50 for the U.S. patent on Jan. 5, 2021. Then, he left; nobody knew "
    'why: the lab, the staff, and 3,200 mice stayed behind. "Is it over?" asked Mrs. Jones. '
    "It was not, e.g. the notes (see p. 12) said otherwise... \n\nAt 10:30 the meeting began. "
)
VOCABULARY = (
    "the cat sat on mat Dr. Smith U.S. e.g. i.e. Mr. Jones paid $1,000.50 3,200 10:30 "
    'It was late. Then, he left; why: ... A. 1. (a) "Yes." No! etc. Inc. I'
)
WORDS = VOCABULARY.split()


def texts(seg: Segmenter) -> list[str]:
    return [s.text for s in seg.segments]


def check_invariants(seg: Segmenter) -> None:
    segs = seg.segments
    assert "".join(s.text for s in segs) + seg.tail == seg.text
    pos = 0
    for i, s in enumerate(segs):
        assert (s.index, s.start) == (i, pos)
        assert seg.text[s.start : s.end] == s.text and s.text.strip()
        pos = s.end


def fresh(text: str, final: bool, granularity: str, min_len: int) -> list[Segment]:
    seg = Segmenter(granularity, min_len)
    seg.update(text, final=final)
    return seg.segments


def apply(before: list[Segment], upd: SegmentUpdate) -> list[Segment]:
    cut = len(before) if upd.invalidated_from is None else upd.invalidated_from
    assert cut <= len(before)
    return before[:cut] + upd.added


# --- arguments -------------------------------------------------------------------------------


def test_bad_args() -> None:
    with pytest.raises(ValueError, match="char, word, clause, sentence"):
        Segmenter("paragraph")
    for bad in (0, -3):
        with pytest.raises(ValueError, match="min_len"):
            Segmenter("word", bad)
    seg = Segmenter()
    assert (seg.granularity, seg.min_len) == ("sentence", 10)
    assert GRANULARITIES == ("char", "word", "clause", "sentence")


# --- granularities on hand-written examples --------------------------------------------------


def test_sentence_vs_clause() -> None:
    sent, clause = Segmenter("sentence", 1), Segmenter("clause", 1)
    for seg in (sent, clause):
        seg.update(EXAMPLE, final=True)
        check_invariants(seg)
    assert texts(sent) == ["Dr. Smith paid $1,000.50 for it.", " Then, he left."]
    assert texts(clause) == ["Dr. Smith paid $1,000.50 for it.", " Then,", " he left."]


def test_clause_never_cuts_between_digits() -> None:
    seg = Segmenter("clause", 1)
    seg.update("He owes 1,000, not 2,000; fine: at 10:30, pay.", final=True)
    assert texts(seg) == ["He owes 1,000,", " not 2,000;", " fine:", " at 10:30,", " pay."]
    seg.update("a,b 1, 2 x ,3", final=True)
    assert texts(seg) == ["a,", "b 1,", " 2 x ,", "3"]


def test_word_and_char() -> None:
    word, char = Segmenter("word", 1), Segmenter("char", 1)
    for seg in (word, char):
        seg.update("  The cat  sat.", final=True)
        check_invariants(seg)
    assert texts(word) == ["  The", " cat", "  sat."]
    assert texts(char) == ["  T", "h", "e", " c", "a", "t", "  s", "a", "t", "."]


def test_sentence_whitespace_moves_to_next_piece() -> None:
    seg = Segmenter("sentence", 1)
    seg.update("  The cat sat.  Then it left.\n\nThe end.", final=True)
    assert texts(seg) == ["  The cat sat.", "  Then it left.", "\n\nThe end."]
    assert all(not s.text[-1].isspace() for s in seg.segments)


# --- min_len, stability, final ---------------------------------------------------------------


def test_min_len_merging() -> None:
    seg = Segmenter("word", 10)
    seg.update("a bb ccc dddd eeeee ffffff g h", final=True)
    # groups close once they hold >= 10 non-space characters; the short rest stays its own group
    assert texts(seg) == ["a bb ccc dddd", " eeeee ffffff", " g h"]
    seg = Segmenter("sentence", 3)
    seg.update("Hi. Yo. Okay then. Go.", final=True)
    assert texts(seg) == ["Hi.", " Yo.", " Okay then.", " Go."]
    seg = Segmenter("sentence", 10)
    seg.update("Hi. Yo. Okay then. Go.", final=True)
    assert texts(seg) == ["Hi. Yo. Okay then.", " Go."]


def test_last_piece_is_never_stable() -> None:
    seg = Segmenter("sentence", 1)
    seg.update("The cat sat. Then it left.")
    assert texts(seg) == ["The cat sat."]
    assert seg.tail == " Then it left."
    seg.update("The cat sat. Then it left. ")  # trailing space: still the same last piece
    assert texts(seg) == ["The cat sat."]
    assert seg.update("The cat sat. Then it left. So") == SegmentUpdate(None, [])
    upd = seg.update("The cat sat. Then it left. So ")
    assert upd == SegmentUpdate(None, [Segment(1, 12, 26, " Then it left.")])
    assert seg.tail == " So "


def test_sentence_boundary_waits_for_the_next_word() -> None:
    # pysbd revises boundaries while the next word is typed ("sat ." then "sat ..."), so a
    # sentence/clause boundary is stable only once the word after it is complete.
    seg = Segmenter("sentence", 1)
    for text, stable in [
        ("The cat sat .", []),
        ("The cat sat ..", []),  # pysbd: "The cat sat ." | "."
        ("The cat sat ...", []),
        ("The cat sat ... Then", []),
        ("The cat sat ... Then ", ["The cat sat ..."]),
    ]:
        assert seg.update(text).invalidated_from is None
        assert texts(seg) == stable
    clause = Segmenter("clause", 1)
    clause.update("Then, he")
    assert texts(clause) == []
    clause.update("Then, he ")
    assert texts(clause) == ["Then,"]


def test_short_trailing_group_is_not_stable() -> None:
    seg = Segmenter("word", 10)
    seg.update("aaaaaaaaaa bb cc dd ee")
    assert texts(seg) == ["aaaaaaaaaa"] and seg.tail == " bb cc dd ee"
    seg.update("aaaaaaaaaa bb cc dd ee", final=True)
    assert texts(seg) == ["aaaaaaaaaa", " bb cc dd ee"] and seg.tail == ""


def test_final_and_whitespace() -> None:
    seg = Segmenter("sentence", 10)
    assert seg.update("", final=True) == SegmentUpdate(None, [])
    assert seg.update("   ", final=True) == SegmentUpdate(None, [])
    assert seg.segments == [] and seg.tail == "   "
    seg.update("Hello there.  ", final=True)
    assert texts(seg) == ["Hello there."] and seg.tail == "  "  # trailing whitespace: in tail
    upd = seg.update("Hello there.   How are you?")  # an append after final invalidates nothing
    assert upd == SegmentUpdate(None, []) and seg.tail == "   How are you?"
    upd = seg.update("Hello there.   How are you?", final=True)
    assert upd.invalidated_from is None and texts(seg) == ["Hello there.", "   How are you?"]
    assert seg.update("Hello there.   How are you?", final=True) == SegmentUpdate(None, [])
    upd = seg.update("Hello there.   How are you?")  # un-finalising: the last one is unstable again
    assert upd == SegmentUpdate(1, []) and texts(seg) == ["Hello there."]


def test_identical_text_reset_and_copy() -> None:
    seg = Segmenter("word", 1)
    seg.update("one two three")
    assert seg.update("one two three") == SegmentUpdate(None, [])
    seg.segments.clear()  # a copy: the segmenter is unaffected
    assert texts(seg) == ["one", " two"]
    seg.reset()
    assert (seg.text, seg.segments, seg.tail) == ("", [], "")
    assert seg.update("x y").added == [Segment(0, 0, 1, "x")]


# --- incremental updates and edits -----------------------------------------------------------


@pytest.mark.parametrize("granularity", GRANULARITIES)
@pytest.mark.parametrize("min_len", [1, 10])
def test_typing_appends_never_invalidate(granularity: str, min_len: int) -> None:
    seg = Segmenter(granularity, min_len)
    text = PARAGRAPH * 3
    for n in range(1, len(text) + 1):
        before = seg.segments
        upd = seg.update(text[:n])
        assert upd.invalidated_from is None, (n, text[:n])
        assert [s.index for s in upd.added] == list(range(len(before), len(seg.segments)))
    check_invariants(seg)
    assert seg.segments == fresh(text, False, granularity, min_len)


def test_backspace_at_end() -> None:
    seg = Segmenter("sentence", 1)
    seg.update("One. Two. Three four")
    assert texts(seg) == ["One.", " Two."]
    assert seg.update("One. Two. Three fou") == SegmentUpdate(None, [])
    assert seg.update("One. Two. Three ") == SegmentUpdate(None, [])
    assert seg.update("One. Two. Three") == SegmentUpdate(1, [])  # next word incomplete again
    assert texts(seg) == ["One."] and seg.tail == " Two. Three"
    assert seg.update("One. Two. ") == SegmentUpdate(None, [])
    assert seg.update("One. Two.") == SegmentUpdate(0, [])
    assert seg.update("") == SegmentUpdate(None, []) and seg.tail == ""


def test_insertion_in_the_middle() -> None:
    seg = Segmenter("sentence", 1)
    seg.update("One. Two. Three. Four ")
    assert texts(seg) == ["One.", " Two.", " Three."]
    upd = seg.update("One. Two and a half. Three. Four ")
    assert upd.invalidated_from == 1
    assert [s.text for s in upd.added] == [" Two and a half.", " Three."]
    assert seg.segments == fresh(seg.text, False, "sentence", 1)


def test_paste_at_end_and_in_middle() -> None:
    seg = Segmenter("clause", 1)
    seg.update("Hi, you")
    upd = seg.update("Hi, you. " + EXAMPLE + " ")
    assert upd.invalidated_from is None
    assert [s.text for s in upd.added] == [
        "Hi,",
        " you.",
        " Dr. Smith paid $1,000.50 for it.",
        " Then,",
    ]
    upd = seg.update("Paste, here. " + seg.text)
    assert upd.invalidated_from == 0 and seg.segments == fresh(seg.text, False, "clause", 1)


def test_replace_all_and_clear() -> None:
    seg = Segmenter("word", 1)
    seg.update("alpha beta gamma")
    upd = seg.update("delta epsilon zeta")
    assert upd.invalidated_from == 0 and texts(seg) == ["delta", " epsilon"]
    upd = seg.update("")
    assert upd == SegmentUpdate(0, []) and seg.segments == [] and seg.tail == ""
    assert seg.update("") == SegmentUpdate(None, [])


def test_same_segment_after_edit_is_not_reported() -> None:
    seg = Segmenter("sentence", 1)
    seg.update("One. Two. Three. Four ")
    upd = seg.update("One. Two. Three. Fou ")  # edit inside the unstable tail
    assert upd == SegmentUpdate(None, [])
    upd = seg.update("One. Two. Thre. Fou ")  # edit in the last stable segment
    assert upd == SegmentUpdate(2, [Segment(2, 9, 15, " Thre.")])


# --- long texts: windows and reuse after an edit ---------------------------------------------


@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_long_text_edits_match_fresh(granularity: str) -> None:
    text = PARAGRAPH * 40  # ~10k characters: many windows
    seg = Segmenter(granularity, 10)
    seg.update(text)
    assert seg.segments == fresh(text, False, granularity, 10)
    mid = len(text) // 2
    for new in (
        text[:mid] + text[mid + 1 :],  # backspace in the middle
        text,  # retype
        text[:mid] + "Pasted, text. " + text[mid:],
        text[:100] + text[-300:],  # cut a large block
        text + " More",
    ):
        before = seg.segments
        upd = seg.update(new)
        check_invariants(seg)
        assert seg.segments == fresh(new, False, granularity, 10)
        assert apply(before, upd) == seg.segments


# --- randomized property test ----------------------------------------------------------------


def random_edit(rng: random.Random, text: str) -> str:
    r = rng.random()
    pos = rng.randint(0, len(text))
    chunk = rng.choice(WORDS) + rng.choice(["", " ", " ", ". ", ", ", "\n", "  "])
    if r < 0.55:  # type at the end
        return text + chunk[: rng.randint(1, 3)]
    if r < 0.70:  # backspace(s) at the end
        return text[: -rng.randint(1, 4)] if text else text
    if r < 0.80:  # insert in the middle
        return text[:pos] + chunk + text[pos:]
    if r < 0.88:  # delete a range
        return text[:pos] + text[pos + rng.randint(1, 12) :]
    if r < 0.95:  # paste
        return text[:pos] + " ".join(rng.choices(WORDS, k=rng.randint(3, 25))) + text[pos:]
    if r < 0.98:  # select all + replace
        return " ".join(rng.choices(WORDS, k=rng.randint(0, 8)))
    return ""  # clear


@pytest.mark.parametrize("window", [None, 40])
@pytest.mark.parametrize("granularity", GRANULARITIES)
def test_random_edits_match_fresh(
    granularity: str, window: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if window is not None:  # tiny windows: exercise window boundaries and reuse on short texts
        monkeypatch.setattr(Segmenter, "_WINDOW", window)
    rng = random.Random(f"{granularity}-{window}")
    for min_len in (1, 3, 10):
        seg, text = Segmenter(granularity, min_len), ""
        for _ in range(150):
            text = random_edit(rng, text)
            final = rng.random() < 0.1
            before = seg.segments
            upd = seg.update(text, final=final)
            check_invariants(seg)
            assert seg.segments == fresh(text, final, granularity, min_len), repr(text)
            assert apply(before, upd) == seg.segments
            i = upd.invalidated_from
            if i is not None:  # minimal report: the first reported segment really changed
                assert seg.segments[i : i + 1] != before[i : i + 1]
