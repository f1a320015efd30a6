"""The words of the prompts: system prompts, stage marks and the stage instructions.

The inference-stage instruction asks for one note (per the note policy of
:mod:`livemind.answer_modes`) or ``WAIT``; the output-stage instruction asks for the answer
in its resolved mode. The ``aligned`` layout explains both stages once, in its system
prompt, and its turns end in a short stage mark (:data:`TYPING_MARK` / :data:`DONE_MARK`)
instead. Everything here is a pure function of its arguments.
"""

from __future__ import annotations

from collections.abc import Sequence

from livemind.actions import ActionKind
from livemind.answer_modes import (
    DEFAULT_NOTES,
    answer_directive,
    look_description,
    notes_description,
    notes_example,
    notes_request,
)

SYSTEM_PROMPT = (
    "You are a helpful assistant that reads questions while they are being typed. "
    "Use the time before the question is complete to work out facts and intermediate "
    "results, so that the final answer can be short and quick."
)
BASELINE_SYSTEM_PROMPT = "You are a helpful assistant."

TYPING_MARK = "[typing]"
LOOK_MARK = "[question complete?]"  # a final look (candidate notes): state the answer
DONE_MARK = "[done]"

_OPTIONAL_ACTIONS: dict[ActionKind, str] = {
    ActionKind.BACKGROUND: "BACKGROUND: <knowledge or context the question relies on>",
    ActionKind.HYPOTHESIZE: "HYPOTHESIZE: <the likely full question and its answer>",
}


def inference_instruction(
    actions: Sequence[ActionKind], notes: str = DEFAULT_NOTES, final_look: bool = False
) -> str:
    """The inference-stage instruction for an action set (``inference`` and ``wait``
    are always offered; ``background`` and ``hypothesize`` when the set has them) and a
    note policy (``answer_modes.NOTE_POLICIES``); a final look asks for the answer."""
    if final_look:
        return (
            "[Partial input: the question may be complete.] Reply with one line, "
            f"{look_description()}."
        )
    extra = [line for kind, line in _OPTIONAL_ACTIONS.items() if kind in actions]
    alternatives = f" You may instead reply {' or '.join(extra)}." if extra else ""
    return (
        "[Partial input: the user is still typing.]\n"
        f"{notes_request(notes)}"
        f"{alternatives} Reply WAIT only if the newest text is too fragmentary to use."
    )


def aligned_system_prompt(
    actions: Sequence[ActionKind], answer_instruction: str = "", notes: str = DEFAULT_NOTES
) -> str:
    """The ``aligned`` format's one system prompt: both stages explained up front. It is
    the same whatever the answer mode, which the final turn's tail names."""
    extra = [line for kind, line in _OPTIONAL_ACTIONS.items() if kind in actions]
    alternatives = f"{', '.join(extra)}, " if extra else ""
    if notes in ("free", "auto"):  # the earlier wording, kept word for word
        wait = "or WAIT if the newest piece is too fragmentary to use"
        done = (
            "answer it, reusing your INFERENCE lines and working out only what is still "
            "missing, in plain text"
        )
    else:
        wait = "or WAIT if the newest piece adds nothing certain"
        done = "answer it as the line after the mark asks"
    look = (
        f"After a piece that ends with {LOOK_MARK}, the question may be complete: reply "
        f"with one line, {look_description()}. "
        if notes == "candidate"
        else ""
    )
    text = (
        "You are a helpful assistant that reads the user's message while it is still being "
        f"typed; it arrives in pieces. After a piece that ends with {TYPING_MARK}, reply "
        f"with one line: {notes_description(notes)}, {alternatives}{wait}. {look}"
        f"A piece that ends with {DONE_MARK} completes the message: {done}."
    )
    return " ".join(p for p in (text, notes_example(notes), answer_instruction) if p)


def aligned_output_instruction(
    answer_instruction: str = "", mode: str = "short", budget: int = 0, notes: str = DEFAULT_NOTES
) -> str:
    """The ``aligned`` output-stage tail: the done mark, then the answer mode's directive
    (these few tokens are the only instruction the answer call prefills unseen)."""
    text = f"{DONE_MARK}\n\n{answer_directive(mode, budget, notes)}"
    return f"{text} {answer_instruction}".strip()


def output_instruction(
    answer_instruction: str = "", mode: str = "short", budget: int = 0, notes: str = DEFAULT_NOTES
) -> str:
    """The output-stage instruction of the non-aligned layouts: the input is complete."""
    if mode == "reason" or notes == "candidate":
        text = f"[The user has finished typing.] {answer_directive(mode, budget, notes)}"
    else:
        text = (
            "[The user has finished typing.] Answer the question. Reuse the results in your "
            "notes, work out any missing step briefly, then give the final answer "
            "(plain text, no INFERENCE label)."
        )
    return f"{text} {answer_instruction}".strip()
