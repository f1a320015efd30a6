"""Answer modes and note policies: how the output stage answers, and what notes say.

Answer modes (``SessionConfig.answer_mode``):

- ``short``: answer at once from the notes (the paper's output stage; best on multiple
  choice, where the notes already weighed the options).
- ``reason``: a brief step-by-step derivation, one short line per step, before the
  answer; over notes it is told to check any note it uses against the text.
  ``reason_budget`` caps it in tokens (0: ``answer_max_tokens``); the prompt asks for at
  most ``budget // 20`` lines, so the cap is a guard, not the plan.
- ``auto``: per turn, ``reason`` for a numeric word problem, ``short`` otherwise
  (:func:`question_shape`).

Note policies (``SessionConfig.notes``): ``facts`` asks the inference stage for facts and
named quantities that hold whatever the final question is (``goats = 3 * 17 = 51``), with a
worked example; ``steps`` for the next part of a step-by-step solution; ``free`` is the
earlier wording (any fact or intermediate result); ``candidate`` is ``free`` plus the
answer the note writer would give, with its reason, as soon as the question can be
answered (for collaborative mode: a small output model repeats a stated answer far more
reliably than it works one out, BENCHMARKS §2); ``auto`` writes ``free`` notes (the
wording measured on MMLU, BENCHMARKS §5) but none while the text reads like a numeric
word problem (:func:`looks_numeric`), nor at all when the answer mode is ``reason``: on
GSM-style problems the 1.5B model's notes were wrong so often that every answer built on
them was worse than one that solves the problem from the text (tuning sample,
docs/METHOD.md), and with notes in the transcript a ``reason`` answer does not reason (it
answers in ~8 tokens on GSM and on MMLU, BENCHMARKS §6, §7). The answer then uses the
plain layout (:func:`solving`).

All of this is pure: strings in, strings out.
"""

from __future__ import annotations

import re

ANSWER_MODES: tuple[str, ...] = ("short", "reason", "auto")
NOTE_POLICIES: tuple[str, ...] = ("auto", "facts", "steps", "free", "candidate")
DEFAULT_ANSWER_MODE = "auto"
DEFAULT_NOTES = "auto"
DEFAULT_REASON_BUDGET = 0
# How a ``candidate`` note states its answer: "answer:" is a phrase the bench's answer
# reader knows, and a note cut off after its first comma still holds the answer.
CANDIDATE_SHAPE = (
    '"INFERENCE: answer: (X), because ..." with X the option\'s letter, or the value if '
    "there are no options"
)

OPTION_LINE = re.compile(r"^\s*\(?[A-Ja-j][.):]\s+\S", re.M)  # "B. ...", "(c) ..."
NUMBER = re.compile(r"(?<![\w.])\$?\d[\d,]*(?:\.\d+)?%?")  # 12, 1,000, $3.50, 30%
_SENTENCE = re.compile(r"[^.?!\n]+(?:[.?!]+|$)", re.M)  # a rough split: enough for a share
_QUANTITY_CUE = re.compile(
    r"\?|\b(?:how\s+(?:many|much|long|far|old|fast|often)|total|sum|difference|average|"
    r"calculate|compute|find)\b",
    re.I,
)


def default_notes(collaborative: bool) -> str:
    """The note policy a command line uses when none is given: ``candidate`` when another
    (smaller) model answers, whose answers follow a stated answer far more often than
    they get one right alone; else :data:`DEFAULT_NOTES`."""
    return "candidate" if collaborative else DEFAULT_NOTES


def looks_numeric(text: str) -> bool:
    """Whether text typed so far reads like the start of a numeric word problem: two or
    more numbers, in at least a third of its sentences, and no answer options. (Notes on
    such text mislead the answer: the module docstring.) The share keeps a long passage
    with a date or two in it (a history stem) from reading as a word problem; on GSM
    problems a number is in most sentences."""
    if len(NUMBER.findall(text)) < 2 or len(OPTION_LINE.findall(text)) >= 2:
        return False
    sentences = [s for s in _SENTENCE.findall(text) if s.strip()]
    with_number = sum(1 for s in sentences if NUMBER.search(s))
    return 3 * with_number >= len(sentences)


def solving(notes: str, text: str, answer_mode: str = "auto") -> bool:
    """Whether ``text`` is left to the answer under a note policy: ``auto`` writes no
    notes when the answer mode is ``reason`` or the text :func:`looks_numeric`; the answer
    then solves it from the text alone, in the plain layout (``formats.solve_messages``),
    prefilled while typed."""
    return notes == "auto" and (answer_mode == "reason" or looks_numeric(text))


def notes_paused_reason(answer_mode: str) -> str:
    """Why ``notes="auto"`` writes no notes (the ``notes.paused`` event's text)."""
    why = (
        "answer mode reason: the answer derives from the text"
        if answer_mode == "reason"
        else "a numeric word problem: no notes (they mislead small models)"
    )
    return f"{why}; the text is prefilled and the answer works it out at Enter"


def solve_directive(mode: str, budget: int) -> str:
    """The instruction after a problem in the plain layout (the answer format follows).
    A ``short`` answer is asked for at once, as over notes: "answer it briefly" let the
    1.5B model work math questions out at length (BENCHMARKS §10)."""
    if mode == "reason":
        return f"Solve it step by step, briefly: {reason_steps(budget)}, with the numbers."
    return "Give the answer straight away, without working it out."


def question_shape(text: str) -> str:
    """``choice`` (two or more option lines), ``numeric`` (a problem to work out: at
    least two numbers and a question or a quantity word), or ``open`` (anything else)."""
    if len(OPTION_LINE.findall(text)) >= 2:
        return "choice"
    if len(NUMBER.findall(text)) >= 2 and _QUANTITY_CUE.search(text):
        return "numeric"
    return "open"


def asks_now(text: str) -> bool:
    """Whether ``text`` ends like a complete question: on its options (two or more option
    lines, the last line one of them) or on a question mark."""
    stripped = text.rstrip()
    if stripped.endswith("?"):
        return True
    lines = stripped.splitlines()
    return (
        bool(lines)
        and len(OPTION_LINE.findall(stripped)) >= 2
        and bool(OPTION_LINE.match(lines[-1]))
    )


def resolve_answer_mode(mode: str, text: str) -> str:
    """The concrete mode (``short`` or ``reason``) for one turn's complete ``text``."""
    if mode == "auto":
        return "reason" if question_shape(text) == "numeric" else "short"
    if mode not in ("short", "reason"):
        raise ValueError(f"unknown answer mode {mode!r}; choose one of: {', '.join(ANSWER_MODES)}")
    return mode


def answer_budget(mode: str, reason_budget: int, answer_max_tokens: int) -> int:
    """``max_tokens`` of the answer call for a resolved ``mode``."""
    if mode == "reason" and reason_budget > 0:
        return min(reason_budget, answer_max_tokens)
    return answer_max_tokens


def reason_steps(budget: int) -> str:
    """How long a ``reason`` answer should be, in words the model can follow."""
    if budget <= 0:
        return "one short line per step"
    lines = max(2, min(12, budget // 20))
    return f"one short line per step, at most {lines} lines"


def answer_directive(mode: str, budget: int, notes: str = DEFAULT_NOTES) -> str:
    """The mode's sentence of the output-stage instruction (the answer format follows);
    under ``candidate`` notes a short answer repeats the answer a note already gives."""
    if mode == "short" and notes == "candidate":
        return (
            "Now give the final answer in plain text, not as an INFERENCE line. If an "
            "INFERENCE line above already gives an answer, give that same answer."
        )
    if mode == "reason":
        return (
            f"Now solve it step by step, briefly: {reason_steps(budget)}, with the numbers "
            "read from the message (check any INFERENCE line you use against it); no "
            "INFERENCE label."
        )
    return "Now answer the whole message in plain text, not as an INFERENCE line."


# A worked example in the system prompt (our own problem): it shows the 1.5B models what
# a named, certain note looks like far better than a description does. It sits in the
# cached prefix, so it costs prefill once per slot, never at Enter.
_FACTS_EXAMPLE = (
    'Example: "A farm has 12 cows. [typing]" -> INFERENCE: cows = 12. '
    '"Each cow eats 3 bales of hay a day, and a bale costs $4. [typing]" -> INFERENCE: '
    "bales per day = 12 * 3 = 36; hay cost per day = 36 * 4 = $144. "
    '"The farmer also keeps [typing]" -> WAIT. '
    '"How much does the hay cost in a week? [done]" -> hay cost per day = $144; '
    "hay cost per week = 144 * 7 = $1008."
)


def notes_description(notes: str) -> str:
    """What an ``INFERENCE`` line should hold under a note policy (aligned layout)."""
    if notes == "facts":
        return (
            "INFERENCE: <what the newest piece states or settles, as short named facts; "
            "give a value whenever the numbers allow (name = expression = value) and build "
            "on your earlier lines; only what is certain whatever the final question turns "
            "out to be, never a guess at the question>"
        )
    if notes == "steps":
        return (
            "INFERENCE: <the next part of a step-by-step solution: say what the newest "
            "piece tells you and work out, with numbers, what follows from it and the "
            "earlier pieces; do not guess what will be asked>"
        )
    if notes in ("free", "auto"):
        return (
            "INFERENCE: <a fact or intermediate result the newest piece lets you work out, "
            "not already in your earlier lines>"
        )
    if notes == "candidate":
        return (
            "INFERENCE: <a fact or intermediate result the newest piece lets you work out, "
            "not already in your earlier lines; no answer yet>"
        )
    raise ValueError(f"unknown notes policy {notes!r}; choose one of: {', '.join(NOTE_POLICIES)}")


def look_description() -> str:
    """What a final look's note holds (``candidate`` notes, aligned layout)."""
    return f"the answer you would give first, then why in a few words: {CANDIDATE_SHAPE}"


def notes_example(notes: str) -> str:
    """The worked example the system prompt ends with under a note policy ('' for none)."""
    return _FACTS_EXAMPLE if notes == "facts" else ""


def notes_request(notes: str) -> str:
    """The note request of the non-aligned layouts' inference instruction."""
    if notes == "facts":
        return (
            "From the newest text, state what it settles as short named facts in one line "
            "starting with INFERENCE:, with a value whenever the numbers allow (name = "
            "expression = value). Only write what is certain whatever the final question "
            "turns out to be; never guess the question. Do not repeat earlier notes."
        )
    notes_description(notes)  # validates
    return (
        "From the newest text, compute an intermediate result or state a fact you will need "
        "for the answer, in one line starting with INFERENCE:. Do not repeat earlier notes."
    )
