"""The Host/Origin policy as pure functions (the real server's behaviour is in
test_server_site_guard.py)."""

from __future__ import annotations

import pytest

from livemind.server.guard import SitePolicy, host_allowed, origin_allowed, refusal, split_host

LOCAL = SitePolicy.for_bind("127.0.0.1")


@pytest.mark.parametrize(
    ("header", "name"),
    [("LocalHost:8000", "localhost"), ("[::1]:80", "::1"), ("::1", "::1"), ("a.b", "a.b")],
)
def test_split_host(header: str, name: str) -> None:
    assert split_host(header) == name


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8000", "localhost", "LOCALHOST:1", "[::1]:8000", "192.168.1.9:8000"]
)
def test_loopback_names_and_ip_literals_are_answered(host: str) -> None:
    assert host_allowed(LOCAL, host)


@pytest.mark.parametrize("host", ["rebind.evil.example", "evil.localhost.example:8000", "", None])
def test_other_names_are_not(host: str | None) -> None:
    assert not host_allowed(LOCAL, host)


def test_allowed_hosts_and_the_wildcard() -> None:
    policy = SitePolicy.for_bind("0.0.0.0", allow_hosts=["LM.internal"])
    assert host_allowed(policy, "lm.internal:8000") and not host_allowed(policy, "other")
    assert host_allowed(SitePolicy.for_bind("127.0.0.1", allow_hosts=["*"]), "anything.example")
    assert host_allowed(SitePolicy.for_bind("myhost"), "myhost:8000")  # the bound name


@pytest.mark.parametrize(
    ("origin", "host", "ok"),
    [
        (None, "127.0.0.1:8000", True),  # not a browser
        ("http://127.0.0.1:8000", "127.0.0.1:8000", True),  # the server's own page
        ("https://lm.example", "lm.example", True),  # behind a TLS proxy: default ports
        ("http://lm.example", "lm.example:80", True),
        ("http://127.0.0.1:3000", "127.0.0.1:8000", False),  # another local app
        ("https://evil.example", "127.0.0.1:8000", False),
        ("null", "127.0.0.1:8000", False),  # sandboxed frame, file://
        ("https://lm.example", "lm.example:80", False),
        ("http://127.0.0.1:8000", None, False),
    ],
)
def test_origin_must_be_the_servers_own(origin: str | None, host: str | None, ok: bool) -> None:
    assert origin_allowed(LOCAL, origin, host) is ok


def test_allowed_origins_and_the_wildcard() -> None:
    policy = SitePolicy.for_bind("127.0.0.1", allow_origins=["https://App.example/"])
    assert origin_allowed(policy, "https://app.example", "127.0.0.1:8000")
    assert not origin_allowed(policy, "https://app.example:8443", "127.0.0.1:8000")
    anyone = SitePolicy.for_bind("127.0.0.1", allow_origins=["*"])
    assert origin_allowed(anyone, "https://evil.example", "127.0.0.1:8000")


@pytest.mark.parametrize("bad", ["app.example", "ftp://app.example", "https://a.example/path"])
def test_bad_origin_settings_are_named(bad: str) -> None:
    with pytest.raises(ValueError, match="not a web origin"):
        SitePolicy.for_bind("127.0.0.1", allow_origins=[bad])


def test_bad_host_settings_are_named() -> None:
    with pytest.raises(ValueError, match="not a host name"):
        SitePolicy.for_bind("127.0.0.1", allow_hosts=["http://x.example/"])


def scope(kind: str = "http", method: str = "GET", **headers: str) -> dict[str, object]:
    raw = [(k.replace("_", "-").encode(), v.encode()) for k, v in headers.items()]
    return {"type": kind, "method": method, "headers": raw}


def test_refusal_codes() -> None:
    own = {"host": "127.0.0.1:8000"}
    assert refusal(scope(**own), LOCAL) is None
    assert refusal(scope(host="evil.example"), LOCAL)[1] == "host_not_allowed"  # type: ignore[index]
    # a page may GET cross-site (it cannot read the answer), not act
    assert refusal(scope(origin="https://evil.example", **own), LOCAL) is None
    for kind, method in (("websocket", "GET"), ("http", "POST"), ("http", "DELETE")):
        refused = refusal(scope(kind, method, origin="https://evil.example", **own), LOCAL)
        assert refused is not None and refused[:2] == (403, "origin_not_allowed")
    form = scope("http", "POST", content_type="text/plain", content_length="5", **own)
    refused = refusal(form, LOCAL)
    assert refused is not None and refused[:2] == (415, "unsupported_media_type")
    json_post = scope(
        "http", "POST", content_type="application/json; charset=utf-8", content_length="2", **own
    )
    assert refusal(json_post, LOCAL) is None
    assert refusal(scope("http", "POST", content_length="0", **own), LOCAL) is None
