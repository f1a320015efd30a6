"""Prompt layouts: how prompt text and stored notes become the body of a chat prompt.

Five layouts from the paper (U = user message, A = assistant message, P = prompt,
I = inferences, L = latest segments, S = sequential blocks) and one of our own:

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

A :data:`Layout` maps a :class:`PromptView` and a stage instruction to the messages after
the system prompt; with an empty instruction it gives the *prefix* of its next call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from livemind.backends.base import Message
from livemind.memory import MemoryEntry
from livemind.prompt_wording import LOOK_MARK, TYPING_MARK


@dataclass(frozen=True, slots=True)
class PromptView:
    """What a layout needs: blocks of (prompt text, note) and the text after them.

    ``blocks`` pair the prompt text covered by each stored inference with its rendered
    note; ``tail`` is the prompt text after the last inference (the new segments in the
    inference stage, the rest of the prompt in the output stage).
    """

    blocks: tuple[tuple[str, str], ...]
    tail: str
    looked: frozenset[int] = frozenset()  # indices of blocks that were final looks

    @classmethod
    def build(
        cls, entries: Sequence[MemoryEntry], segments: Sequence[str], *, keep_waits: bool = False
    ) -> PromptView:
        """Pair inference entries with their text; wait entries roll into the next block
        (or, with ``keep_waits``, are blocks of their own with the note ``WAIT``)."""
        blocks: list[tuple[str, str]] = []
        looked: set[int] = set()
        start = 0
        for entry in entries:
            if keep_waits or entry.action.keeps_content:
                if entry.looked:
                    looked.add(len(blocks))
                blocks.append(("".join(segments[start : entry.end]).strip(), entry.action.render()))
                start = entry.end
        return cls(tuple(blocks), "".join(segments[start:]).strip(), frozenset(looked))

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
    return [user(join("\n\n".join(parts), instruction))]


def _u_pli(view: PromptView, instruction: str) -> list[Message]:
    parts = []
    if view.earlier:
        parts.append(f"Earlier text:\n{view.earlier}")
    parts.append(f"New text:\n{view.tail}")
    if view.blocks and instruction:
        parts.append(f"Your notes so far:\n{view.notes}")
    return [user(join("\n\n".join(parts), instruction))]


def _ua_pil(view: PromptView, instruction: str) -> list[Message]:
    if not view.blocks:
        return [user(join(view.tail, instruction))]
    return [
        user(view.earlier),
        {"role": "assistant", "content": "\n".join(note for _, note in view.blocks)},
        user(join(view.tail, instruction)),
    ]


def _u_spi(view: PromptView, instruction: str) -> list[Message]:
    lines = [f"Text: {text}\nNote: {note}" for text, note in view.blocks]
    if view.tail:
        lines.append(f"Text: {view.tail}")
    return [user(join("\n".join(lines), instruction))]


def _ua_spi(view: PromptView, instruction: str) -> list[Message]:
    messages: list[Message] = []
    for text, note in view.blocks:
        messages.append(user(text))
        messages.append({"role": "assistant", "content": note})
    messages.append(user(join(view.tail, instruction)))
    return messages


def _aligned(view: PromptView, instruction: str) -> list[Message]:
    messages: list[Message] = []
    for i, (text, note) in enumerate(view.blocks):
        messages.append(user(join(text, LOOK_MARK if i in view.looked else TYPING_MARK)))
        messages.append({"role": "assistant", "content": note})
    messages.append(user(join(view.tail, instruction)))
    return messages


LAYOUTS: dict[str, Layout] = {
    "u-pi": _u_pi,
    "u-pli": _u_pli,
    "ua-pil": _ua_pil,
    "u-spi": _u_spi,
    "ua-spi": _ua_spi,
    "aligned": _aligned,
}


def user(content: str) -> Message:
    """A user message."""
    return {"role": "user", "content": content}


def join(text: str, instruction: str) -> str:
    """``text``, a blank line, ``instruction``; either alone when the other is empty."""
    return f"{text}\n\n{instruction}" if text and instruction else text or instruction
