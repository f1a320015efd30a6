import pytest

from livemind.actions import ACTION_SETS, Action, ActionKind, action_set, parse_action

V1 = ACTION_SETS["v1"]


@pytest.mark.parametrize(
    ("reply", "kind", "content"),
    [
        ("WAIT", ActionKind.WAIT, ""),
        ("wait.", ActionKind.WAIT, ""),
        ('"Wait"', ActionKind.WAIT, ""),
        ("Wait, I need more of the question.", ActionKind.WAIT, ""),
        ("INFERENCE: x is 5", ActionKind.INFERENCE, "x is 5"),
        ("**Inference:** x is 5", ActionKind.INFERENCE, "x is 5"),
        ("  inference -   the sum is 4  ", ActionKind.INFERENCE, "the sum is 4"),
        ("[INFERENCE] foo", ActionKind.INFERENCE, "foo"),
        ("Inference\nthe first step", ActionKind.INFERENCE, "the first step"),
        ("Action: inference: bar", ActionKind.INFERENCE, "bar"),
        ("The answer is 3", ActionKind.INFERENCE, "The answer is 3"),
        ("Infer that x", ActionKind.INFERENCE, "Infer that x"),
        ("", ActionKind.WAIT, ""),
        ("   \n ", ActionKind.WAIT, ""),
        ("Inference:", ActionKind.WAIT, ""),
    ],
)
def test_parse_v2(reply: str, kind: ActionKind, content: str) -> None:
    assert parse_action(reply) == Action(kind, content)


def test_v1_actions_only_when_allowed() -> None:
    assert parse_action("BACKGROUND: water boils at 100 C", V1).kind is ActionKind.BACKGROUND
    assert parse_action("hypothesize: what is 2+2? 4", V1) == Action(
        ActionKind.HYPOTHESIZE, "what is 2+2? 4"
    )
    # Outside the v1 set, the content is kept as an inference.
    assert parse_action("BACKGROUND: water boils", ACTION_SETS["v2"]) == Action(
        ActionKind.INFERENCE, "water boils"
    )


def test_render_round_trips() -> None:
    for action in (Action(ActionKind.WAIT), Action(ActionKind.INFERENCE, "a = 2")):
        assert parse_action(action.render(), V1) == action


def test_unknown_action_set() -> None:
    with pytest.raises(ValueError, match="v2, v1"):
        action_set("v3")
