"""Note correctness on GSM (eval/notes_check.py): the numbers a right note may hold."""

from livemind.eval.datasets import load_dataset
from livemind.eval.notes_check import check_notes, known_values, numbers_in

STEM = "Mary has 53 ledges with 10 plants each. 30% of the plants are red. She got 31 more."
SOLUTION = "53*10 = 530 plants\n530 + 31 = 561\n#### 561"


def test_numbers_in_normalises() -> None:
    assert numbers_in("cost = $1,008.50; 3 * 17 = 51.") == ["1008.5", "3", "17", "51"]
    assert numbers_in("no digits here") == []


def test_known_values_cover_the_text_the_solution_and_shares() -> None:
    known = set(known_values(STEM, SOLUTION, [53, 10, "red", True]))
    assert {"53", "10", "530", "31", "561", "30"} <= known
    assert {"0.3", "0.7"} <= known  # 30 % as a share, and the rest
    assert {"7", "12", "100", "365"} <= known  # small counts and unit constants
    assert "583" not in known


def test_check_notes_counts_only_inference_notes_with_numbers() -> None:
    known = known_values(STEM, SOLUTION)
    actions = [
        {"action": "inference", "content": "plants = 53 * 10 = 530"},  # right
        {"action": "inference", "content": "plants = 53 + 10 = 63"},  # 63: a wrong step
        {"action": "inference", "content": "Mary likes plants"},  # no number: unchecked
        {"action": "wait", "content": ""},
    ]
    assert check_notes(actions, known) == (2, 1)


def test_gsm_questions_carry_their_known_values() -> None:
    q = load_dataset("gsm", n=1, seed=42, min_sentences=4)[0]
    assert q.gold in q.known_values and set(numbers_in(q.stem)) <= set(q.known_values)
    mmlu = load_dataset("mmlu", n=1)[0]
    assert mmlu.known_values == ()
