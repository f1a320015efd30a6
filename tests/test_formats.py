import pytest

from livemind.actions import ACTION_SETS, Action, ActionKind
from livemind.formats import (
    APPEND_ONLY_FORMATS,
    DONE_MARK,
    FORMATS,
    SYSTEM_PROMPT,
    TYPING_MARK,
    PromptView,
    aligned_output_instruction,
    baseline_messages,
    inference_instruction,
    inference_messages,
    output_messages,
    prefix_messages,
)
from livemind.memory import InferenceMemory

SEGMENTS = ["Tom has 3 apples.", " He buys 4 more.", " Then he eats one.", " How many"]


def memory() -> InferenceMemory:
    mem = InferenceMemory()
    mem.add(0, SEGMENTS[:1], Action(ActionKind.INFERENCE, "Tom starts with 3."))
    mem.add(1, SEGMENTS[1:2], Action(ActionKind.WAIT))
    mem.add(1, SEGMENTS[1:3], Action(ActionKind.INFERENCE, "3 + 4 - 1 = 6."))
    return mem


def view() -> PromptView:
    return PromptView.build(memory().entries, SEGMENTS)


def test_view_pairs_text_with_notes() -> None:
    v = view()
    assert v.blocks == (
        ("Tom has 3 apples.", "INFERENCE: Tom starts with 3."),
        ("He buys 4 more. Then he eats one.", "INFERENCE: 3 + 4 - 1 = 6."),
    )
    assert v.tail == "How many"


def test_wait_entries_roll_into_next_block() -> None:
    mem = InferenceMemory()
    mem.add(0, SEGMENTS[:2], Action(ActionKind.WAIT))
    v = PromptView.build(mem.entries, SEGMENTS[:3])
    assert v.blocks == () and v.tail.startswith("Tom has 3 apples.")


PAPER_FORMATS = [f for f in FORMATS if f not in APPEND_ONLY_FORMATS]


@pytest.mark.parametrize("fmt", PAPER_FORMATS)
def test_every_format_has_all_text_notes_and_instruction_last(fmt: str) -> None:
    actions = ACTION_SETS["v2"]
    msgs = inference_messages(fmt, view(), actions)
    assert msgs[0] == {"role": "system", "content": SYSTEM_PROMPT}
    body = "\n".join(m["content"] for m in msgs)
    for text in ("Tom has 3 apples.", "He buys 4 more.", "How many", "3 + 4 - 1 = 6."):
        assert text in body
    assert msgs[-1]["role"] == "user"
    assert msgs[-1]["content"].endswith(inference_instruction(actions))
    out = output_messages(fmt, view(), "End with 'The answer is N'.")
    assert out[0] == msgs[0]  # one stable system prompt for both stages
    assert out[-1]["content"].endswith("End with 'The answer is N'.")


def test_ua_spi_alternates_turns() -> None:
    msgs = inference_messages("ua-spi", view(), ACTION_SETS["v2"])
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert msgs[2]["content"] == "INFERENCE: Tom starts with 3."
    assert msgs[-1]["content"].startswith("How many")


def test_ua_pil_groups_notes_in_one_assistant_turn() -> None:
    msgs = inference_messages("ua-pil", view(), ACTION_SETS["v2"])
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "user"]
    assert "3 + 4 - 1 = 6." in msgs[2]["content"]


def test_v1_instruction_lists_all_actions() -> None:
    msg = inference_messages("u-pi", view(), ACTION_SETS["v1"])[-1]["content"]
    for word in ("INFERENCE", "WAIT", "BACKGROUND", "HYPOTHESIZE"):
        assert word in msg
    v2 = inference_messages("u-pi", view(), ACTION_SETS["v2"])[-1]["content"]
    assert "BACKGROUND" not in v2 and "HYPOTHESIZE" not in v2


def test_history_goes_between_system_and_turn() -> None:
    history = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    msgs = output_messages("u-pi", view(), "", history)
    assert msgs[1:3] == history


def test_baseline_is_step_by_step_on_complete_prompt() -> None:
    msgs = baseline_messages("What is 2+2?", "End with 'The answer is N'.")
    assert msgs[-1]["content"].startswith("What is 2+2?")
    assert "step by step" in msgs[-1]["content"]


def test_unknown_format() -> None:
    with pytest.raises(ValueError, match="ua-spi"):
        inference_messages("nope", view(), ACTION_SETS["v2"])


def _assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def test_aligned_calls_extend_the_previous_call_and_its_reply() -> None:
    """Append-only: call k+1 starts with call k's messages plus call k's reply."""
    v2 = ACTION_SETS["v2"]
    mem = InferenceMemory()
    calls = []
    replies = [Action(ActionKind.INFERENCE, "Tom starts with 3."), Action(ActionKind.WAIT)]
    for k, action in enumerate(replies):
        view = PromptView.build(mem.entries, SEGMENTS[: k + 1], keep_waits=True)
        calls.append(inference_messages("aligned", view, v2, answer_instruction="Be brief."))
        mem.add(mem.seen_upto, SEGMENTS[k : k + 1], action)
    final_view = PromptView.build(mem.entries, SEGMENTS, keep_waits=True)
    final = output_messages("aligned", final_view, "Be brief.", actions=v2)
    for (earlier, action), later in zip(
        zip(calls, replies, strict=True), [*calls[1:], final], strict=True
    ):
        extended = [*earlier, _assistant(action.render())]
        assert later[: len(extended)] == extended
    tail = aligned_output_instruction("Be brief.")
    assert final[-1]["content"] == f"{SEGMENTS[2].strip()}{SEGMENTS[3]}\n\n{tail}"
    assert tail.startswith(DONE_MARK) and tail.endswith("Be brief.")
    assert "INFERENCE" in tail  # small models need telling not to write another note
    assert calls[1][-1]["content"].endswith(TYPING_MARK)
    assert "Be brief." in final[0]["content"]  # the answer instruction lives in the system prompt


def test_aligned_keeps_wait_turns() -> None:
    mem = InferenceMemory()
    mem.add(0, SEGMENTS[:1], Action(ActionKind.WAIT))
    view = PromptView.build(mem.entries, SEGMENTS[:2], keep_waits=True)
    msgs = inference_messages("aligned", view, ACTION_SETS["v2"])
    assert [m["content"] for m in msgs[1:3]] == [f"Tom has 3 apples.\n\n{TYPING_MARK}", "WAIT"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_prefix_messages_start_the_next_call(fmt: str) -> None:
    """A prewarm of the text so far is a prefix of the next call of either stage."""
    v2 = ACTION_SETS["v2"]
    entries = memory().entries
    partial = PromptView.build(entries, [*SEGMENTS[:3], " How"], keep_waits=fmt == "aligned")
    full = PromptView.build(entries, SEGMENTS, keep_waits=fmt == "aligned")
    pre = prefix_messages(fmt, partial, v2)
    for nxt in (inference_messages(fmt, full, v2), output_messages(fmt, full, "", actions=v2)):
        assert nxt[: len(pre) - 1] == pre[:-1]
        assert nxt[len(pre) - 1]["content"].startswith(pre[-1]["content"])


def test_a_final_look_has_its_own_mark_in_the_transcript_and_the_system_prompt() -> None:
    from livemind.actions import Action, ActionKind
    from livemind.formats import LOOK_MARK, TYPING_MARK, inference_messages, output_messages
    from livemind.memory import InferenceMemory
    from livemind.prompt_layouts import PromptView

    memory = InferenceMemory()
    memory.add(0, ["Tom has apples."], Action(ActionKind.INFERENCE, "Tom has apples"))
    memory.add(1, [" Which fruit?"], Action(ActionKind.INFERENCE, "answer: apples"), looked=True)
    view = PromptView.build(memory.entries, ["Tom has apples.", " Which fruit?"], keep_waits=True)
    out = output_messages("aligned", view, notes="candidate")
    users = [m["content"] for m in out if m["role"] == "user"]
    assert users[0].endswith(TYPING_MARK) and users[1].endswith(LOOK_MARK)
    assert LOOK_MARK in out[0]["content"]  # the system prompt explains the mark
    asked = inference_messages("aligned", PromptView((), "Which fruit?"), [], final_look=True)
    assert asked[-1]["content"].endswith(LOOK_MARK)
    free = output_messages("aligned", view, notes="free")
    assert LOOK_MARK not in free[0]["content"]
