"""Fuzzing the live protocol with hypothesis: over 10,000 random, malformed and edit-heavy
event sequences per run, over every client event and every setting (extreme values,
Unicode edge cases, interleaved set/append/commit/cancel/reset/update). The engine is the
scripted test double (instant replies), so the fuzzer can run many sequences; the server
must stay up and consistent, and never report an internal error."""

from __future__ import annotations

import asyncio
import json

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livemind.backends.base import Request
from livemind.config import SessionConfig
from livemind.server.app import create_app
from livemind.server.guard import SitePolicy
from livemind.server.hub import CLOSE, Limits, SessionHub
from livemind.server.protocol import EXTRA_SETTINGS, ProtocolError, parse_event, setting_names
from livemind.settings_schema import live_settings
from scripted_backend import ScriptedBackend, is_inference_request

LIMITS = Limits(max_text_chars=300, max_message_bytes=2048)
EDGE = st.sampled_from(
    [
        "\x00",  # NUL
        "\u200b",  # zero-width space
        "\u202e",  # right-to-left override
        "e\u0301",  # combining accent
        "\U0001f469\u200d\U0001f467",  # emoji joined by ZWJ
        "\ufeff",  # byte order mark
        "\ud800",  # lone surrogate: not valid Unicode
        "\r\n",
        "...",
        " Mr. X.",
        " 1,000",
        " 10:30",
        "\t",
    ]
)
WORDS = (
    st.sampled_from(["The", " cat", " sat.", " Then", ",", " it", " ran", "?", "\n", " 42", " é"])
    | EDGE
    | st.text(max_size=4)
)
TEXT = st.lists(WORDS, max_size=30).map("".join)

TEST_SITE = SitePolicy.for_bind("127.0.0.1", allow_hosts=["testserver"])


def setting_values(key: str) -> st.SearchStrategy[object]:
    """Valid values of a setting, its extremes, and values of the wrong type."""
    entry = live_settings().get(key)
    wrong = st.none() | st.floats(allow_nan=True) | st.text(max_size=4)
    if entry is not None and entry.setting.choices:
        return st.sampled_from(entry.setting.choices) | wrong
    if key in EXTRA_SETTINGS or entry is not None and entry.kind is bool:
        return st.booleans() | st.integers(0, 1) | wrong
    extremes = st.sampled_from([-1, 0, 1, 64, 65, 4096, 4097, 2**63])
    return st.integers(-5, 300) | extremes | st.booleans() | wrong


ONE_SETTING = st.sampled_from(sorted(setting_names())).flatmap(
    lambda key: setting_values(key).map(lambda value: {key: value})
)
SETTING = st.lists(ONE_SETTING, min_size=1, max_size=3).map(
    lambda parts: {k: v for part in parts for k, v in part.items()}
)
VALID = st.one_of(
    st.builds(
        lambda t, r: {"type": "input_text.set", "text": t, "rev": r}, TEXT, st.integers(0, 60)
    ),
    st.builds(lambda t: {"type": "input_text.append", "delta": t}, TEXT),
    st.builds(lambda c: {"type": "input_text.commit", "compare": c}, st.booleans()),
    st.just({"type": "response.cancel"}),
    st.just({"type": "session.reset"}),
    st.builds(lambda s: {"type": "session.update", "session": s}, SETTING),
)
JUNK_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
RAW = st.one_of(
    VALID.map(json.dumps),
    VALID.map(json.dumps),
    JUNK_JSON.map(json.dumps),
    st.text(max_size=40),
    st.binary(max_size=40),
    st.builds(
        lambda d, k: json.dumps({**d, "type": k}),
        JUNK_JSON.filter(lambda x: isinstance(x, dict)),
        st.sampled_from(["input_text.set", "session.update", "input_text.commit"]),
    ),
)


def reply(request: Request) -> str:
    return "INFERENCE: ok" if is_inference_request(request) else "Fine."


async def drive(messages: list[str | bytes]) -> None:
    hub = SessionHub(ScriptedBackend(reply), defaults=SessionConfig(min_len=2), limits=LIMITS)
    conn = hub.open()
    last_text = None
    for raw in messages:
        try:
            event = parse_event(raw, max_bytes=LIMITS.max_message_bytes, max_text=300)
        except ProtocolError as exc:
            assert exc.code in {
                "invalid_json",
                "invalid_event",
                "unknown_event",
                "invalid_setting",
                "invalid_text",
                "text_too_long",
                "message_too_large",
            }
            continue
        await conn.handle(event)
        if event.type == "input_text.set":
            last_text = event.text
        await asyncio.sleep(0)
    for _ in range(50):  # let answers and calls finish
        await asyncio.sleep(0)
        if not conn.busy:
            break
    await conn.session.settled()
    assert not conn.closed and hub.connections
    assert len(conn.session.text) <= 2 * LIMITS.max_text_chars
    ids = []
    while not conn.outbox.empty():
        event = conn.outbox.get_nowait()
        assert event is not CLOSE
        assert event["session_id"] == conn.session_id
        assert event.get("code") != "internal_error", event  # a bug, whatever the input
        ids.append(event["event_id"])
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    del last_text
    await hub.aclose()
    assert not hub.connections and hub.metrics.value("livemind_sessions_active") == 0


@settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(st.lists(RAW, min_size=1, max_size=40))
def test_random_event_sequences_never_break_a_session(messages: list[str | bytes]) -> None:
    asyncio.run(drive(messages))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(RAW, min_size=1, max_size=25))
def test_random_events_over_the_websocket(messages: list[str | bytes]) -> None:
    app = create_app(
        ScriptedBackend(reply), defaults=SessionConfig(min_len=2), limits=LIMITS, site=TEST_SITE
    )
    with TestClient(app) as client:
        with client.websocket_connect("/v1/live") as ws:
            sid = ws.receive_json()["session_id"]
            for raw in messages:
                if isinstance(raw, bytes):
                    ws.send_bytes(raw)
                else:
                    ws.send_text(raw)
            ws.send_json({"type": "input_text.set", "text": "Still alive? Yes.", "rev": 10**6})
            ws.send_json({"type": "response.cancel"})
            assert sid in client.app.state.hub.connections
        assert client.get("/health").json()["status"] == "ok"
