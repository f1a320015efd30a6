"""Answer extraction and scoring on realistic model outputs (no model needed)."""

from __future__ import annotations

import pytest

from livemind.eval.answers import extract_answer, is_correct, normalize_number

CHOICE_CASES = [
    ("The answer is (B)", "B"),
    ("the answer is B", "B"),
    ("**The answer is (C).**", "C"),
    ("Answer: (D)", "D"),
    ("Answer: D", "D"),
    ("**Answer:** B", "B"),
    ("**Answer**: B", "B"),
    ("The correct answer is: C) 42", "C"),
    ("The final answer is $\\boxed{C}$.", "C"),
    ("So the answer is \\(\\boxed{D}\\).", "D"),
    ("answer is \\boxed{\\text{A}}", "A"),
    ("The correct option is B.", "B"),
    ("The correct answer is option B.", "B"),
    ("The answer is (b).", "B"),
    ("Let's think step by step.\nA is wrong since 2 + 2 = 4.\nThe answer would be (A).", "A"),
    # several candidates: the last answer phrase wins
    ("At first the answer is (A) seemed right. On reflection, the answer is (C).", "C"),
    ("Answer B is tempting, but 3 > 2. The answer is (C).", "C"),
    ("The answer is (C). Answer A is wrong because it ignores friction.", "C"),
    ("The answer is (A), not (B).", "A"),
    # fallbacks: boxed letter, a final parenthesised letter, a last line that is only a letter
    ("Comparing the options, I get \\boxed{B}", "B"),
    ("Option A is too small and D too large, so I pick (C).", "C"),
    ("Only one option survives:\n\nC.", "C"),
    ("Reasoning...\n**D**", "D"),
    ("Reasoning...\n(A)", "A"),
    # nothing usable
    ("The answer is a bit tricky; let me think again.", None),
    ("The answer is Alaska.", None),
    ("I chose plan B.", None),
    ("", None),
    ("No idea, sorry.", None),
]


@pytest.mark.parametrize(("text", "expected"), CHOICE_CASES)
def test_extract_choice(text: str, expected: str | None) -> None:
    assert extract_answer(text, "choice") == expected


def test_choice_letters_beyond_n_options_are_rejected() -> None:
    assert extract_answer("The answer is (E)", "choice") is None
    assert extract_answer("The answer is (E)", "choice", n_options=5) == "E"
    assert extract_answer("The answer is (J).", "choice", n_options=10) == "J"
    assert extract_answer("The answer is (K).", "choice", n_options=10) is None
    # an out-of-range final phrase does not hide an earlier valid one
    assert extract_answer("The answer is (B). Hmm, the answer is (F).", "choice") == "B"
    assert extract_answer("Reasoning...\nE.", "choice") is None


NUMBER_CASES = [
    ("The answer is 476", "476"),
    ("The answer is 476.", "476"),
    ("The answer is $1,234.50.", "1234.5"),
    ("The answer is: **18**", "18"),
    ("**Answer:** 18 eggs", "18"),
    ("Janet sells 16 - 3 - 4 = 9 eggs, earning 9 * 2 = 18 dollars.\n#### 18", "18"),
    ("The final answer is $\\boxed{18}$.", "18"),
    ("\\boxed{\\$1,000}", "1000"),
    ("\\[ \\boxed{12.50} \\]", "12.5"),
    ("The answer is 7.0", "7"),
    ("The answer is -12.50", "-12.5"),
    ("The temperature fell to \u22123 degrees. The answer is \u22123.", "-3"),
    ("The answer is 3/4", "0.75"),
    ("The answer is \\frac{1}{2}", "0.5"),
    ("Answer: 50%", "50"),
    ("The answer is .5", "0.5"),
    ("The answer is 1,000,000 dollars", "1000000"),
    # several candidates: the last marked one wins, even before later unmarked numbers
    ("The answer is 20. Wait, 4 * 6 = 24. The answer is 24.", "24"),
    ("#### 72\nThe answer is 72", "72"),
    ("The answer is 18. Check: 9 + 9 = 18 over 2 days.", "18"),
    ("\\boxed{5} ... recomputing ... \\boxed{6}", "6"),
    # fallback: the last number in the text
    ("He has 5 apples and 7 pears, so 12 fruits in total.", "12"),
    ("So the total cost is $45.00", "45"),
    ("It costs -$5 in total", "-5"),
    ("Using version v2.0 of the recipe we need 3 cups", "3"),
    # nothing usable
    ("I cannot solve this problem.", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), NUMBER_CASES)
def test_extract_number(text: str, expected: str | None) -> None:
    assert extract_answer(text, "number") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("476", "476"),
        ("$1,234.50", "1234.5"),
        ("12.50", "12.5"),
        ("7.0", "7"),
        ("-0", "0"),
        ("-3.25", "-3.25"),
        ("50%", "50"),
        (".5", "0.5"),
        ("-.5", "-0.5"),
        ("1e3", "1000"),
        ("abc", None),
        ("", None),
        ("nan", None),
        ("--3", None),
    ],
)
def test_normalize_number(raw: str, expected: str | None) -> None:
    assert normalize_number(raw) == expected


def test_is_correct() -> None:
    assert is_correct("B", "B", "choice")
    assert is_correct("b", "B", "choice")
    assert not is_correct("C", "B", "choice")
    assert not is_correct(None, "B", "choice")
    assert is_correct("12.5", "12.50", "number")
    assert is_correct("476", "476.0", "number")
    assert is_correct("1000000.0000001", "1000000", "number")  # relative tolerance
    assert not is_correct("476.01", "476", "number")
    assert not is_correct("-5", "5", "number")
    assert not is_correct(None, "5", "number")
    assert not is_correct("five", "5", "number")
    assert is_correct(extract_answer("... The answer is $1,234.50.", "number"), "1234.5", "number")


WORD_CASES = [
    ("The answer is Carol", "carol"),
    ("The answer is Carol.", "carol"),
    ("The answer is: **Carol**.", "carol"),
    ("**The answer is Carol.**", "carol"),
    ('**Answer:** "Carol"', "carol"),
    ("Final answer: 'carol'", "carol"),
    ("The answer is $\\boxed{\\text{Carol}}$.", "carol"),
    ("The answer is \u201cCarol\u201d.", "carol"),
    ("The answer is ARNOLD!", "arnold"),
    ("The answer is Anne-Marie.", "anne-marie"),
    # several phrases: the last one wins, whatever names come after it
    ("The answer is Bob? No: clue 9 puts Bob in house 6.\nThe answer is **Carol**.", "carol"),
    ("At first the answer is Alice looked right; the answer is David. Emily is in 2.", "david"),
    # the name starts a longer sentence after the phrase
    ("The answer is Carol, because she uses the Huawei P50.", "carol"),
    # no phrase: a last line that is one word, else nothing
    ("Clue 3 places Carol next to the coffee drinker.\n\n**Carol**.", "carol"),
    ("Working through the clues...\ncarol", "carol"),
    ("So Carol must be the person who lives in House 1.", None),
    ("The person in House 1 is Carol", None),
    # a phrase followed by a number is not a word answer
    ("The answer is 1.", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), WORD_CASES)
def test_extract_word(text: str, expected: str | None) -> None:
    assert extract_answer(text, "word") == expected


def test_word_is_correct() -> None:
    assert is_correct("carol", "carol", "word")
    assert is_correct("Carol", "carol", "word") and is_correct("carol", "CAROL", "word")
    assert is_correct("**Carol**.", "carol", "word")  # stray markdown and punctuation
    assert not is_correct("carl", "carol", "word")
    assert not is_correct("caroline", "carol", "word")
    assert not is_correct(None, "carol", "word")
    assert not is_correct("", "", "word") and not is_correct("...", "...", "word")
    got = extract_answer("Clue 4 rules out Arnold. The answer is: **Carol**.", "word")
    assert is_correct(got, "carol", "word")


def test_unknown_kind() -> None:
    with pytest.raises(ValueError, match="kind"):
        extract_answer("The answer is 3", "text")
    with pytest.raises(ValueError, match="kind"):
        is_correct("3", "3", "text")
