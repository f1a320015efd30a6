"""Server safety: auth, limits, malformed events, idle sessions. The engine is the scripted
test double here (these check the server's own logic); the protocol with the real model
is in test_server.py."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient

from livemind.backends.base import Request
from livemind.backends.scripted import ScriptedBackend, is_inference_request
from livemind.config import SessionConfig
from livemind.server.app import create_app
from livemind.server.hub import Limits
from livemind.server.protocol import ProtocolError, parse_event
from livemind.server.serve import check_exposure, is_loopback


def reply(request: Request) -> str:
    return "INFERENCE: ok" if is_inference_request(request) else "Done."


def app_with(**limits) -> TestClient:
    token = limits.pop("token", None)
    app = create_app(
        ScriptedBackend(reply),
        defaults=SessionConfig(min_len=3, format="ua-spi"),  # history = the texts sent
        limits=Limits(**limits),
        token=token,
    )
    return TestClient(app)


def until(ws, kind: str, limit: int = 200) -> list[dict]:
    seen = []
    for _ in range(limit):
        event = ws.receive_json()
        seen.append(event)
        if event["type"] == kind:
            return seen
    raise AssertionError(f"no {kind} in {[e['type'] for e in seen]}")


def test_token_required_everywhere_but_health_and_page() -> None:
    with app_with(token="s3cret") as client:
        assert client.get("/health").status_code == 200
        assert client.get("/").status_code == 200
        assert client.get("/metrics").status_code == 401
        assert client.post("/v1/sessions").json()["error"]["code"] == "unauthorized"
        ok = client.get("/metrics", headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200 and "livemind_errors_total" in ok.text
        with client.websocket_connect("/v1/live") as ws:
            assert ws.receive_json()["code"] == "unauthorized"
        with client.websocket_connect("/v1/live?token=s3cret") as ws:
            assert ws.receive_json()["type"] == "session.created"


def test_session_limit_gives_a_clear_error() -> None:
    with app_with(max_sessions=1) as client, client.websocket_connect("/v1/live") as first:
        assert first.receive_json()["type"] == "session.created"
        with client.websocket_connect("/v1/live") as second:
            event = second.receive_json()
            assert event["type"] == "error" and event["code"] == "too_many_sessions"
        assert client.post("/v1/sessions").status_code == 503


def test_malformed_and_oversized_events_get_errors_and_the_session_goes_on() -> None:
    limits = {"max_text_chars": 50, "max_message_bytes": 400}
    with app_with(**limits) as client, client.websocket_connect("/v1/live") as ws:
        ws.receive_json()
        bad = [
            "not json",
            "[1, 2]",
            '{"type": "nope"}',
            '{"type": "input_text.set", "text": 5}',
            '{"type": "input_text.set", "text": "x", "rev": -1}',
            '{"type": "session.update", "session": {"format": "zzz"}}',
            '{"type": "session.update", "session": {"min_len": true}}',
            '{"type": "input_text.set", "text": "' + "a" * 60 + '"}',
            '{"type": "input_text.set", "text": "' + "a" * 500 + '"}',
        ]
        for raw in bad:
            ws.send_text(raw)
        codes = [ws.receive_json()["code"] for _ in bad]
        assert codes == [
            "invalid_json",
            "invalid_event",
            "unknown_event",
            "invalid_event",
            "invalid_event",
            "invalid_setting",
            "invalid_setting",
            "text_too_long",
            "message_too_large",
        ]
        ws.send_json({"type": "input_text.set", "text": "Hi there. How are you?", "rev": 1})
        ws.send_json({"type": "input_text.commit"})
        assert until(ws, "response.done")[-1]["text"] == "Done."


def test_stale_revisions_are_ignored_and_commit_of_nothing_is_an_error() -> None:
    with app_with() as client, client.websocket_connect("/v1/live") as ws:
        sid = ws.receive_json()["session_id"]
        ws.send_json({"type": "input_text.commit"})
        assert until(ws, "error")[-1]["code"] == "empty_input"
        ws.send_json({"type": "input_text.set", "text": "New text. More", "rev": 5})
        ws.send_json({"type": "input_text.set", "text": "Old", "rev": 4})
        ws.send_json({"type": "input_text.append", "delta": " words."})
        ws.send_json({"type": "input_text.commit"})
        until(ws, "response.done")
        conn_history = client.app.state.hub.connections[sid].session.history
        assert conn_history[0]["content"] == "New text. More words."


def test_idle_sessions_are_closed() -> None:
    with app_with(idle_timeout_s=0.2) as client, client.websocket_connect("/v1/live") as ws:
        ws.receive_json()
        time.sleep(0.6)
        event = ws.receive_json()
        assert event["type"] == "error" and event["code"] == "idle_timeout"
        assert not client.app.state.hub.connections


def test_parse_event_contract() -> None:
    event = parse_event(
        '{"type": "input_text.set", "text": "ab", "rev": 3}', max_bytes=99, max_text=9
    )
    assert (event.type, event.text, event.rev) == ("input_text.set", "ab", 3)
    with pytest.raises(ProtocolError) as err:
        parse_event(b"\xff\xfe", max_bytes=99, max_text=9)
    assert err.value.code == "invalid_json"


def test_exposure_check() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    check_exposure("127.0.0.1", None)
    check_exposure("0.0.0.0", "token")
    with pytest.raises(ValueError, match="token"):
        check_exposure("0.0.0.0", None)


def test_commit_policy_is_a_session_setting() -> None:
    with app_with() as client, client.websocket_connect("/v1/live") as ws:
        sid = ws.receive_json()["session_id"]
        ws.send_json({"type": "session.update", "session": {"commit_policy": "later"}})
        assert until(ws, "error")[-1]["code"] == "invalid_setting"
        ws.send_json({"type": "session.update", "session": {"commit_policy": "cancel"}})
        assert until(ws, "session.updated")[-1]["session"]["commit_policy"] == "cancel"
        assert client.app.state.hub.connections[sid].session.config.commit_policy == "cancel"
