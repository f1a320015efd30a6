"""Server safety: auth, limits, malformed events, idle sessions. The engine is the scripted
test double here (these check the server's own logic); the protocol with the real model
is in test_server.py."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from livemind.backends.base import Request
from livemind.config import SessionConfig
from livemind.server.app import create_app
from livemind.server.guard import SitePolicy, is_loopback
from livemind.server.hub import Limits
from livemind.server.protocol import ProtocolError, parse_event
from livemind.server.serve import check_exposure, resolve_token
from scripted_backend import ScriptedBackend, is_inference_request


def reply(request: Request) -> str:
    return "INFERENCE: ok" if is_inference_request(request) else "Done."


def app_with(**limits) -> TestClient:
    token = limits.pop("token", None)
    script = limits.pop("script", reply)
    delay = limits.pop("delay", 0.0)
    config = {"min_len": 3, "format": "ua-spi", **limits.pop("config", {})}
    app = create_app(
        ScriptedBackend(script, delay=delay),
        defaults=SessionConfig(**config),  # ua-spi: history = the texts sent
        limits=Limits(**limits),
        token=token,
        site=SitePolicy.for_bind("127.0.0.1", allow_hosts=["testserver"]),
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
        # every HTTP route of the app's schema but /health: a route added later cannot
        # forget the token (the schema itself is not served)
        assert client.get("/openapi.json").status_code == 404
        paths = client.app.openapi()["paths"]
        guarded = [(m, p) for p, ms in paths.items() if p != "/health" for m in ms]
        assert len(guarded) >= 8
        for method, path in guarded:
            reply = client.request(
                method, path.replace("{session_id}", "x").replace("{model_id}", "m")
            )
            assert reply.status_code == 401, (method, path, reply.status_code)
            assert reply.json()["error"]["code"] == "unauthorized"


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
            '{"type": "session.update", "session": {"min_len": 4096}}',  # seconds per keystroke
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


def test_an_unexpected_failure_of_the_answer_is_an_error_and_the_session_goes_on() -> None:
    answers = iter([RuntimeError("bug in the answer path"), "Done."])

    def script(request: Request) -> str:
        if is_inference_request(request):
            return "INFERENCE: ok"
        item = next(answers)
        if isinstance(item, Exception):
            raise item
        return item

    with app_with(script=script) as client, client.websocket_connect("/v1/live") as ws:
        sid = ws.receive_json()["session_id"]
        ws.send_json({"type": "input_text.set", "text": "Hi there. How are you?"})
        ws.send_json({"type": "input_text.commit"})
        error = until(ws, "error")[-1]
        assert error["code"] == "internal_error" and "bug in the answer path" in error["message"]
        assert not client.app.state.hub.connections[sid].busy  # idle sessions can be reaped
        ws.send_json({"type": "input_text.commit"})
        assert until(ws, "response.done")[-1]["text"] == "Done."


@pytest.mark.parametrize("then", ["response.cancel", "session.reset"])
def test_cancel_or_reset_right_after_enter_stops_the_answer(then: str) -> None:
    with app_with(delay=0.05) as client, client.websocket_connect("/v1/live") as ws:
        ws.receive_json()
        ws.send_json({"type": "input_text.set", "text": "Hi there. How are you?"})
        ws.send_json({"type": "input_text.commit"})
        ws.send_json({"type": then})  # before the session has started the answer
        seen = until(ws, "response.cancelled")
        assert "response.done" not in [e["type"] for e in seen]
        ws.send_json({"type": "input_text.set", "text": "Hello again. Still there?"})
        ws.send_json({"type": "input_text.commit"})
        assert until(ws, "response.done")[-1]["text"] == "Done."


def test_a_reader_that_keeps_up_is_not_a_slow_consumer() -> None:
    # a 20,000-character paste at char granularity queues ~20,000 events at once
    char = {"config": {"granularity": "char", "min_len": 1, "mode": "output-only"}}
    with app_with(**char) as client, client.websocket_connect("/v1/live") as ws:
        ws.receive_json()
        ws.send_json({"type": "input_text.set", "text": "ab" * 10_000})
        ws.send_json({"type": "input_text.commit"})
        seen = until(ws, "response.done", limit=30_000)
        assert not [e for e in seen if e["type"] == "error"]


def test_a_slow_consumer_is_told_once_and_closed() -> None:
    char = {"config": {"granularity": "char", "min_len": 1, "mode": "output-only"}}
    with (
        app_with(max_queued_events=50, **char) as client,
        client.websocket_connect("/v1/live") as ws,
    ):
        ws.receive_json()
        for i in range(5):  # every update overflows the queue again
            ws.send_json({"type": "input_text.set", "text": "xy" * (100 + i)})
        events = []
        with pytest.raises(WebSocketDisconnect):
            while True:
                events.append(ws.receive_json())
        errors = [e["code"] for e in events if e["type"] == "error"]
        assert errors == ["slow_consumer"]
        assert not client.app.state.hub.connections


def test_the_token_can_come_from_a_file_or_the_environment(tmp_path) -> None:
    path = tmp_path / "token"
    path.write_text("s3cret-from-file\n")
    assert resolve_token("given", str(path), "env") == "given"
    assert resolve_token(None, str(path), "env") == "s3cret-from-file"
    assert resolve_token(None, None, "env") == "env"
    assert resolve_token(None, None, None) is None
    path.write_text("\n")
    with pytest.raises(ValueError, match="is empty"):
        resolve_token(None, str(path), None)
    with pytest.raises(ValueError, match="cannot read the token file"):
        resolve_token(None, str(tmp_path / "missing"), None)


def test_one_client_cannot_hold_every_session() -> None:
    with (
        app_with(max_sessions=4, max_sessions_per_client=2) as client,
        client.websocket_connect("/v1/live") as a,
        client.websocket_connect("/v1/live") as b,
    ):
        assert a.receive_json()["type"] == b.receive_json()["type"] == "session.created"
        with client.websocket_connect("/v1/live") as c:
            event = c.receive_json()
            assert event["type"] == "error" and event["code"] == "client_quota"
        refused = client.post("/v1/chat/completions", json={"messages": []})
        assert refused.status_code == 400  # a bad request is refused before it counts
        body = {"messages": [{"role": "user", "content": "hi"}]}
        busy = client.post("/v1/chat/completions", json=body)
        assert busy.status_code == 503 and busy.json()["error"]["code"] == "client_quota"


def test_sessions_nobody_reads_and_sessions_past_their_age_are_closed() -> None:
    with app_with(unattached_timeout_s=0.2) as client:
        sid = client.post("/v1/sessions").json()["session_id"]
        assert sid in client.app.state.hub.connections
        time.sleep(0.6)
        assert sid not in client.app.state.hub.connections
    with app_with(max_age_s=0.4) as client, client.websocket_connect("/v1/live") as ws:
        ws.receive_json()
        for i in range(8):  # activity does not keep it alive past its age
            ws.send_json({"type": "input_text.set", "text": f"Note {i}. More", "rev": i})
            time.sleep(0.1)
        codes = [e.get("code") for e in until(ws, "error", limit=500)]
        assert codes[-1] == "session_expired"


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        Limits(max_sessions_per_client=-1)
    with pytest.raises(ValueError, match="must be positive"):
        Limits(max_age_s=0)
