"""Which requests come from a site the server trusts: the Host and Origin policy.

A server on 127.0.0.1 is reachable from every web page the user opens: a page can post
to it, open a WebSocket to it, or, by DNS rebinding, make its own domain name resolve to
127.0.0.1 and read the answers. Three checks stop that without a token:

- **Host**: a request must name the server by a loopback name, an IP address (rebinding
  always carries the attacker's domain name), the address it is bound to, or a name
  from ``--allow-host`` (``*``: any);
- **Origin**: a WebSocket, or any request that is not GET/HEAD/OPTIONS, that carries an
  ``Origin`` (browsers always send one there) must come from the server's own origin or
  from one in ``--allow-origin`` (``*``: any); clients that are not browsers send none;
- **Content type**: a POST with a body must say ``application/json``, which a page can
  only send cross-site after a CORS preflight that this server never grants.

The functions are pure; :class:`SiteGuard` applies them to every ASGI request.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class SitePolicy:
    """The names and origins a server answers; build it with :meth:`for_bind`."""

    hosts: frozenset[str] = frozenset()  # lower-case names without port, besides loopback
    origins: frozenset[str] = frozenset()  # lower-case "scheme://host[:port]"
    any_host: bool = False
    any_origin: bool = False

    @classmethod
    def for_bind(
        cls, bind: str, allow_hosts: Iterable[str] = (), allow_origins: Iterable[str] = ()
    ) -> SitePolicy:
        """The policy of a server bound to ``bind`` with the user's extra names.
        ValueError names an entry that is not a host name or an origin."""
        allow_hosts, allow_origins = list(allow_hosts), list(allow_origins)
        hosts = {_host_name(h) for h in allow_hosts if h != "*"}
        if bind and bind not in ("0.0.0.0", "::"):
            hosts.add(_host_name(bind))
        origins = {_origin(o) for o in allow_origins if o != "*"}
        return cls(
            hosts=frozenset(hosts),
            origins=frozenset(origins),
            any_host="*" in allow_hosts,
            any_origin="*" in allow_origins,
        )


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is this machine's loopback."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def split_host(header: str) -> str:
    """The name in a Host header, lower case, without port or IPv6 brackets."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def host_allowed(policy: SitePolicy, host_header: str | None) -> bool:
    """True when the Host header names this server (see the module's docstring)."""
    if policy.any_host:
        return True
    if not host_header:
        return False
    name = split_host(host_header)
    if name in LOOPBACK_NAMES or name in policy.hosts:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def origin_allowed(policy: SitePolicy, origin: str | None, host_header: str | None) -> bool:
    """True when a request with this Origin may act: none given (not a browser), the
    server's own origin, or one the user allowed."""
    if origin is None or policy.any_origin:
        return True
    origin = origin.strip().lower()
    if origin in policy.origins:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc or not host_header:
        return False
    # a Host without a port (behind a proxy) means the origin's default port
    return _with_port(parts.netloc, parts.scheme) == _with_port(host_header.lower(), parts.scheme)


def refusal(scope: Scope, policy: SitePolicy) -> tuple[int, str, str] | None:
    """(HTTP status, code, message) when the request must be refused, else None."""
    headers = Headers(raw=scope.get("headers", []))  # ASGI sends lower-case names
    host = headers.get("host")
    if not host_allowed(policy, host):
        return (
            403,
            "host_not_allowed",
            (
                f"this server does not answer to the host name {host!r}; start it with "
                "--allow-host NAME to allow that name"
            ),
        )
    method = scope.get("method", "GET")
    if scope["type"] == "websocket" or method not in SAFE_METHODS:
        origin = headers.get("origin")
        if not origin_allowed(policy, origin, host):
            return (
                403,
                "origin_not_allowed",
                (
                    f"requests from the web origin {origin!r} are not allowed; start the server "
                    "with --allow-origin ORIGIN to allow it"
                ),
            )
    if scope["type"] == "http" and method == "POST" and _has_body(headers):
        kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if kind != "application/json":
            return (
                415,
                "unsupported_media_type",
                (f"send the body as application/json (got {kind or 'no content type'!r})"),
            )
    return None


class SiteGuard:
    """ASGI middleware: refuses what :func:`refusal` refuses, before the app sees it.
    A refused WebSocket is closed during the handshake (HTTP 403 to the client)."""

    def __init__(self, app: ASGIApp, policy: SitePolicy, on_refuse: Callable[[str], None]) -> None:
        self.app = app
        self.policy = policy
        self.on_refuse = on_refuse  # called with the refusal's code (metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refused = refusal(scope, self.policy)
        if refused is None:
            await self.app(scope, receive, send)
            return
        status, code, message = refused
        self.on_refuse(code)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": code})
            return
        response = JSONResponse({"error": {"code": code, "message": message}}, status)
        await response(scope, receive, send)


def _has_body(headers: Headers) -> bool:
    return headers.get("content-length", "0") != "0" or "transfer-encoding" in headers


def _with_port(netloc: str, scheme: str) -> str:
    """``host:port`` with the scheme's default port made explicit."""
    if netloc.startswith("["):
        host, _, rest = netloc[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif netloc.count(":") == 1:
        host, port = netloc.split(":")
    else:
        host, port = netloc, ""
    return f"{host}:{port or ('443' if scheme == 'https' else '80')}"


def _host_name(value: str) -> str:
    name = split_host(value)
    if not name or any(c in value for c in "/ @?#"):
        raise ValueError(f"not a host name: {value!r}")
    return name


def _origin(value: str) -> str:
    parts = urlsplit(value.strip().lower())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError(f"not a web origin (scheme://host[:port]): {value!r}")
    return f"{parts.scheme}://{parts.netloc}"
