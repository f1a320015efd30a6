"""The typing phase's planner on plain values: no event loop, no backend."""

from __future__ import annotations

from livemind.actions import Action, ActionKind
from livemind.backends.base import Stage
from livemind.calls import CallRecord
from livemind.config import SessionConfig
from livemind.planner import Job, JobKind, cancels, inference_due, next_job, plain_layout
from livemind.turn import TurnState

TEXT = "Tom has three apples. He buys four more. Then he eats "
CFG = SessionConfig(min_len=3, notes="free", prewarm_min_chars=8)


def turn_with(text: str, cfg: SessionConfig = CFG) -> TurnState:
    turn = TurnState.start(cfg.granularity, cfg.min_len)
    turn.segmenter.update(text)
    return turn


def note(turn: TurnState, start: int, count: int) -> None:
    segments = tuple(turn.stable_texts()[start : start + count])
    turn.store_note(
        start, segments, Action(ActionKind.INFERENCE, "n"), CallRecord(Stage.INFERENCE, "m")
    )


def test_unread_stable_segments_get_an_inference_call_first() -> None:
    turn = turn_with(TEXT)
    job = next_job(turn, CFG, can_prewarm=True)
    assert job == Job(JobKind.INFERENCE, 0, ("Tom has three apples.", " He buys four more."))


def test_an_append_only_layout_reads_on_from_the_last_note() -> None:
    turn = turn_with(TEXT)
    note(turn, 0, 1)
    job = next_job(turn, CFG, can_prewarm=True)
    assert job is not None and (job.start, job.end) == (1, 2)


def test_with_every_segment_noted_the_uncached_tail_is_prewarmed_at_a_word_boundary() -> None:
    turn = turn_with(TEXT)
    note(turn, 0, 2)
    job = next_job(turn, CFG, can_prewarm=True)
    assert job is not None and job.kind is JobKind.PREWARM
    assert TEXT[: job.cut] == TEXT.rstrip()  # cut at the last space, never mid-word
    assert next_job(turn, CFG, can_prewarm=False) is None  # the backend cannot prefill
    turn.read(TEXT[: job.cut])
    assert next_job(turn, CFG, can_prewarm=True) is None  # already cached


def test_nothing_while_committing_or_while_the_text_is_held_for_a_speculation() -> None:
    turn = turn_with(TEXT)
    turn.committing = True
    assert next_job(turn, CFG, can_prewarm=True) is None
    turn.committing = False
    turn.held_for = turn.text
    assert next_job(turn, CFG, can_prewarm=True) is None


def test_a_failed_call_is_not_retried_for_the_same_segments() -> None:
    turn = turn_with(TEXT)
    turn.failed_upto = 2
    assert not inference_due(turn, CFG)


def test_notes_pause_on_a_word_problem_under_auto_and_in_other_modes() -> None:
    turn = turn_with("Tom has 3 apples. He buys 4 more. How many apples does he have now?")
    assert not inference_due(turn, SessionConfig(min_len=3, notes="auto"))  # numeric problem
    assert inference_due(turn, SessionConfig(min_len=3, notes="facts"))
    assert not inference_due(turn, SessionConfig(min_len=3, mode="output-only"))
    job = next_job(turn, SessionConfig(min_len=3, mode="baseline"), can_prewarm=True)
    assert job is not None and job.kind is JobKind.PREWARM  # the baseline's own prefix


def test_an_edit_cancels_an_inference_call_only_if_it_reaches_its_segments() -> None:
    turn = turn_with(TEXT)
    job = Job(JobKind.INFERENCE, 1, (" He buys four more.",))
    assert cancels(job, "", turn, CFG, invalidated_from=1)
    assert not cancels(job, "", turn, CFG, invalidated_from=2)
    assert not cancels(job, "", turn, CFG, invalidated_from=None)


def test_a_prewarm_gives_way_to_a_due_inference_call_and_to_an_edit_before_its_cut() -> None:
    turn = turn_with(TEXT)
    prewarm = Job(JobKind.PREWARM, cut=20)
    assert cancels(prewarm, TEXT[:20], turn, CFG, None)  # an inference call is due
    note(turn, 0, 2)
    assert not cancels(prewarm, TEXT[:20], turn, CFG, None)
    turn.segmenter.update("Tim" + TEXT[3:])
    assert cancels(prewarm, TEXT[:20], turn, CFG, None)  # its text is no longer the start


# collaborative mode: candidate notes, the final look, the output model's prewarm

CANDIDATE = SessionConfig(min_len=3, notes="candidate", prewarm=True, prewarm_min_chars=8)
QUESTION = "Tom has three apples. Which fruit does Tom have?\n(A) pears\n(B) apples"


def test_a_complete_question_is_read_with_its_tail_under_candidate_notes() -> None:
    turn = turn_with(QUESTION, CANDIDATE)
    assert turn.segmenter.tail.strip() == "(B) apples"
    job = next_job(turn, CANDIDATE, can_prewarm=True)
    assert job is not None and job.kind is JobKind.INFERENCE
    assert job.segments[-1] == turn.segmenter.tail  # the final look
    # other note policies (and an unfinished question) leave the tail alone
    free = next_job(turn, CFG, can_prewarm=True)
    assert free is not None and turn.segmenter.tail not in free.segments
    unfinished = turn_with("Tom has three apples. Which fruit does", CANDIDATE)
    job = next_job(unfinished, CANDIDATE, can_prewarm=True)
    assert job is not None and job.end == len(unfinished.stable_texts())


def test_a_final_look_note_stays_while_the_tail_stands_and_goes_when_it_changes() -> None:
    turn = turn_with(QUESTION, CANDIDATE)
    job = next_job(turn, CANDIDATE, can_prewarm=True)
    assert job is not None
    record = CallRecord(Stage.INFERENCE, "m")
    answer = Action(ActionKind.INFERENCE, "answer: (B), because Tom has apples")
    assert turn.store_note(job.start, job.segments, answer, record) is not None
    assert not inference_due(turn, CANDIDATE)
    assert turn.invalidate() is None  # the same snapshot again
    turn.segmenter.update(QUESTION.replace("apples", "plums") + " or")
    assert turn.invalidate() is not None  # the tail changed: its note is dropped
    assert turn.memory.seen_upto < len(turn.readable_texts(with_tail=True))


def test_the_output_model_is_prewarmed_last_and_again_after_each_new_note() -> None:
    turn = turn_with(TEXT, CANDIDATE)
    note(turn, 0, 2)
    kw = {"can_prewarm": True, "can_prewarm_output": True}
    job = next_job(turn, CANDIDATE, **kw)
    assert job is not None and job.kind is JobKind.PREWARM  # the note writer's cache first
    turn.read(TEXT[: job.cut])
    job = next_job(turn, CANDIDATE, **kw)
    assert job is not None and job.kind is JobKind.OUTPUT_PREWARM
    assert next_job(turn, CANDIDATE, can_prewarm=True) is None  # not collaborative
    turn.output_read(TEXT[: job.cut])
    assert next_job(turn, CANDIDATE, **kw) is None
    # a new note changes the transcript: prewarm the output model again (no new text)
    turn.segmenter.update(TEXT + "two. Then more.")
    job = next_job(turn, CANDIDATE, **kw)
    assert job is not None and job.kind is JobKind.INFERENCE
    note(turn, 2, len(turn.stable_texts()) - 2)
    turn.read(turn.text.rstrip())
    job = next_job(turn, CANDIDATE, **kw)
    assert job is not None and job.kind is JobKind.OUTPUT_PREWARM


def test_an_output_prewarm_never_stands_in_the_way_of_a_note() -> None:
    turn = turn_with(TEXT, CANDIDATE)
    note(turn, 0, 2)
    turn.read(TEXT.rstrip())
    job = next_job(turn, CANDIDATE, can_prewarm=True, can_prewarm_output=True)
    assert job is not None and job.kind is JobKind.OUTPUT_PREWARM
    job_text = turn.text[: job.cut]
    assert not cancels(job, job_text, turn, CANDIDATE, None)
    turn.segmenter.update(TEXT + "two. And then")
    assert cancels(job, job_text, turn, CANDIDATE, None)  # an inference call is due


def test_a_final_look_stops_when_the_tail_grows_and_its_note_is_not_kept() -> None:
    turn = turn_with(QUESTION[:-3], CANDIDATE)  # "... (B) app"
    job = next_job(turn, CANDIDATE, can_prewarm=True)
    assert job is not None and job.end > len(turn.stable_texts())
    job_text = turn.text
    assert not cancels(job, job_text, turn, CANDIDATE, None)
    turn.segmenter.update(QUESTION)  # the tail grew: no stable segment changed
    assert cancels(job, job_text, turn, CANDIDATE, None)
    # a note stored on the old tail is stale; the grown tail gets a look of its own
    answer = Action(ActionKind.INFERENCE, "answer: (B), because")
    assert (
        turn.store_note(job.start, job.segments, answer, CallRecord(Stage.INFERENCE, "m")) is None
    )
    job = next_job(turn, CANDIDATE, can_prewarm=True)
    assert job is not None and job.segments[-1] == turn.segmenter.tail


def test_a_final_look_on_a_question_with_a_trailing_space_survives_enter() -> None:
    text = "Tom has three apples. Which fruit does Tom have? "
    turn = turn_with(text, CANDIDATE)
    job = next_job(turn, CANDIDATE, can_prewarm=True)
    assert job is not None and job.final_look and job.segments[-1] == " Which fruit does Tom have?"
    answer = Action(ActionKind.INFERENCE, "answer: apples, because")
    assert turn.store_note(job.start, job.segments, answer, CallRecord(Stage.INFERENCE, "m"))
    turn.segmenter.update(text, final=True)  # Enter: the tail becomes a stable segment
    assert turn.invalidate() is None and turn.memory.seen_upto == len(turn.stable_texts())


def test_notes_that_overflowed_stop_until_the_text_is_shorter_again() -> None:
    turn = turn_with(TEXT)
    turn.notes_overflow_at = len(TEXT) - 5  # a prompt with notes did not fit there
    job = next_job(turn, CFG, can_prewarm=True)
    assert not inference_due(turn, CFG) and plain_layout(CFG, turn, turn.text)
    assert job is not None and job.kind is JobKind.PREWARM  # the plain text is prefilled
    turn.segmenter.update(TEXT[: len(TEXT) - 10])  # shortened below the mark
    assert inference_due(turn, CFG) and not plain_layout(CFG, turn, turn.text)


def test_no_prewarm_from_a_cut_that_overflowed_even_without_notes() -> None:
    turn = turn_with(TEXT)
    note(turn, 0, 2)
    job = next_job(turn, CFG, can_prewarm=True)
    assert job is not None and job.kind is JobKind.PREWARM
    turn.prewarm_overflow_at = job.cut
    assert next_job(turn, CFG, can_prewarm=True) is None
    turn.segmenter.update(TEXT + "two of them and then ")  # more text: still too long
    assert next_job(turn, CFG, can_prewarm=True) is None
