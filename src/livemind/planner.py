"""What the typing phase does next: pure rules over a :class:`~livemind.turn.TurnState`.

One call at a time, by priority: an inference call when stable segments are unread (and
notes are being written), else a prefill-only prewarm when enough new text is uncached
(and may still fit the context), else (collaborative mode) a prewarm of the output
model's own cache with the transcript as it stands, else nothing. :func:`cancels` says
when an edit makes the call in flight pointless. No asyncio here: the rules are
unit-tested on plain values.

Under ``candidate`` notes a question that looks complete (:func:`final_look`) is read
with its unstable tail as one more segment, so the note writer can state its answer
before Enter.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from livemind.answer_modes import asks_now, question_shape, solving
from livemind.answering import prewarm_cut
from livemind.config import SessionConfig
from livemind.formats import APPEND_ONLY_FORMATS
from livemind.turn import TurnState


class JobKind(StrEnum):
    INFERENCE = "inference"
    PREWARM = "prewarm"
    OUTPUT_PREWARM = "output_prewarm"  # the output model's cache (collaborative mode)


@dataclass(frozen=True, slots=True)
class Job:
    """One typing-phase call: an inference call on ``segments`` from index ``start``, or
    a prewarm of the text's first ``cut`` characters."""

    kind: JobKind
    start: int = 0
    segments: tuple[str, ...] = ()
    cut: int = 0
    final_look: bool = False  # an inference call that reads the unstable tail too

    @property
    def end(self) -> int:
        return self.start + len(self.segments)


def append_only(cfg: SessionConfig) -> bool:
    return cfg.format in APPEND_ONLY_FORMATS


def final_look(turn: TurnState, cfg: SessionConfig) -> bool:
    """Whether the unstable tail is read too: ``candidate`` notes and a text that looks
    like a complete question (:func:`~livemind.answer_modes.asks_now`)."""
    return cfg.notes == "candidate" and bool(turn.segmenter.tail.strip()) and asks_now(turn.text)


def plain_layout(cfg: SessionConfig, turn: TurnState, text: str) -> bool:
    """Whether the turn's prompts for ``text`` leave the notes out (the plain layout):
    ``notes="auto"`` on a word problem, or the notes no longer fit the context, or a text
    read as a word problem (the cache holds its plain layout) whose answer options then
    arrived: it stays plain. A note call there would first re-read the whole text in the
    notes layout, and Enter cannot stop that prefill (BENCHMARKS §10)."""
    if solving(cfg.notes, text, cfg.answer_mode) or not turn.notes_fit():
        return True
    return turn.prefilled_plain and question_shape(text) == "choice"


def inference_due(turn: TurnState, cfg: SessionConfig) -> bool:
    """Whether segments wait for a note (never while committing or paused)."""
    if turn.committing or cfg.mode != "livemind":
        return False
    done = max(turn.memory.seen_upto, turn.failed_upto)
    if len(turn.readable_texts(final_look(turn, cfg))) <= done:
        return False
    return not plain_layout(cfg, turn, turn.text)


def next_job(
    turn: TurnState, cfg: SessionConfig, *, can_prewarm: bool, can_prewarm_output: bool = False
) -> Job | None:
    """The next typing-phase call: inference first, then prewarm (``can_prewarm``: the
    target backend prefills without generating), then the output model's prewarm
    (``can_prewarm_output``: collaborative, and that backend prefills), else None; also
    None while committing or while the answer to the current text is being speculated."""
    if turn.committing or turn.held_for == turn.text:
        return None
    if inference_due(turn, cfg):
        memory = turn.memory
        start = memory.seen_upto if append_only(cfg) else memory.pending_from
        texts = turn.readable_texts(final_look(turn, cfg))
        looks = len(texts) > len(turn.segmenter.segments)
        return Job(JobKind.INFERENCE, start, tuple(texts[start:]), final_look=looks)
    if not cfg.prewarm:
        return None
    if can_prewarm:
        cut = prewarm_cut(turn.text, len(turn.cached_text), cfg.prewarm_min_chars)
        if cut is not None and turn.prewarm_fits():
            return Job(JobKind.PREWARM, cut=cut)
    if can_prewarm_output and cfg.mode == "livemind" and turn.prewarm_fits():
        return _output_prewarm(turn, cfg)
    return None


def _output_prewarm(turn: TurnState, cfg: SessionConfig) -> Job | None:
    """The output model's prewarm: due when the notes changed since its last one (up to
    the last whitespace), or when enough new text is unread by it."""
    notes_changed = turn.notes_version != turn.output_notes_version
    text = turn.text
    if turn.tail_noted:  # a final look noted the tail: the whole text
        whole = len(text.rstrip())
        return Job(JobKind.OUTPUT_PREWARM, cut=whole) if notes_changed else None
    done = 0 if notes_changed else len(turn.output_cached)
    cut = prewarm_cut(text, done, 1 if notes_changed else cfg.prewarm_min_chars)
    return None if cut is None else Job(JobKind.OUTPUT_PREWARM, cut=cut)


def cancels(
    job: Job,
    job_text: str,
    turn: TurnState,
    cfg: SessionConfig,
    invalidated_from: int | None,
) -> bool:
    """Whether the call running ``job`` should stop after the latest snapshot: an
    inference call whose segments (or the notes before them) changed from index
    ``invalidated_from``, or whose final look's tail changed; a prewarm (of either
    model) whose text (``job_text``) is no longer the input's start, or when an inference
    call is due (prewarm never stands in its way)."""
    if job.kind is JobKind.INFERENCE:
        if invalidated_from is not None and invalidated_from < job.end:
            return True
        # a final look reads the tail, which changes without invalidating anything
        reads_tail = job.end > len(turn.segmenter.segments)
        return reads_tail and tuple(turn.readable_texts(True)[job.start : job.end]) != job.segments
    return not turn.text.startswith(job_text) or inference_due(turn, cfg)
