import pytest

from livemind.cli import _session_config, build_parser
from livemind.eval.configs import parse_config, parse_configs
from livemind.formats import DEFAULT_FORMAT


def test_names_and_defaults() -> None:
    base = parse_config("baseline")
    assert (base.mode, base.prewarm, base.output_model) == ("baseline", False, None)
    warm = parse_config("baseline-prewarm@qwen2.5-coder-0.5b")
    assert warm.mode == "baseline" and warm.prewarm
    assert warm.output_model == "qwen2.5-coder-0.5b"
    assert warm.name == "baseline-prewarm@qwen2.5-coder-0.5b"
    assert parse_config("output-only").mode == "output-only"
    live = parse_config("livemind")
    assert live.name == f"livemind/{DEFAULT_FORMAT}/sentence/10/v2"
    clause = parse_config("livemind/ua-pil/clause@small")
    assert (clause.format, clause.granularity, clause.min_len, clause.action_set) == (
        "ua-pil",
        "clause",
        10,
        "v2",
    )
    assert clause.name == "livemind/ua-pil/clause/10/v2@small"
    assert parse_config("livemind/u-pi/word/3/v1").action_set == "v1"


@pytest.mark.parametrize(
    "spec",
    [
        "turbo",
        "livemind/xx",
        "livemind/ua-spi/para",
        "livemind/ua-spi/word/0",
        "livemind/ua-spi/word/5/v9",
        "livemind/a/b/c/d/e",
    ],
)
def test_bad_names(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_config(spec)


def test_list_drops_duplicates() -> None:
    spec = f"baseline, livemind ,livemind/{DEFAULT_FORMAT},baseline"
    names = [c.name for c in parse_configs(spec)]
    assert names == ["baseline", f"livemind/{DEFAULT_FORMAT}/sentence/10/v2"]
    with pytest.raises(ValueError):
        parse_configs(" , ")


def test_session_config_carries_the_settings() -> None:
    cfg = parse_config("livemind/u-spi/clause/5").session_config(
        "End with X.", answer_max_tokens=100, inference_max_tokens=20
    )
    assert (cfg.format, cfg.granularity, cfg.min_len, cfg.answer_instruction) == (
        "u-spi",
        "clause",
        5,
        "End with X.",
    )
    assert (
        parse_config("baseline-prewarm")
        .session_config("", answer_max_tokens=1, inference_max_tokens=1)
        .prewarm
    )


def test_prewarm_and_speculation_flags() -> None:
    c = parse_config("livemind/aligned+prewarm+spec@qwen2.5-coder-0.5b")
    assert c.name == "livemind/aligned/sentence/10/v2+prewarm+spec@qwen2.5-coder-0.5b"
    assert c.prewarm and c.speculate and c.format == "aligned"
    assert parse_config("baseline+prewarm").name == "baseline-prewarm"
    b = parse_config("baseline-prewarm+spec")
    assert b.name == "baseline-prewarm+spec" and b.prewarm and b.speculate
    o = parse_config("output-only+prewarm")
    assert o.name == "output-only+prewarm" and o.prewarm and o.mode == "output-only"
    scfg = c.session_config("x", answer_max_tokens=5, inference_max_tokens=5)
    assert scfg.prewarm and scfg.speculate
    with pytest.raises(ValueError, match="flag"):
        parse_config("livemind+turbo")


def test_cancel_flag() -> None:
    c = parse_config("livemind/aligned+cancel+prewarm")
    assert c.name == "livemind/aligned/sentence/10/v2+prewarm+cancel" and c.cancel_on_commit
    scfg = c.session_config("x", answer_max_tokens=5, inference_max_tokens=5)
    assert scfg.commit_policy == "cancel" and scfg.prewarm
    assert (
        parse_config("livemind")
        .session_config("x", answer_max_tokens=5, inference_max_tokens=5)
        .commit_policy
        == "wait"
    )
    with pytest.raises(ValueError, match="livemind only"):
        parse_config("baseline+cancel")


@pytest.mark.parametrize("command", ["chat", "serve", "demo"])
def test_cli_defaults_are_the_measured_best_and_can_be_turned_off(command: str) -> None:
    parser = build_parser()
    default = _session_config(parser.parse_args([command]))
    assert (default.format, default.prewarm) == ("aligned", True)
    assert (default.commit_policy, default.speculate) == ("wait", False)
    paper = _session_config(parser.parse_args([command, "--format", "ua-spi", "--no-prewarm"]))
    assert (paper.format, paper.prewarm) == ("ua-spi", False)
