import pytest

from livemind.cli import build_parser
from livemind.eval.configs import parse_config, parse_configs
from livemind.formats import DEFAULT_FORMAT
from livemind.settings_schema import config_from_args


def test_names_and_defaults() -> None:
    base = parse_config("baseline")
    assert (base.mode, base.settings.prewarm, base.output_model) == ("baseline", False, None)
    warm = parse_config("baseline-prewarm@qwen2.5-coder-0.5b")
    assert warm.mode == "baseline" and warm.settings.prewarm
    assert warm.output_model == "qwen2.5-coder-0.5b"
    assert warm.name == "baseline-prewarm@qwen2.5-coder-0.5b"
    assert parse_config("output-only").mode == "output-only"
    live = parse_config("livemind")
    assert live.name == f"livemind/{DEFAULT_FORMAT}/sentence/10/v2+auto+notes-auto"
    legacy = parse_config("livemind+short+notes-free")  # before answer modes: short names
    assert legacy.name == f"livemind/{DEFAULT_FORMAT}/sentence/10/v2"
    clause = parse_config("livemind/ua-pil/clause+short+notes-free@small")
    s = clause.settings  # a BenchConfig runs a SessionConfig
    assert (s.format, s.granularity, s.min_len, s.action_set) == (
        "ua-pil",
        "clause",
        10,
        "v2",
    )
    assert clause.name == "livemind/ua-pil/clause/10/v2@small"
    assert parse_config("livemind/u-pi/word/3/v1").settings.action_set == "v1"


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
    assert names == ["baseline", f"livemind/{DEFAULT_FORMAT}/sentence/10/v2+auto+notes-auto"]
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


def test_answer_mode_note_and_commit_flags() -> None:
    c = parse_config("livemind+keep+reason128+notes-facts")
    s = c.settings
    assert (s.answer_mode, s.reason_budget, s.notes, s.commit_policy) == (
        "reason",
        128,
        "facts",
        "keep",
    )
    assert c.name.endswith("v2+keep+reason128+notes-facts")
    scfg = c.session_config("", answer_max_tokens=512, inference_max_tokens=64)
    assert (scfg.answer_mode, scfg.reason_budget, scfg.notes, scfg.commit_policy) == (
        "reason",
        128,
        "facts",
        "keep",
    )
    assert parse_config("livemind+auto64").name.endswith("+auto64+notes-auto")
    assert parse_config("livemind+reason0").name == parse_config("livemind+reason").name
    only = parse_config("output-only/u-pi+prewarm+short")
    assert (only.mode, only.settings.format, only.name) == (
        "output-only",
        "u-pi",
        "output-only/u-pi+prewarm+notes-auto",
    )
    for bad in ("livemind+cancel+keep", "baseline+keep", "output-only+cancel", "livemind+notes-x"):
        with pytest.raises(ValueError):
            parse_config(bad)


def test_prewarm_and_speculation_flags() -> None:
    c = parse_config("livemind/aligned+prewarm+spec+short+notes-free@qwen2.5-coder-0.5b")
    assert c.name == "livemind/aligned/sentence/10/v2+prewarm+spec@qwen2.5-coder-0.5b"
    assert c.settings.prewarm and c.settings.speculate and c.settings.format == "aligned"
    assert parse_config("baseline+prewarm").name == "baseline-prewarm"
    b = parse_config("baseline-prewarm+spec")
    assert b.name == "baseline-prewarm+spec" and b.settings.prewarm and b.settings.speculate
    o = parse_config("output-only+prewarm+short+notes-free")
    assert o.name == f"output-only/{DEFAULT_FORMAT}+prewarm" and o.settings.prewarm
    assert o.mode == "output-only"
    scfg = c.session_config("x", answer_max_tokens=5, inference_max_tokens=5)
    assert scfg.prewarm and scfg.speculate
    with pytest.raises(ValueError, match="flag"):
        parse_config("livemind+turbo")


def test_cancel_flag() -> None:
    c = parse_config("livemind/aligned+cancel+prewarm+short+notes-free")
    assert c.name == "livemind/aligned/sentence/10/v2+prewarm+cancel"
    assert c.settings.commit_policy == "cancel"
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
    default = config_from_args(parser.parse_args([command]))
    assert (default.format, default.prewarm) == ("aligned", True)
    assert (default.commit_policy, default.speculate) == ("keep", False)  # BENCHMARKS §7
    assert (default.answer_mode, default.notes, default.reason_budget) == ("auto", "auto", 0)
    paper_args = ["--format", "ua-spi", "--no-prewarm", "--commit-policy", "wait"]
    paper = config_from_args(parser.parse_args([command, *paper_args]))
    assert (paper.format, paper.prewarm, paper.commit_policy) == ("ua-spi", False, "wait")
    args = [command, "--answer-mode", "short", "--notes", "free", "--reason-budget", "64"]
    before = config_from_args(parser.parse_args([*args, "--commit-policy", "cancel"]))
    assert (before.answer_mode, before.notes, before.reason_budget) == ("short", "free", 64)
    assert before.commit_policy == "cancel"
