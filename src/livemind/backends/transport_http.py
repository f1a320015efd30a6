"""Chat-completion chunks as server-sent events over HTTP (httpx + :mod:`._sse`).

:class:`HttpSseTransport` posts ``{api}/chat/completions`` and yields the JSON chunks of
the event stream, with every failure named as a :class:`BackendError`:

- HTTP 429 is ``rate_limited`` (with the server's ``Retry-After``); other error statuses
  and error bodies are mapped by :func:`~livemind.backends._usage.error_from_json`;
- an SSE event named ``error``, an ``{"error": ...}`` chunk, or llama-server's old
  ``error:`` line (found after the body ended) raise that error;
- a body that ends without ``data: [DONE]`` raises :class:`~.chat_core.ReplyCut`
  (harmless once the reply had ended);
- a server that ignored ``"stream"`` and sent one JSON reply gives that reply as one
  chunk;
- connection failures and read timeouts are ``unreachable``; a broken stream is
  ``server_error``; a call longer than ``deadline`` seconds is ``timeout``.

Every call carries ``X-Request-Id: <session key>-<tag>-<n>`` (:func:`request_id`), unique
per transport: vLLM takes it as the request's id and logs it, routers pass it on, so a
session's calls can be found in each worker's own log.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import secrets
import time
from collections.abc import AsyncGenerator, Mapping
from typing import Any

import httpx

from ._sse import EventStream
from ._usage import error_from_json
from .base import BackendError
from .chat_core import ReplyCut, reply_as_chunk

__all__ = ["HttpSseTransport", "request_id", "unreachable"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.:-]")


def request_id(session_key: str | None, tag: str, n: int) -> str:
    """``<session key>-<tag>-<n>``: the key with anything but letters, digits and ``_.:-``
    replaced by ``_`` and cut to 64 characters (``lm`` without a key)."""
    key = _UNSAFE.sub("_", session_key)[:64] if session_key else "lm"
    return f"{key}-{tag}-{n}"


def unreachable(url: str, exc: BaseException) -> BackendError:
    """The ``unreachable`` error of a request to ``url`` that failed with ``exc``."""
    detail = str(exc) or type(exc).__name__
    return BackendError("unreachable", f"cannot reach {url}: {detail}")


def _seconds(value: str | None) -> float | None:
    """A ``Retry-After`` in seconds (the HTTP-date form is not used by model servers)."""
    try:
        wait = float(value) if value is not None else None
    except ValueError:
        return None
    return wait if wait is not None and wait >= 0 else None


def http_error(
    where: str, status: int, raw: bytes, headers: Mapping[str, str] | None = None
) -> BackendError:
    """The error of an HTTP ``status`` >= 400 reply from ``where`` with body ``raw``."""
    text = raw.decode("utf-8", "replace").strip()
    if status == 429:
        wait = _seconds((headers or {}).get("retry-after"))
        told = f"; it asks to retry after {wait:g} s" if wait is not None else ""
        return BackendError("rate_limited", f"{where} is busy (HTTP 429{told}): {text[:200]}", wait)
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text or f"HTTP {status}"
    return error_from_json(body, status=status, where=where)


class HttpSseTransport:
    """A :class:`~livemind.backends.chat_core.ChatTransport` to an OpenAI-compatible API.

    ``api_url`` ends in the version segment (``http://host:8080/v1``). ``api_key`` goes
    as ``Authorization: Bearer``; ``affinity_header`` (``None``: off) carries the call's
    session key. ``timeout``: seconds for connecting and between two reads; ``deadline``:
    seconds one whole streamed call may take. :meth:`client` is the shared
    ``httpx.AsyncClient`` (one per event loop), also for the backend's own requests.
    """

    def __init__(
        self,
        api_url: str,
        *,
        api_key: str | None = None,
        affinity_header: str | None = "X-Session-ID",
        timeout: float = 120.0,
        deadline: float = 600.0,
    ) -> None:
        self.api_url = api_url
        self.api_key = api_key
        self.affinity_header = affinity_header
        self.timeout = timeout
        self.deadline = deadline
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self.closed = False
        self._tag = secrets.token_hex(3)  # tells this transport's request ids from others'
        self._calls = itertools.count(1)

    @property
    def where(self) -> str:
        return self.api_url

    def client(self) -> httpx.AsyncClient:
        """The client for the running event loop (``server_error`` once closed)."""
        if self.closed:
            raise BackendError("server_error", f"backend for {self.api_url} is closed")
        loop = asyncio.get_running_loop()
        if self._client is None or self._client_loop is not loop or self._client.is_closed:
            # an AsyncClient's connections belong to one event loop: make one per loop
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                follow_redirects=True,
            )
            self._client_loop = loop
        return self._client

    def headers(self, session_key: str | None) -> dict[str, str]:
        """Accept, auth and (with a key) affinity headers of a request."""
        headers = {"Accept": "text/event-stream, application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if self.affinity_header and session_key:
            headers[self.affinity_header] = session_key
        return headers

    def _error_payload(self, value: str) -> BackendError:
        try:
            body: Any = json.loads(value)
        except ValueError:
            body = value
        return error_from_json(body, where=self.api_url)

    @staticmethod
    def _json(data: str | bytes, sender: str, what: str) -> Any:
        try:
            return json.loads(data)
        except ValueError as exc:
            raise BackendError("server_error", f"{sender} sent {what}: {data[:200]!r}") from exc

    def _whole_reply(self, raw: bytes) -> dict[str, Any]:
        data = self._json(raw, self.api_url, "a non-JSON reply")
        if isinstance(data, dict) and "error" in data:
            raise error_from_json(data, where=self.api_url)
        if not isinstance(data, dict):
            raise BackendError("server_error", f"{self.api_url} sent {raw[:200]!r}, no object")
        return reply_as_chunk(data)

    async def open_stream(
        self, body: dict[str, Any], session_key: str | None = None
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The chunks of ``POST {api}/chat/completions`` with ``body`` (see the module doc)."""
        client = self.client()
        url = self.api_url + "/chat/completions"
        try:
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BackendError(
                "bad_request", "the prompt is not valid Unicode (it holds a lone surrogate)"
            ) from None
        headers = {**self.headers(session_key), "Content-Type": "application/json"}
        headers["X-Request-Id"] = request_id(session_key, self._tag, next(self._calls))
        done = False
        try:
            async with client.stream("POST", url, content=content, headers=headers) as resp:
                if resp.status_code >= 400:
                    raw = await resp.aread()
                    raise http_error(self.api_url, resp.status_code, raw, resp.headers)
                if "text/event-stream" not in resp.headers.get("content-type", ""):
                    yield self._whole_reply(await resp.aread())  # it ignored "stream"
                    return
                started = time.monotonic()
                stream = EventStream(resp)
                async with contextlib.aclosing(stream.events()) as events:
                    async for sse in events:
                        if time.monotonic() - started > self.deadline:
                            raise BackendError(
                                "timeout",
                                f"{url} took longer than the {self.deadline:g} s deadline",
                            )
                        if sse.event == "error":
                            raise self._error_payload(sse.data)
                        if not sse.data:  # a keep-alive or an id-only event
                            continue
                        if sse.data == "[DONE]":
                            done = True
                            break
                        chunk = self._json(sse.data, url, "a malformed stream chunk")
                        if not isinstance(chunk, dict):
                            continue
                        if "error" in chunk:
                            raise error_from_json(chunk, where=self.api_url)
                        yield chunk
        except BackendError:
            raise
        except (httpx.TimeoutException, httpx.ConnectError, httpx.UnsupportedProtocol) as exc:
            raise unreachable(url, exc) from exc
        except httpx.HTTPError as exc:  # broken stream: peer closed, protocol error...
            detail = str(exc) or type(exc).__name__
            raise BackendError("server_error", f"stream from {url} broke: {detail}") from exc
        if (legacy := stream.legacy_error()) is not None:
            err = self._error_payload(legacy)
            raise ReplyCut(err.code, err.message, err.retry_after_s)
        if not done:
            raise ReplyCut("server_error", f"stream from {url} ended before the reply was complete")

    async def aclose(self) -> None:
        """Close the client (when it belongs to the running loop). Later calls fail."""
        self.closed = True
        client, self._client = self._client, None
        if client is not None and not client.is_closed:
            try:
                same_loop = self._client_loop is asyncio.get_running_loop()
            except RuntimeError:
                same_loop = False
            if same_loop:
                await client.aclose()
        self._client_loop = None
