"""SessionConfig is the one schema of the settings: walk its fields and check that every
form derived from it agrees (CLI options, the wire protocol, the page, bench configs)."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

import pytest

from livemind.cli import build_parser
from livemind.config import SCHEMA_KEY, SessionConfig, Setting
from livemind.eval.configs import BENCH_DEFAULTS, parse_config
from livemind.server.hub import SessionHub
from livemind.server.protocol import ClientEvent, ProtocolError, parse_event
from livemind.settings_schema import Entry, config_from_args, live_settings, schema
from scripted_backend import ScriptedBackend

STATIC = Path(__file__).parents[1] / "src" / "livemind" / "server" / "static"
COMMANDS = ("demo", "chat", "serve")


def other_value(e: Entry) -> Any:
    """A valid value of ``e`` that is not its default."""
    if e.setting.choices:
        return next(c for c in e.setting.choices if c != e.default)
    if e.kind is bool:
        return not e.default
    if e.kind is str:
        return e.default + "x"
    return e.kind(e.default + 1)


def update(settings: dict[str, Any]) -> str:
    return json.dumps({"type": "session.update", "session": settings})


def parse_setting(name: str, value: Any) -> dict[str, Any]:
    event = parse_event(update({name: value}), max_bytes=10_000, max_text=100)
    assert event.settings is not None
    return event.settings


def test_every_field_declares_its_setting() -> None:
    assert [e.name for e in schema()] == [f.name for f in fields(SessionConfig)]
    for e in schema():
        assert isinstance(e.setting, Setting) and e.setting.help, e.name
        assert e.kind in (str, int, float, bool), e.name
        assert e.default == getattr(SessionConfig(), e.name)
        assert not e.setting.choices or e.default in e.setting.choices, e.name
        if e.setting.live:
            assert e.setting.label, f"{e.name}: a live setting needs the page's label"
        if e.setting.live and e.kind in (int, float):
            assert e.setting.live_max is not None, f"{e.name}: a live number needs a bound"
    flags = [e.setting.flag for e in schema() if e.setting.flag]
    assert len(flags) == len(set(flags))
    SessionConfig().validated()


@pytest.mark.parametrize("command", COMMANDS)
def test_every_cli_flag_parses_to_its_field(command: str) -> None:
    parser = build_parser()
    assert config_from_args(parser.parse_args([command])) == SessionConfig()
    for e in schema():
        flag = e.setting.flag
        if flag is None:
            continue
        value = other_value(e)
        if e.kind is bool:
            argv = [command, flag if value else "--no-" + flag.removeprefix("--")]
        else:
            argv = [command, flag, str(value)]
        config = config_from_args(parser.parse_args(argv))
        assert config == replace(SessionConfig(), **{e.name: value}), flag


@pytest.mark.parametrize("command", ("demo", "chat"))
def test_another_output_model_defaults_to_candidate_notes(command: str) -> None:
    """demo and chat: --output-model with another model means notes that state the
    answer, unless --notes says otherwise; the same model keeps the usual default."""
    parser = build_parser()

    def notes(*argv: str) -> str:
        return config_from_args(parser.parse_args([command, *argv])).notes

    assert notes("--output-model", "small") == "candidate"
    assert notes("--output-model", "small", "--notes", "free") == "free"
    assert notes("--output-model", "small", "--notes", "auto") == "auto"
    assert notes("--model", "m", "--output-model", "m") == SessionConfig().notes
    assert notes() == SessionConfig().notes


def test_serve_keeps_the_usual_notes_with_an_output_model() -> None:
    """A server's sessions choose collaborative mode per client: its default stays."""
    args = build_parser().parse_args(["serve", "--output-model", "small"])
    assert config_from_args(args).notes == SessionConfig().notes


@pytest.mark.parametrize("command", COMMANDS)
def test_cli_rejects_what_the_schema_rejects(command: str) -> None:
    parser = build_parser()
    for e in schema():
        if e.setting.flag and e.setting.choices:
            with pytest.raises(SystemExit):
                parser.parse_args([command, e.setting.flag, "no-such-choice"])
        if e.setting.flag and e.setting.low is not None:
            args = parser.parse_args([command, e.setting.flag, str(e.kind(e.setting.low - 1))])
            with pytest.raises(ValueError, match=e.name):
                config_from_args(args)


def test_the_wire_validates_every_live_field_from_the_schema() -> None:
    for e in schema():
        spec = e.setting
        if not spec.live:
            with pytest.raises(ProtocolError, match="unknown setting"):
                parse_setting(e.name, e.default)
            continue
        valid = list(spec.choices) or [e.default, other_value(e)]
        if e.kind in (int, float):
            valid += [spec.low, spec.live_max]
        for value in valid:
            assert parse_setting(e.name, value) == {e.name: value}
            replace(SessionConfig(), **{e.name: value}).validated()  # the session takes it
        wrong = [None, [1]] + ([1] if e.kind is str else ["1"])
        wrong += [] if e.kind is bool else [True]
        if spec.choices:
            wrong.append("no-such-choice")
        if e.kind in (int, float):
            assert spec.live_max is not None
            wrong += [spec.live_max + 1] + ([] if spec.low is None else [spec.low - 1])
        for value in wrong:
            with pytest.raises(ProtocolError) as err:
                parse_setting(e.name, value)
            assert err.value.code == "invalid_setting" and e.name in err.value.message


def test_min_len_is_bounded_by_its_own_cap() -> None:
    cap = live_settings()["min_len"].setting.live_max
    assert cap == 64  # the segmenter's window grows with it: not the answer-token cap
    with pytest.raises(ProtocolError, match=r"1\.\.64"):
        parse_setting("min_len", 65)
    assert SessionConfig(min_len=400).validated().min_len == 400  # the CLI and bench may


async def test_the_page_receives_the_schema_and_every_live_field_applies() -> None:
    defaults = SessionConfig(min_len=3, granularity="clause")
    hub = SessionHub(ScriptedBackend(lambda request: "Done."), defaults=defaults)
    conn = hub.open()
    created = conn.outbox.get_nowait()
    assert created is not None and created["type"] == "session.created"
    sent = {s["name"]: s for s in created["schema"]}
    assert list(sent) == list(live_settings())
    for name, e in live_settings().items():
        s = sent[name]
        assert s["type"] == e.kind.__name__ and s["label"] and s["help"] == e.setting.help
        assert s["choices"] == (list(e.setting.choices) or None)
        assert (s["min"], s["max"]) == (e.setting.low, e.setting.live_max)
        assert s["default"] == getattr(defaults, name) == created["session"][name]
        value = other_value(e)
        await conn.handle(ClientEvent("session.update", settings=parse_setting(name, value)))
        updated = conn.outbox.get_nowait()
        assert updated is not None and updated["type"] == "session.updated", updated
        assert updated["session"][name] == value == getattr(conn.session.config, name)
    await hub.aclose()


def test_the_page_hard_codes_no_session_setting() -> None:
    html = (STATIC / "index.html").read_text()
    script = "\n".join((STATIC / f).read_text() for f in ("app.js", "settings.js"))
    for name in live_settings():
        assert f'name="{name}"' not in html and f"elements.{name}" not in script, name
    assert 'id="session-settings"' in html and "settings.build(ev.schema" in script


def test_bench_configs_run_session_configs() -> None:
    # a bench config changes from the product's settings only what its name says
    changed = {
        f.name for f in fields(SessionConfig) if getattr(BENCH_DEFAULTS, f.name) != f.default
    }
    assert changed == {"prewarm", "commit_policy"}
    live = parse_config("livemind+prewarm+keep")
    assert isinstance(live.settings, SessionConfig) and live.mode == "livemind"
    product = replace(SessionConfig(), answer_instruction="x")
    assert live.session_config("x", answer_max_tokens=512, inference_max_tokens=64) == product
    for spec in ("baseline", "baseline-prewarm", "output-only", "livemind/u-pi/word/3/v1"):
        assert parse_config(spec).settings == parse_config(spec).settings.validated()
    assert all(SCHEMA_KEY in f.metadata for f in fields(SessionConfig))
