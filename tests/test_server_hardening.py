"""Careless and hostile clients against a real ``livemind serve`` (smollm2-135m) on
loopback (issue 13, findings 3 and 4): every bad request gets a clear error, the session
stays usable, nothing runs for a client that left, and completions count against the
server's limit."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

pytestmark = pytest.mark.model

DEEP = "[" * 60_000 + "]" * 60_000  # 120 kB: under the size limit, too deep for json


@pytest.fixture(scope="module")
def url(serve: Callable[..., contextlib.AbstractContextManager[str]]) -> Iterator[str]:
    with serve("--max-tokens", "8", "--max-sessions", "2") as u:
        yield u


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/v1/live"


def receive_until(ws, kind: str) -> dict[str, object]:  # type: ignore[no-untyped-def]
    for _ in range(500):
        event = json.loads(ws.recv(timeout=60))
        if event["type"] == kind:
            return event
    raise AssertionError(f"no {kind}")


def metric(url: str, name: str) -> float:
    text = httpx.get(url + "/metrics").text
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found, name
    return float(found.group(1))


def test_deeply_nested_json_is_an_error_event_and_the_session_goes_on(url: str) -> None:
    with connect(ws_url(url), max_size=None) as ws:
        receive_until(ws, "session.created")
        ws.send(DEEP)
        assert receive_until(ws, "error")["code"] == "invalid_json"
        ws.send('{"type": "input_text.set", "text": "\\ud800 lone"}')
        assert receive_until(ws, "error")["code"] == "invalid_text"
        ws.send(json.dumps({"type": "input_text.set", "text": "What is two plus two?"}))
        ws.send(json.dumps({"type": "input_text.commit"}))
        assert receive_until(ws, "response.done")["text"]


def test_deeply_nested_json_over_http_is_a_400(url: str) -> None:
    sid = httpx.post(url + "/v1/sessions").json()["session_id"]
    try:
        resp = httpx.post(
            f"{url}/v1/sessions/{sid}/events",
            content=DEEP,
            headers={"Content-Type": "application/json"},
        )
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_json"
        chat = httpx.post(
            url + "/v1/chat/completions",
            content=DEEP,
            headers={"Content-Type": "application/json"},
        )
        assert chat.status_code == 400
    finally:
        httpx.delete(f"{url}/v1/sessions/{sid}")


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"n": 2}, "n must be 1"),
        ({"stop": ["x"] * 8000}, "stop takes at most"),
        ({"stop": [""]}, "stop takes at most"),
        ({"messages": [{"role": "user", "content": "a\ud800b"}]}, "not valid Unicode"),
    ],
)
def test_bad_completion_requests_get_a_400_that_says_why(
    url: str, extra: dict[str, object], words: str
) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], **extra}
    raw = json.dumps(body)  # ensure_ascii keeps the lone surrogate as an escape
    resp = httpx.post(
        url + "/v1/chat/completions", content=raw, headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 400 and words in resp.json()["error"]["message"]


def test_an_oversized_body_is_refused_before_it_is_read(url: str) -> None:
    big = b'{"messages": "' + b"x" * 300_000 + b'"}'
    resp = httpx.post(
        url + "/v1/chat/completions", content=big, headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the server counts as it reads
        yield b'{"messages": "'
        for _ in range(30):
            yield b"x" * 10_000
        yield b'"}'

    resp = httpx.post(
        url + "/v1/chat/completions", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 413


def test_a_completion_stops_when_its_client_leaves(url: str) -> None:
    body = {
        "messages": [
            {"role": "user", "content": "List the numbers from 1 to 1000 separated by commas."}
        ],
        "max_tokens": 4096,
    }
    outcome: list[str] = []

    def client() -> None:
        try:
            httpx.post(url + "/v1/chat/completions", json=body, timeout=1.5)
            outcome.append("answered")
        except httpx.TimeoutException:
            outcome.append("left")  # no answer yet: the call was still running

    thread = threading.Thread(target=client)
    thread.start()
    thread.join()
    assert outcome == ["left"]
    deadline = time.monotonic() + 3
    while metric(url, "livemind_calls_in_flight") > 0:
        assert time.monotonic() < deadline, "the call went on after its client left"
        time.sleep(0.1)


def no_sessions_left(url: str) -> None:
    deadline = time.monotonic() + 5
    while httpx.get(url + "/health").json()["sessions"]:
        assert time.monotonic() < deadline, "sessions of earlier clients were not freed"
        time.sleep(0.1)


def test_completions_count_against_the_session_limit(url: str) -> None:
    body = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 4}
    no_sessions_left(url)
    with connect(ws_url(url)) as a, connect(ws_url(url)) as b:
        receive_until(a, "session.created")
        receive_until(b, "session.created")
        resp = httpx.post(url + "/v1/chat/completions", json=body)
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
        assert resp.json()["error"]["code"] == "too_many_sessions"
    no_sessions_left(url)
    # a finished streaming completion gives its place back
    with httpx.stream("POST", url + "/v1/chat/completions", json={**body, "stream": True}) as r:
        assert r.status_code == 200 and "[DONE]" in r.read().decode()
    with connect(ws_url(url)) as a, connect(ws_url(url)) as b:
        assert receive_until(a, "session.created") and receive_until(b, "session.created")


def test_an_oversized_websocket_frame_closes_only_that_connection(url: str) -> None:
    with connect(ws_url(url)) as ws:
        receive_until(ws, "session.created")
        ws.send("x" * (1 << 20))  # 1 MiB: refused by the WebSocket layer, not buffered
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    assert httpx.get(url + "/health").status_code == 200


def test_edits_on_a_long_text_do_not_stall_other_clients(url: str) -> None:
    """One client asks for the widest segmenter window it can get, then sends 20,000-
    character texts that change in every sentence (nothing of the last segmentation can
    be reused); /health must keep answering promptly meanwhile."""
    stop = threading.Event()

    def text(rev: int) -> str:
        sentence = f"The fox number {rev} jumps over the dog. Mr. Smith went to Washington. "
        return (sentence * 400)[:19_900]

    def hostile() -> None:
        with contextlib.suppress(ConnectionClosed), connect(ws_url(url), max_size=None) as ws:
            ws.send(json.dumps({"type": "session.update", "session": {"min_len": 4096}}))
            ws.send(json.dumps({"type": "session.reset"}))  # the setting holds from here
            rev = 0
            while not stop.is_set():
                rev += 1
                ws.send(json.dumps({"type": "input_text.set", "text": text(rev), "rev": rev}))
                time.sleep(0.02)

    thread = threading.Thread(target=hostile)
    thread.start()
    try:
        time.sleep(1.0)  # the server is busy with the long texts by now
        waits = []
        for _ in range(20):
            started = time.monotonic()
            assert httpx.get(url + "/health", timeout=30).status_code == 200
            waits.append(time.monotonic() - started)
            time.sleep(0.1)
    finally:
        stop.set()
        thread.join()
    waits.sort()
    # The worker thread shares the GIL with the loop, so /health is slower than idle: a
    # median of 0.23 s was seen on a slow CI machine. A loop that segmented the texts itself
    # would queue ~0.2 s of work per message, 50 messages a second: seconds, not tenths.
    assert waits[len(waits) // 2] < 0.5, f"/health waited {waits} s"
    assert waits[-2] < 1.0, f"/health waited {waits} s"
