"""The note label is dropped from the start of an answer, however the stream is cut."""

from __future__ import annotations

import pytest

from livemind.answer_label import LabelStripper, strip_label

CASES = [
    ("INFERENCE: answer: (D)", "answer: (D)"),
    ("INFERENCE: The answer is (C)", "The answer is (C)"),
    ("inference:   (B) because x", "(B) because x"),
    ("**INFERENCE:** (A)", "(A)"),
    ("**INFERENCE**: (A)", "(A)"),
    ("  INFERENCE :\n(A)", "(A)"),
    ("INFERENCE: **B** is right", "**B** is right"),  # the answer's own bold stays
    ("The answer is (A).", "The answer is (A)."),
    ("Inferences are drawn from data.", "Inferences are drawn from data."),
    ("INFERENCE answer (A)", "INFERENCE answer (A)"),  # no colon: no label
    ("INFER", "INFER"),  # ended while it could still have been a label
    ("INFERENCE:", ""),
    ("", ""),
    ("  spaced answer", "  spaced answer"),
    ("A note says INFERENCE: x", "A note says INFERENCE: x"),  # only at the start
]


@pytest.mark.parametrize(("raw", "shown"), CASES)
def test_whole_text(raw: str, shown: str) -> None:
    assert strip_label(raw) == shown


@pytest.mark.parametrize(("raw", "shown"), CASES)
def test_every_way_of_cutting_the_stream_gives_the_same_answer(raw: str, shown: str) -> None:
    cuts = range(len(raw) + 1)
    for a in cuts:
        for b in cuts:
            if b < a:
                continue
            emitted: list[str] = []
            stripper = LabelStripper(emitted.append)
            for piece in (raw[:a], raw[a:b], raw[b:]):
                stripper(piece)
            assert stripper.flush() == shown, (a, b)
            assert "".join(emitted) == shown
            assert all(emitted), "no empty deltas"


def test_an_answer_is_not_held_back_once_it_cannot_be_a_label() -> None:
    emitted: list[str] = []
    stripper = LabelStripper(emitted.append)
    stripper("The")
    assert emitted == ["The"]
    stripper("INF")  # later text is passed at once, label or not
    assert emitted == ["The", "INF"]
