import pytest

from livemind.actions import ACTION_SETS, Action, ActionKind
from livemind.formats import (
    FORMATS,
    SYSTEM_PROMPT,
    PromptView,
    baseline_messages,
    inference_instruction,
    inference_messages,
    output_messages,
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


@pytest.mark.parametrize("fmt", FORMATS)
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
