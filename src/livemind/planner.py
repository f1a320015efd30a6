"""What the typing phase does next: pure rules over a :class:`~livemind.turn.TurnState`.

One call at a time, by priority: an inference call when stable segments are unread (and
notes are being written), else a prefill-only prewarm when enough new text is uncached
(and may still fit the context), else nothing. :func:`cancels` says when an edit makes
the call in flight pointless. No asyncio here: the rules are unit-tested on plain values.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from livemind.answer_modes import solving
from livemind.answering import prewarm_cut
from livemind.config import SessionConfig
from livemind.formats import APPEND_ONLY_FORMATS
from livemind.turn import TurnState


class JobKind(StrEnum):
    INFERENCE = "inference"
    PREWARM = "prewarm"


@dataclass(frozen=True, slots=True)
class Job:
    """One typing-phase call: an inference call on ``segments`` from index ``start``, or
    a prewarm of the text's first ``cut`` characters."""

    kind: JobKind
    start: int = 0
    segments: tuple[str, ...] = ()
    cut: int = 0

    @property
    def end(self) -> int:
        return self.start + len(self.segments)


def append_only(cfg: SessionConfig) -> bool:
    return cfg.format in APPEND_ONLY_FORMATS


def plain_layout(cfg: SessionConfig, turn: TurnState, text: str) -> bool:
    """Whether the turn's prompts for ``text`` leave the notes out (the plain layout):
    ``notes="auto"`` on a word problem, or the notes no longer fit the context."""
    return solving(cfg.notes, text, cfg.answer_mode) or not turn.notes_fit()


def inference_due(turn: TurnState, cfg: SessionConfig) -> bool:
    """Whether stable segments wait for a note (never while committing or paused)."""
    if turn.committing or cfg.mode != "livemind":
        return False
    done = max(turn.memory.seen_upto, turn.failed_upto)
    if len(turn.segmenter.segments) <= done:
        return False
    return not plain_layout(cfg, turn, turn.text)


def next_job(turn: TurnState, cfg: SessionConfig, *, can_prewarm: bool) -> Job | None:
    """The next typing-phase call: inference first, then prewarm (``can_prewarm``: the
    target backend prefills without generating), else None; also None while committing
    or while the answer to the current text is being speculated."""
    if turn.committing or turn.held_for == turn.text:
        return None
    if inference_due(turn, cfg):
        memory = turn.memory
        start = memory.seen_upto if append_only(cfg) else memory.pending_from
        return Job(JobKind.INFERENCE, start, tuple(turn.stable_texts()[start:]))
    if not (cfg.prewarm and can_prewarm):
        return None
    cut = prewarm_cut(turn.text, len(turn.cached_text), cfg.prewarm_min_chars)
    if cut is None or not turn.prewarm_fits():
        return None
    return Job(JobKind.PREWARM, cut=cut)


def cancels(
    job: Job,
    job_text: str,
    turn: TurnState,
    cfg: SessionConfig,
    invalidated_from: int | None,
) -> bool:
    """Whether the call running ``job`` should stop after the latest snapshot: an
    inference call whose segments (or the notes before them) changed from index
    ``invalidated_from``; a prewarm whose text (``job_text``) is no longer the input's
    start, or when an inference call is due (prewarm never stands in its way)."""
    if job.kind is JobKind.INFERENCE:
        return invalidated_from is not None and invalidated_from < job.end
    return not turn.text.startswith(job_text) or inference_due(turn, cfg)
