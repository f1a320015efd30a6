import pytest

from livemind.actions import Action, ActionKind
from livemind.memory import InferenceMemory

INF = Action(ActionKind.INFERENCE, "note")
WAIT = Action(ActionKind.WAIT)


def filled() -> InferenceMemory:
    mem = InferenceMemory()
    mem.add(0, ["A.", " B."], INF)
    mem.add(2, [" C."], INF)
    mem.add(3, [" D."], WAIT)
    return mem


def test_append_keeps_everything() -> None:
    mem = filled()
    assert mem.sync(["A.", " B.", " C.", " D.", " E."]) is None
    assert [e.end for e in mem.entries] == [2, 3, 4]
    assert mem.seen_upto == 4 and mem.pending_from == 3


def test_wait_segments_roll_forward_into_next_call() -> None:
    mem = filled()
    mem.add(mem.pending_from, [" D.", " E."], INF)
    assert [(e.start, e.end) for e in mem.entries] == [(0, 2), (2, 3), (3, 5)]
    assert len(mem.inferences) == 3


def test_edit_in_middle_drops_from_first_mismatch() -> None:
    mem = filled()
    assert mem.sync(["A.", " B.", " X.", " D."]) == 2
    assert [e.end for e in mem.entries] == [2]
    assert mem.pending_from == 2


def test_edit_at_start_drops_all() -> None:
    mem = filled()
    assert mem.sync(["Z.", " B.", " C."]) == 0
    assert mem.entries == [] and mem.seen_upto == 0


def test_backspace_removing_segments() -> None:
    mem = filled()
    # The text shrank: the last entry's segment is gone.
    assert mem.sync(["A.", " B.", " C."]) == 3
    assert mem.seen_upto == 3


def test_stale_start_is_rejected() -> None:
    mem = filled()
    with pytest.raises(ValueError, match="expects"):
        mem.add(1, [" B."], INF)
