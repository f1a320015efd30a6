"""The session's requests, built from settings and the turn: pure functions, no I/O.

Which layout, which wording and which history go into each call (an inference call, a
prewarm, the answer) is decided here from a :class:`SessionConfig`, the
:class:`~livemind.turn.TurnState` and the earlier turns' messages; the layouts
themselves live in :mod:`livemind.formats`, the answer rules in
:mod:`livemind.answer_modes`.
"""

from __future__ import annotations

from livemind.actions import action_set
from livemind.answer_modes import answer_budget, resolve_answer_mode, solve_directive
from livemind.backends.base import Message, Request, Stage
from livemind.config import SessionConfig
from livemind.formats import (
    PromptView,
    baseline_messages,
    inference_messages,
    output_messages,
    prefix_messages,
    solve_messages,
)
from livemind.planner import append_only, plain_layout
from livemind.turn import TurnState

# An action is one short paragraph; whatever a model rambles after a blank line is dropped.
INFERENCE_STOP = ("\n\n",)


def answer_mode(cfg: SessionConfig, prompt: str) -> str:
    """The turn's resolved answer mode (``baseline``: always its own CoT prompt)."""
    if cfg.mode == "baseline":
        return "baseline"
    return resolve_answer_mode(cfg.answer_mode, prompt)


def answer_stage(cfg: SessionConfig) -> Stage:
    return Stage.BASELINE if cfg.mode == "baseline" else Stage.OUTPUT


def inference_request(
    cfg: SessionConfig,
    turn: TurnState,
    history: list[Message],
    start: int,
    segments: tuple[str, ...],
    session_key: str,
    final_look: bool = False,
) -> Request:
    """A note on ``segments`` (from index ``start``) over the notes before them
    (``final_look``: asked for the answer)."""
    texts = turn.readable_texts(with_tail=True)  # a final look reads the tail too
    view = turn.view(texts[: start + len(segments)], append_only(cfg))
    messages = inference_messages(
        cfg.format,
        view,
        action_set(cfg.action_set),
        history,
        cfg.answer_instruction,
        cfg.notes,
        final_look,
    )
    return Request(
        messages,
        max_tokens=cfg.inference_max_tokens,
        temperature=cfg.temperature,
        stop=list(INFERENCE_STOP),
        session_key=session_key,
        stage=Stage.INFERENCE,
    )


def prewarms_plain(cfg: SessionConfig, turn: TurnState) -> bool:
    """Whether a prewarm now prefills the plain layout (no notes: a word problem under
    ``notes="auto"``, or notes that no longer fit the context)."""
    return cfg.mode != "baseline" and plain_layout(cfg, turn, turn.text)


def prewarm_request(
    cfg: SessionConfig, turn: TurnState, history: list[Message], cut: int, session_key: str
) -> Request:
    """A prefill-only call: the start of the next call's prompt, text up to ``cut``."""
    text = turn.text
    if prewarms_plain(cfg, turn):
        messages = solve_messages(text[:cut].strip(), "", history)
    elif cfg.mode != "livemind":
        messages = answer_messages(cfg, turn, history, text[:cut])
    else:
        stable = turn.stable_texts()
        partial = text[len("".join(stable)) : cut]
        view = turn.view([*stable, partial] if partial else stable, append_only(cfg))
        allowed = action_set(cfg.action_set)
        messages = prefix_messages(
            cfg.format, view, allowed, history, cfg.answer_instruction, cfg.notes
        )
    return Request(messages, max_tokens=1, session_key=session_key, stage=Stage.PREWARM)


def answer_messages(
    cfg: SessionConfig,
    turn: TurnState,
    history: list[Message],
    prompt: str,
    final: bool = False,
) -> list[Message]:
    """The output-stage (or baseline) messages for ``prompt`` (``final``: ``prompt`` is
    the whole current text, read as stable segments + tail)."""
    mode = answer_mode(cfg, prompt)
    if cfg.mode == "baseline":
        return baseline_messages(prompt, cfg.answer_instruction, history)
    budget = answer_budget(mode, cfg.reason_budget, cfg.answer_max_tokens)
    budget = budget if cfg.reason_budget else 0
    if plain_layout(cfg, turn, prompt):
        tail = f"{solve_directive(mode, budget)} {cfg.answer_instruction}".strip()
        return solve_messages(prompt.strip(), tail, history)
    if cfg.mode == "livemind":
        texts = turn.stable_texts()
        if final and turn.segmenter.tail:
            texts.append(turn.segmenter.tail)
        view = turn.view(texts, append_only(cfg))
    else:
        view = PromptView((), prompt.strip())
    return output_messages(
        cfg.format,
        view,
        cfg.answer_instruction,
        history,
        action_set(cfg.action_set),
        notes=cfg.notes,
        mode=mode,
        budget=budget,
    )


def answer_request(
    cfg: SessionConfig, messages: list[Message], mode: str, session_key: str
) -> Request:
    return Request(
        messages,
        max_tokens=answer_budget(mode, cfg.reason_budget, cfg.answer_max_tokens),
        temperature=cfg.temperature,
        session_key=session_key,
        stage=answer_stage(cfg),
    )
