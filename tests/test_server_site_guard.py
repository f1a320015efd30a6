"""Cross-site access (issue 13, finding 1): a real ``livemind serve`` on loopback refuses
foreign Host names (DNS rebinding), foreign web origins and non-JSON POSTs, and still
serves its own page, non-browser clients and the origins the user allowed."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

pytestmark = pytest.mark.model

ALLOWED = "https://app.example"


@pytest.fixture(scope="module")
def url(serve: Callable[..., contextlib.AbstractContextManager[str]]) -> Iterator[str]:
    with serve("--max-tokens", "8", "--allow-origin", ALLOWED, "--allow-host", "lm.internal") as u:
        yield u


def ws_url(url: str) -> str:
    return url.replace("http://", "ws://") + "/v1/live"


def first_event(url: str, **kwargs: object) -> dict[str, object]:
    with connect(ws_url(url), open_timeout=10, **kwargs) as ws:  # type: ignore[arg-type]
        return json.loads(ws.recv(timeout=10))


def test_websocket_from_a_foreign_origin_is_refused(url: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        first_event(url, origin="https://evil.example")
    assert refused.value.response.status_code == 403


def test_websocket_from_the_servers_own_page_and_from_non_browsers_is_served(url: str) -> None:
    assert first_event(url, origin=url)["type"] == "session.created"
    assert first_event(url)["type"] == "session.created"  # no Origin: not a browser
    assert first_event(url, origin=ALLOWED)["type"] == "session.created"


def test_a_rebound_host_name_is_refused(url: str) -> None:
    resp = httpx.get(url + "/health", headers={"Host": "rebind.evil.example"})
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "host_not_allowed"
    for host in ("localhost", "127.0.0.1", "lm.internal:80"):
        assert httpx.get(url + "/health", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/v1/sessions"])
def test_a_cross_site_form_post_is_not_executed(url: str, path: str) -> None:
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}]})
    plain = {"Content-Type": "text/plain", "Origin": "https://evil.example"}
    resp = httpx.post(url + path, content=body, headers=plain)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "origin_not_allowed"
    # without an Origin (a script, not a page) text/plain is still refused: JSON only
    resp = httpx.post(url + path, content=body, headers={"Content-Type": "text/plain"})
    assert resp.status_code == 415 and resp.json()["error"]["code"] == "unsupported_media_type"


def test_json_posts_from_allowed_origins_work(url: str) -> None:
    for origin in (url, ALLOWED):
        resp = httpx.post(url + "/v1/sessions", json={}, headers={"Origin": origin})
        assert resp.status_code == 200, resp.text
        sid = resp.json()["session_id"]
        assert httpx.delete(f"{url}/v1/sessions/{sid}", headers={"Origin": origin}).is_success
    assert httpx.post(url + "/v1/sessions").status_code == 200  # no body, no type needed


def test_refusals_are_counted_in_the_metrics(url: str) -> None:
    httpx.get(url + "/health", headers={"Host": "rebind.evil.example"})
    text = httpx.get(url + "/metrics").text
    assert 'code="host_not_allowed"' in text
