"""Prompt formats: how prompt segments and stored inferences become chat messages.

Five layouts (U = user message, A = assistant message, P = prompt, I = inferences,
L = latest segments, S = sequential blocks):

- ``u-pi``   one user message: the prompt so far, then the list of notes.
- ``u-pli``  one user message: the earlier prompt, the new part, then the notes.
- ``ua-pil`` user = earlier prompt; assistant = all notes; user = the new part.
- ``u-spi``  one user message of alternating "Prompt:"/"Note:" blocks.
- ``ua-spi`` alternating user (segments) / assistant (note) turns.
- ``aligned`` cache-aligned ua-spi: every call's prompt is the previous call's prompt plus
  its reply plus the new text. The instructions live in the system prompt; each user turn
  ends with a short stage mark (``[typing]`` / ``[done]``) that stays in the transcript,
  and ``WAIT`` replies stay too (the next call starts after them instead of re-reading).
  The final turn adds a short answer instruction after ``[done]``: with the mark alone,
  small models keep writing ``INFERENCE:`` lines instead of an answer.

Every layout serves both stages: the inference stage (the text is still arriving) and the
output stage (the input is complete; answer it). The system prompt is the same for both
stages and the stage instruction always comes last, so a shared prefix can be cached.
With an empty instruction a layout gives the *prefix* of its next call (for prewarming).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from livemind.actions import ActionKind
from livemind.answer_modes import (
    DEFAULT_NOTES,
    answer_directive,
    notes_description,
    notes_example,
    notes_request,
)
from livemind.backends.base import Message
from livemind.memory import MemoryEntry

FORMATS: tuple[str, ...] = ("u-pi", "u-pli", "ua-pil", "u-spi", "ua-spi", "aligned")
APPEND_ONLY_FORMATS = frozenset({"aligned"})
DEFAULT_FORMAT = "aligned"

SYSTEM_PROMPT = (
    "You are a helpful assistant that reads questions while they are being typed. "
    "Use the time before the question is complete to work out facts and intermediate "
    "results, so that the final answer can be short and quick."
)
BASELINE_SYSTEM_PROMPT = "You are a helpful assistant."

TYPING_MARK = "[typing]"
DONE_MARK = "[done]"

_OPTIONAL_ACTIONS: dict[ActionKind, str] = {
    ActionKind.BACKGROUND: "BACKGROUND: <knowledge or context the question relies on>",
    ActionKind.HYPOTHESIZE: "HYPOTHESIZE: <the likely full question and its answer>",
}


def inference_instruction(actions: Sequence[ActionKind], notes: str = DEFAULT_NOTES) -> str:
    """The inference-stage instruction for an action set (``inference`` and ``wait``
    are always offered; ``background`` and ``hypothesize`` when the set has them) and a
    note policy (``answer_modes.NOTE_POLICIES``)."""
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
    text = (
        "You are a helpful assistant that reads the user's message while it is still being "
        f"typed; it arrives in pieces. After a piece that ends with {TYPING_MARK}, reply "
        f"with one line: {notes_description(notes)}, {alternatives}{wait}. "
        f"A piece that ends with {DONE_MARK} completes the message: {done}."
    )
    return " ".join(p for p in (text, notes_example(notes), answer_instruction) if p)


def aligned_output_instruction(
    answer_instruction: str = "", mode: str = "short", budget: int = 0
) -> str:
    """The ``aligned`` output-stage tail: the done mark, then the answer mode's directive
    (these few tokens are the only instruction the answer call prefills unseen)."""
    text = f"{DONE_MARK}\n\n{answer_directive(mode, budget)}"
    return f"{text} {answer_instruction}".strip()


def output_instruction(answer_instruction: str = "", mode: str = "short", budget: int = 0) -> str:
    """The output-stage instruction of the non-aligned layouts: the input is complete."""
    if mode == "reason":
        text = f"[The user has finished typing.] {answer_directive(mode, budget)}"
    else:
        text = (
            "[The user has finished typing.] Answer the question. Reuse the results in your "
            "notes, work out any missing step briefly, then give the final answer "
            "(plain text, no INFERENCE label)."
        )
    return f"{text} {answer_instruction}".strip()


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
        _user(_join(prompt, instruction)),
    ]


@dataclass(frozen=True, slots=True)
class PromptView:
    """What a layout needs: blocks of (prompt text, note) and the text after them.

    ``blocks`` pair the prompt text covered by each stored inference with its rendered
    note; ``tail`` is the prompt text after the last inference (the new segments in the
    inference stage, the rest of the prompt in the output stage).
    """

    blocks: tuple[tuple[str, str], ...]
    tail: str

    @classmethod
    def build(
        cls, entries: Sequence[MemoryEntry], segments: Sequence[str], *, keep_waits: bool = False
    ) -> PromptView:
        """Pair inference entries with their text; wait entries roll into the next block
        (or, with ``keep_waits``, are blocks of their own with the note ``WAIT``)."""
        blocks: list[tuple[str, str]] = []
        start = 0
        for entry in entries:
            if keep_waits or entry.action.keeps_content:
                blocks.append(("".join(segments[start : entry.end]).strip(), entry.action.render()))
                start = entry.end
        return cls(tuple(blocks), "".join(segments[start:]).strip())

    @property
    def earlier(self) -> str:
        return " ".join(text for text, _ in self.blocks if text)

    @property
    def notes(self) -> str:
        return "\n".join(f"- {note}" for _, note in self.blocks)


Layout = Callable[[PromptView, str], list[Message]]


# In u-pi and u-pli the notes follow the text that is still growing, so a prefix (no
# instruction: a prewarm) stops before them; otherwise every prewarm re-reads them all.


def _u_pi(view: PromptView, instruction: str) -> list[Message]:
    prompt = " ".join(p for p in (view.earlier, view.tail) if p)
    parts = [f"Text so far:\n{prompt}"]
    if view.blocks and instruction:
        parts.append(f"Your notes so far:\n{view.notes}")
    return [_user(_join("\n\n".join(parts), instruction))]


def _u_pli(view: PromptView, instruction: str) -> list[Message]:
    parts = []
    if view.earlier:
        parts.append(f"Earlier text:\n{view.earlier}")
    parts.append(f"New text:\n{view.tail}")
    if view.blocks and instruction:
        parts.append(f"Your notes so far:\n{view.notes}")
    return [_user(_join("\n\n".join(parts), instruction))]


def _ua_pil(view: PromptView, instruction: str) -> list[Message]:
    if not view.blocks:
        return [_user(_join(view.tail, instruction))]
    return [
        _user(view.earlier),
        {"role": "assistant", "content": "\n".join(note for _, note in view.blocks)},
        _user(_join(view.tail, instruction)),
    ]


def _u_spi(view: PromptView, instruction: str) -> list[Message]:
    lines = [f"Text: {text}\nNote: {note}" for text, note in view.blocks]
    if view.tail:
        lines.append(f"Text: {view.tail}")
    return [_user(_join("\n".join(lines), instruction))]


def _ua_spi(view: PromptView, instruction: str) -> list[Message]:
    messages: list[Message] = []
    for text, note in view.blocks:
        messages.append(_user(text))
        messages.append({"role": "assistant", "content": note})
    messages.append(_user(_join(view.tail, instruction)))
    return messages


def _aligned(view: PromptView, instruction: str) -> list[Message]:
    messages: list[Message] = []
    for text, note in view.blocks:
        messages.append(_user(_join(text, TYPING_MARK)))
        messages.append({"role": "assistant", "content": note})
    messages.append(_user(_join(view.tail, instruction)))
    return messages


_LAYOUTS: dict[str, Layout] = {
    "u-pi": _u_pi,
    "u-pli": _u_pli,
    "ua-pil": _ua_pil,
    "u-spi": _u_spi,
    "ua-spi": _ua_spi,
    "aligned": _aligned,
}


def check_format(name: str) -> str:
    """Return ``name`` if it is a known format, else ValueError listing them."""
    if name not in _LAYOUTS:
        raise ValueError(f"unknown format {name!r}; choose one of: {', '.join(FORMATS)}")
    return name


def inference_messages(
    fmt: str,
    view: PromptView,
    actions: Sequence[ActionKind],
    history: Sequence[Message] = (),
    answer_instruction: str = "",
    notes: str = DEFAULT_NOTES,
) -> list[Message]:
    """Chat messages for one inference-stage call."""
    if check_format(fmt) in APPEND_ONLY_FORMATS:
        instruction = TYPING_MARK
    else:
        instruction = inference_instruction(actions, notes)
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
        instruction = aligned_output_instruction(answer_instruction, mode, budget)
    else:
        instruction = output_instruction(answer_instruction, mode, budget)
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
    body = _LAYOUTS[fmt](view, instruction)
    return [{"role": "system", "content": system}, *history, *body]


def _user(content: str) -> Message:
    return {"role": "user", "content": content}


def _join(text: str, instruction: str) -> str:
    return f"{text}\n\n{instruction}" if text and instruction else text or instruction
