"""Prompt formats: how prompt segments and stored inferences become chat messages.

A format is a named layout (:mod:`livemind.prompt_layouts`: the paper's ``u-pi``,
``u-pli``, ``ua-pil``, ``u-spi``, ``ua-spi`` and the cache-aligned ``aligned``) with the
wording of :mod:`livemind.prompt_wording`. Every layout serves both stages: the inference
stage (the text is still arriving) and the output stage (the input is complete; answer it).
The system prompt is the same for both stages and the stage instruction always comes last,
so a shared prefix can be cached. With an empty instruction a layout gives the *prefix* of
its next call (for prewarming).

This module is the public entry: it builds whole message lists and re-exports the names of
those two modules that callers use.
"""

from __future__ import annotations

from collections.abc import Sequence

from livemind.actions import ActionKind
from livemind.answer_modes import DEFAULT_NOTES
from livemind.backends.base import Message
from livemind.prompt_layouts import LAYOUTS, Layout, PromptView, join, user
from livemind.prompt_wording import (
    BASELINE_SYSTEM_PROMPT,
    DONE_MARK,
    LOOK_MARK,
    SYSTEM_PROMPT,
    TYPING_MARK,
    aligned_output_instruction,
    aligned_system_prompt,
    inference_instruction,
    output_instruction,
)

__all__ = [
    "APPEND_ONLY_FORMATS",
    "BASELINE_SYSTEM_PROMPT",
    "DEFAULT_FORMAT",
    "DONE_MARK",
    "LOOK_MARK",
    "FORMATS",
    "SYSTEM_PROMPT",
    "TYPING_MARK",
    "Layout",
    "PromptView",
    "aligned_output_instruction",
    "aligned_system_prompt",
    "baseline_messages",
    "check_format",
    "inference_instruction",
    "inference_messages",
    "output_instruction",
    "output_messages",
    "prefix_messages",
    "solve_messages",
]

FORMATS: tuple[str, ...] = ("u-pi", "u-pli", "ua-pil", "u-spi", "ua-spi", "aligned")
APPEND_ONLY_FORMATS = frozenset({"aligned"})
DEFAULT_FORMAT = "aligned"


def baseline_messages(
    prompt: str, answer_instruction: str = "", history: Sequence[Message] = ()
) -> list[Message]:
    """The conventional baseline: the complete prompt at once, step-by-step answer."""
    tail = f"Think step by step, then answer. {answer_instruction}".strip()
    return [
        {"role": "system", "content": BASELINE_SYSTEM_PROMPT},
        *history,
        {"role": "user", "content": f"{prompt}\n\n{tail}"},
    ]


def solve_messages(
    prompt: str, instruction: str = "", history: Sequence[Message] = ()
) -> list[Message]:
    """The plain layout of a problem the answer solves without notes (``notes="auto"``
    on a numeric word problem): the text, then the instruction. Without an instruction
    it is the prefix the typing phase prewarms."""
    return [
        {"role": "system", "content": BASELINE_SYSTEM_PROMPT},
        *history,
        user(join(prompt, instruction)),
    ]


def check_format(name: str) -> str:
    """Return ``name`` if it is a known format, else ValueError listing them."""
    if name not in LAYOUTS:
        raise ValueError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}")
    return name


def inference_messages(
    fmt: str,
    view: PromptView,
    actions: Sequence[ActionKind],
    history: Sequence[Message] = (),
    answer_instruction: str = "",
    notes: str = DEFAULT_NOTES,
    final_look: bool = False,
) -> list[Message]:
    """Chat messages for one inference-stage call (``final_look``: the text may be a
    complete question, asked for its answer; candidate notes)."""
    if check_format(fmt) in APPEND_ONLY_FORMATS:
        instruction = LOOK_MARK if final_look else TYPING_MARK
    else:
        instruction = inference_instruction(actions, notes, final_look)
    return _messages(fmt, view, instruction, actions, answer_instruction, history, notes)


def output_messages(
    fmt: str,
    view: PromptView,
    answer_instruction: str = "",
    history: Sequence[Message] = (),
    actions: Sequence[ActionKind] = (ActionKind.INFERENCE, ActionKind.WAIT),
    notes: str = DEFAULT_NOTES,
    mode: str = "short",
    budget: int = 0,
) -> list[Message]:
    """Chat messages for the output stage (the input is complete), in a resolved answer
    ``mode`` (``short`` or ``reason``, with its token ``budget``; 0: unbounded)."""
    if check_format(fmt) in APPEND_ONLY_FORMATS:
        instruction = aligned_output_instruction(answer_instruction, mode, budget, notes)
    else:
        instruction = output_instruction(answer_instruction, mode, budget, notes)
    return _messages(fmt, view, instruction, actions, answer_instruction, history, notes)


def prefix_messages(
    fmt: str,
    view: PromptView,
    actions: Sequence[ActionKind],
    history: Sequence[Message] = (),
    answer_instruction: str = "",
    notes: str = DEFAULT_NOTES,
) -> list[Message]:
    """The messages the next call of either stage starts with (``view.tail`` being the
    text so far): for prefilling the cache while the user types."""
    return _messages(fmt, view, "", actions, answer_instruction, history, notes)


def _messages(
    fmt: str,
    view: PromptView,
    instruction: str,
    actions: Sequence[ActionKind],
    answer_instruction: str,
    history: Sequence[Message],
    notes: str,
) -> list[Message]:
    if check_format(fmt) in APPEND_ONLY_FORMATS:
        system = aligned_system_prompt(actions, answer_instruction, notes)
    else:
        system = SYSTEM_PROMPT
    body = LAYOUTS[fmt](view, instruction)
    return [{"role": "system", "content": system}, *history, *body]
