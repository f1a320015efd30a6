"""The stated answers of candidate notes in the report: which note states an answer, how
often the final answer repeats it, how often it is right (pure, on hand-made records)."""

from __future__ import annotations

from livemind.eval.report import render_markdown
from livemind.eval.section_stats import stated_answer
from livemind.eval.stats import summarize


def note(content: str) -> dict:
    return {"segments": ["x"], "action": "inference", "content": content}


def record(qid: str, gold: str, extracted: str | None, notes: list[str]) -> dict:
    return {
        "config": "collab",
        "dataset": "toy",
        "qid": qid,
        "gold": gold,
        "extracted": extracted,
        "correct": extracted == gold,
        "latency_s": 1.0,
        "error": None,
        "model": "large",
        "output_model": "small",
        "actions": [note(n) for n in notes],
    }


def test_the_last_note_that_states_an_answer_counts() -> None:
    r = record("q1", "B", "B", ["answer: (A), because x", "the text says y", "answer: (B), as"])
    assert stated_answer(r) == "B"
    assert stated_answer(record("q2", "C", "C", ["answer: (D)", "a fact, no answer"])) == "D"
    # a letter or number in a note that states no answer is not a stated answer
    assert stated_answer(record("q3", "A", "A", ["option (A) looks odd", "costs 12 (B)"])) is None
    assert stated_answer(record("q4", "12", "12", ["answer: 12, since 3 * 4"])) == "12"
    assert stated_answer(record("q5", "12", "12", ["there are 12 boxes"])) is None
    assert stated_answer(record("q6", "carol", "bob", ["answer: Carol, because"])) == "carol"


def test_agreement_and_the_stated_answers_accuracy_in_the_report() -> None:
    records = [
        record("q1", "B", "B", ["answer: (B), because"]),  # repeated, right
        record("q2", "B", "C", ["answer: (A), because"]),  # not repeated, wrong
        record("q3", "D", "D", ["answer: (D),"]),  # repeated, right
        record("q4", "A", "A", ["a fact"]),  # nothing stated
    ]
    (s,) = summarize(records)
    assert s.stated == 3
    assert s.agrees_with_stated == 2 / 3
    assert s.stated_right == 2 / 3
    md = render_markdown([s], title="t")
    assert "final answer = stated" in md and "66.7" in md
