"""Action types of the inference stage and parsing a model reply into one.

The inference-stage model answers each call with one action. The v2 action set of the
paper is ``inference`` (record a short piece of reasoning) and ``wait`` (nothing useful
yet). The v1 set adds ``background`` (note facts or context the question relies on) and
``hypothesize`` (guess the final question and try to answer it).

Replies are parsed leniently: case, markdown emphasis, brackets, punctuation and stray
whitespace around the action word are ignored. A reply without a recognisable action
word is kept as an inference (the text is still useful reasoning); an empty reply is a wait.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class ActionKind(StrEnum):
    INFERENCE = "inference"
    WAIT = "wait"
    BACKGROUND = "background"
    HYPOTHESIZE = "hypothesize"


ACTION_SETS: dict[str, tuple[ActionKind, ...]] = {
    "v2": (ActionKind.INFERENCE, ActionKind.WAIT),
    "v1": (ActionKind.INFERENCE, ActionKind.WAIT, ActionKind.BACKGROUND, ActionKind.HYPOTHESIZE),
}

# Words models use for an action, mapped onto the canonical kinds.
_ALIASES: dict[str, ActionKind] = {
    "inference": ActionKind.INFERENCE,
    "infer": ActionKind.INFERENCE,
    "inferences": ActionKind.INFERENCE,
    "reasoning": ActionKind.INFERENCE,
    "thought": ActionKind.INFERENCE,
    "wait": ActionKind.WAIT,
    "waiting": ActionKind.WAIT,
    "background": ActionKind.BACKGROUND,
    "context": ActionKind.BACKGROUND,
    "hypothesize": ActionKind.HYPOTHESIZE,
    "hypothesise": ActionKind.HYPOTHESIZE,
    "hypothesis": ActionKind.HYPOTHESIZE,
    "guess": ActionKind.HYPOTHESIZE,
}

# Leading decoration models like to add: markdown, quotes, brackets, list markers, "action".
_LEADING_JUNK = re.compile(r"^[\s*_`#>\-\"'\[\(<]*(?:action\s*[:=]\s*)?[\s*_`\"'\[\(<]*", re.I)
_WORD = re.compile(r"([A-Za-z]+)")
_SEPARATOR = re.compile(r"^[\s*_`\"'\]\)>]*[:.\-—=]*[\s*_`\"'\]\)>]*")


@dataclass(frozen=True, slots=True)
class Action:
    """One parsed action. ``content`` is empty for ``wait``."""

    kind: ActionKind
    content: str = ""

    @property
    def keeps_content(self) -> bool:
        return self.kind is not ActionKind.WAIT

    def render(self) -> str:
        """The canonical reply text for this action (used in few-shot history)."""
        if self.kind is ActionKind.WAIT:
            return "WAIT"
        return f"{self.kind.value.upper()}: {self.content}"


def action_set(name: str) -> tuple[ActionKind, ...]:
    """The actions of a named set (``v1`` or ``v2``); ValueError lists the valid names."""
    try:
        return ACTION_SETS[name]
    except KeyError:
        raise ValueError(
            f"unknown action set {name!r}; choose one of: {', '.join(ACTION_SETS)}"
        ) from None


def parse_action(reply: str, allowed: tuple[ActionKind, ...] = ACTION_SETS["v2"]) -> Action:
    """Parse a model reply into an :class:`Action` of the ``allowed`` set.

    Never raises: an unparseable reply becomes an inference holding the stripped text,
    an action outside ``allowed`` is treated as an inference (its content kept), and an
    empty reply is a wait.
    """
    text = reply.strip()
    if not text:
        return Action(ActionKind.WAIT)
    body = _LEADING_JUNK.sub("", text, count=1)
    match = _WORD.match(body)
    kind = _ALIASES.get(match.group(1).lower()) if match else None
    after = body[match.end() :] if match else ""
    if kind is None or (kind is not ActionKind.WAIT and not _is_separated(after)):
        return Action(ActionKind.INFERENCE, _clean(text))
    rest = _SEPARATOR.sub("", after, count=1)
    content = _clean(rest)
    if kind is ActionKind.WAIT:
        # Any explanation after WAIT ("the question is not complete yet") is dropped.
        return Action(ActionKind.WAIT)
    if kind not in allowed:
        kind = ActionKind.INFERENCE
    if not content:
        return Action(ActionKind.WAIT)
    return Action(kind, content)


def _is_separated(after: str) -> bool:
    """Whether an action word is followed by a separator (not a running sentence)."""
    stripped = after.lstrip(" \t")
    return not stripped or stripped[0] in ":.-—=*_`\"')]>\n"


def _clean(text: str) -> str:
    """Strip whitespace and unmatched decoration around content."""
    return text.strip().strip("*_`").strip()
