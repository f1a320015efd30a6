"""How far back a note reaches, from a record's action trace (pure logic)."""

from __future__ import annotations

from livemind.eval.note_reach import content_words, note_reaches


def inference(segments: list[str], note: str) -> dict[str, object]:
    return {"action": "inference", "segments": segments, "content": note}


def test_a_note_naming_someone_from_sentences_ago_reaches_back_to_them() -> None:
    actions = [
        inference(["Alice keeps the goldfish."], "Alice owns a goldfish."),
        inference([" Bob drinks tea.", " Carol likes jazz."], "Bob likes tea."),
        {"action": "wait", "segments": [" Dan is tall."], "content": ""},
        inference([" The jazz lover lives left of Dan."], "Carol lives left of Dan."),
        inference([" The fish owner lives in the red house."], "Alice lives in the red house."),
    ]
    reaches = note_reaches(actions)
    assert [r.at for r in reaches] == [0, 1, 4, 5]
    assert [r.reach for r in reaches] == [0, 0, 2, 5]
    assert (reaches[2].word, reaches[2].source) == ("carol", "Carol likes jazz.")
    assert (reaches[3].word, reaches[3].source) == ("alice", "Alice keeps the goldfish.")


def test_the_nearest_earlier_mention_counts_and_a_grown_tail_keeps_its_place() -> None:
    actions = [
        inference(["Erin plays chess."], "Erin plays chess."),
        inference([" Frank plays"], "no note yet"),
        inference([" Frank plays golf with her."], "Frank plays golf with Erin."),
        inference([" Gina watches Frank."], "Erin is watched by Gina."),
    ]
    reaches = note_reaches(actions)
    # the grown tail stays sentence 1, one sentence after Erin's
    assert [r.at for r in reaches] == [0, 1, 1, 2]
    assert reaches[2].reach == 1 and reaches[2].word == "erin"
    assert reaches[3].reach == 2 and reaches[3].source == "Erin plays chess."
    # a word of the note's own piece does not count, even if said before (Frank)
    assert reaches[3].word == "erin"


def test_content_words_skip_short_and_common_words() -> None:
    assert content_words("The answer is that Alice has 12 fish and 3 cats.") == {
        "alice",
        "12",
        "fish",
        "cats",
    }
