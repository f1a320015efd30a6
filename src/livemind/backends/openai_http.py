"""OpenAI-compatible HTTP backend (llama-server, vLLM, SGLang, routers, OpenAI itself).

Streams ``POST {api}/chat/completions`` as server-sent events with
``stream_options.include_usage`` (read by httpx-sse, see :mod:`._sse`) and turns the
chunks into :class:`Delta` items.

URLs: ``base_url`` may be given with or without the API version segment. If its path
ends in ``/v<N>`` (``http://host:8080/v1``, ``https://api.example.com/openai/v1``) it is
used as is; otherwise ``/v1`` is appended (``http://host:8080`` ->
``http://host:8080/v1``). Server-specific endpoints (llama.cpp's ``/props`` and
``/slots``) are looked up at the root, i.e. the API URL without that last segment.

Prewarm (``prewarm_mode``): a chat request on the same messages that evaluates the
prompt into the server's prefix cache and generates (almost) nothing:

- ``"llama"``: llama-server, ``max_tokens: 0`` (llama.cpp still samples one token);
- ``"sglang"``: ``max_tokens: 1`` (SGLang's OpenAI route reads ``max_tokens: 0`` as
  unset and has no ``max_new_tokens`` field; its native ``/generate`` does, but needs the
  templated prompt, so one sampled token is the price of using the chat route);
- ``"vllm"``: ``max_tokens: 1`` (vLLM rejects 0; needs prefix caching enabled);
- ``"off"``: no prewarm;
- ``"auto"``: on first need, ``GET {root}/props`` (llama.cpp answers with
  ``default_generation_settings``), then ``GET {root}/slots``: a llama.cpp server gives
  ``"llama"``, anything else ``"off"``. Until that probe ran, :attr:`capabilities`
  optimistically reports ``prewarm=True``; :meth:`OpenAIBackend.prewarm` returns ``None``
  when the probe says no. Call :meth:`OpenAIBackend.probe` to settle it up front.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx

from ._llama_probe import probe_llama
from ._sse import EventStream
from ._usage import choice_parts, error_from_json, parse_usage
from .affinity import SlotMap, hold_slot
from .base import Backend, BackendError, Capabilities, Delta, Request, Usage

__all__ = ["OpenAIBackend", "PREWARM_MODES"]

PREWARM_MODES = ("auto", "llama", "sglang", "vllm", "off")
_VERSION_RE = re.compile(r"/v\d+$")


def split_base_url(base_url: str) -> tuple[str, str]:
    """``(api_url, root_url)`` for a base URL given with or without ``/v1``."""
    url = base_url.strip().rstrip("/")
    if not url:
        raise ValueError("base_url is empty")
    if _VERSION_RE.search(url):
        return url, _VERSION_RE.sub("", url)
    return url + "/v1", url


MAX_RETRY_WAIT_S = 10.0


def _seconds(value: str | None) -> float | None:
    """A ``Retry-After`` in seconds (the HTTP-date form is not used by model servers)."""
    try:
        wait = float(value) if value is not None else None
    except ValueError:
        return None
    return wait if wait is not None and wait >= 0 else None


def _retry_wait(err: BackendError) -> float | None:
    """Seconds to wait before the one retry of a rate-limited call, or None: no retry."""
    if err.code != "rate_limited":
        return None
    wait = 1.0 if err.retry_after_s is None else err.retry_after_s
    return wait if wait <= MAX_RETRY_WAIT_S else None


class OpenAIBackend(Backend):
    """A chat model behind an OpenAI-compatible ``/chat/completions`` endpoint.

    - ``model``: sent as ``"model"``; ``None`` = the first id of ``GET {api}/models``,
      looked up once on first use (``"default"`` if that fails).
    - ``extra_body``: merged into every request body (then ``Request.extra`` on top).
    - ``affinity_header``: header carrying ``Request.session_key`` (for routers that
      pin a conversation to a replica); ``None`` disables it.
    - ``slot_affinity``: once :meth:`probe` (or the first prewarm in ``"auto"`` mode)
      found a llama.cpp server with several slots, calls with a ``session_key`` also
      carry ``"id_slot"`` from :attr:`slot_map` (see :mod:`livemind.backends.affinity`);
      an ``id_slot`` in ``extra_body`` or ``Request.extra`` wins. ``False`` turns it off.
    - ``api_key``: sent as ``Authorization: Bearer <key>``.
    - ``timeout``: seconds for connecting and between two reads of the stream;
      ``deadline``: seconds one whole call may take (``timeout`` error after it).
    - HTTP 429 is ``rate_limited``; a call that has not streamed anything yet is tried
      once more after the server's ``Retry-After`` when that is at most
      :data:`MAX_RETRY_WAIT_S` (1 s when it names none).
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        extra_body: dict[str, Any] | None = None,
        affinity_header: str | None = "X-Session-ID",
        prewarm_mode: str = "auto",
        slot_affinity: bool = True,
        timeout: float = 120.0,
        deadline: float = 600.0,
        name: str | None = None,
    ) -> None:
        if prewarm_mode not in PREWARM_MODES:
            raise ValueError(f"prewarm_mode must be one of {PREWARM_MODES}, not {prewarm_mode!r}")
        self.api_url, self.root_url = split_base_url(base_url)
        self.base_url = self.api_url
        if name is not None:
            self.name = name
        self.model = model or ""
        self._model_resolved = model is not None
        self.api_key = api_key
        self.extra_body = dict(extra_body or {})
        self.affinity_header = affinity_header
        self.prewarm_mode = prewarm_mode
        self.timeout = timeout
        self.deadline = deadline
        # "auto" is settled by probe(); until then the mode stays "auto"
        self._mode = prewarm_mode
        self._cached_seen = False
        self._slots = 1
        self.slot_affinity = slot_affinity
        self.slot_map: SlotMap | None = None  # set by probe() for a multi-slot llama.cpp
        self._client: httpx.AsyncClient | None = None
        self._client_loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    # ------------------------------------------------------------------ capabilities

    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        mode = self._mode
        return Capabilities(
            prewarm=mode != "off",
            cached_tokens=mode == "llama" or self._cached_seen,
            slots=self._slots,
        )

    @property
    def resolved_prewarm_mode(self) -> str:
        """The prewarm mode in use: ``"auto"`` until :meth:`probe` ran."""
        return self._mode

    async def probe(self) -> Capabilities:
        """Settle ``prewarm_mode="auto"`` (and the slot count) by asking the server once."""
        if self._mode == "auto" or (self._mode == "llama" and self._slots == 1):
            kind, slots = await self._probe_llama()
            if self._mode == "auto":
                self._mode = "llama" if kind else "off"
            if slots:
                self._slots = slots
        if self._slots > 1 and (self.slot_map is None or self.slot_map.n_slots != self._slots):
            self.slot_map = SlotMap(self._slots)  # used while slot_affinity is on
        return self.capabilities

    async def _probe_llama(self) -> tuple[bool, int | None]:
        url = self.root_url + "/props"
        try:
            info = await probe_llama(self._get_client(), self.root_url, self._headers(None))
        except httpx.TransportError as exc:  # down: leave "auto" unsettled
            raise self._unreachable(url, exc) from exc
        if info.n_ctx is not None and self.context_size is None:
            self.context_size = info.n_ctx
        return info.is_llama, info.slots

    # ------------------------------------------------------------------ plumbing

    def _get_client(self) -> httpx.AsyncClient:
        if self._closed:
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

    def _headers(self, session_key: str | None) -> dict[str, str]:
        headers = {"Accept": "text/event-stream, application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        if self.affinity_header and session_key:
            headers[self.affinity_header] = session_key
        return headers

    async def _resolve_model(self) -> None:
        if self._model_resolved:
            return
        model = "default"
        try:
            resp = await self._get_client().get(
                self.api_url + "/models", headers=self._headers(None)
            )
            if resp.status_code == 200:
                data = resp.json().get("data") or []
                if data and isinstance(data[0], dict) and data[0].get("id"):
                    model = str(data[0]["id"])
        except httpx.TransportError as exc:
            raise self._unreachable(self.api_url + "/models", exc) from exc
        except (httpx.HTTPError, ValueError, AttributeError):
            pass
        self.model = model
        self._model_resolved = True

    def _unreachable(self, url: str, exc: BaseException) -> BackendError:
        detail = str(exc) or type(exc).__name__
        return BackendError("unreachable", f"cannot reach {url}: {detail}")

    def _body(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": list(request.messages)
            if isinstance(request.messages, list)
            else request.messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if self._mode == "llama":
            body["cache_prompt"] = True
        body.update(self.extra_body)
        body.update(request.extra)
        body["stream"] = True
        opts = dict(body.get("stream_options") or {})
        opts["include_usage"] = True
        body["stream_options"] = opts
        return body

    # ------------------------------------------------------------------ streaming

    async def _stream_body(
        self, body: dict[str, Any], session_key: str | None
    ) -> AsyncIterator[Delta]:
        client = self._get_client()
        url = self.api_url + "/chat/completions"
        finish_reason: str | None = None
        usage: Usage | None = None
        done = False
        try:
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise BackendError(
                "bad_request", "the prompt is not valid Unicode (it holds a lone surrogate)"
            ) from None
        headers = {**self._headers(session_key), "Content-Type": "application/json"}
        try:
            async with client.stream("POST", url, content=content, headers=headers) as resp:
                if resp.status_code >= 400:
                    raw = await resp.aread()
                    raise self._http_error(resp.status_code, raw, resp.headers)
                if "text/event-stream" not in resp.headers.get("content-type", ""):
                    # a server that ignored "stream": one JSON response
                    for delta in self._from_json_response(await resp.aread()):
                        yield delta
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
                        chunk = self._chunk(sse.data, url)
                        if not isinstance(chunk, dict):
                            continue
                        if "error" in chunk:
                            raise error_from_json(chunk, where=self.api_url)
                        text, reason = self._choices(chunk, "delta")
                        finish_reason = reason or finish_reason
                        if text:
                            yield Delta(text=text)
                        parsed = parse_usage(chunk)
                        if parsed is not None:
                            usage = parsed
        except BackendError:
            raise
        except httpx.TimeoutException as exc:
            raise self._unreachable(url, exc) from exc
        except (httpx.ConnectError, httpx.UnsupportedProtocol) as exc:
            raise self._unreachable(url, exc) from exc
        except httpx.HTTPError as exc:  # broken stream: peer closed, protocol error...
            detail = str(exc) or type(exc).__name__
            raise BackendError("server_error", f"stream from {url} broke: {detail}") from exc

        if finish_reason is None and usage is None:
            if (legacy := stream.legacy_error()) is not None:
                raise self._error_payload(legacy)
            if not done:
                raise BackendError(
                    "server_error", f"stream from {url} ended before the reply was complete"
                )
        yield Delta(usage=self._finish(usage, finish_reason))

    def _chunk(self, data: str, url: str) -> Any:
        try:
            return json.loads(data)
        except ValueError as exc:
            raise BackendError(
                "server_error", f"{url} sent a malformed stream chunk: {data[:200]!r}"
            ) from exc

    def _finish(self, usage: Usage | None, finish_reason: str | None) -> Usage:
        if usage is None:
            usage = Usage()
        usage.finish_reason = finish_reason or usage.finish_reason
        if usage.cached_tokens is not None:
            self._cached_seen = True
        return usage

    def _from_json_response(self, raw: bytes) -> list[Delta]:
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise BackendError(
                "server_error", f"{self.api_url} sent a non-JSON reply: {raw[:200]!r}"
            ) from exc
        if isinstance(data, dict) and "error" in data:
            raise error_from_json(data, where=self.api_url)
        if not isinstance(data, dict):
            raise BackendError("server_error", f"{self.api_url} sent {raw[:200]!r}, no object")
        text, reason = self._choices(data, "message")
        out = [Delta(text=text)] if text else []
        out.append(Delta(usage=self._finish(parse_usage(data), reason)))
        return out

    def _choices(self, chunk: dict[str, Any], key: str) -> tuple[str, str | None]:
        try:
            return choice_parts(chunk, key)
        except ValueError as exc:
            raise BackendError(
                "server_error", f"{self.api_url} sent a malformed reply ({exc})"
            ) from None

    def _http_error(self, status: int, raw: bytes, headers: Any = None) -> BackendError:
        text = raw.decode("utf-8", "replace").strip()
        if status == 429:
            wait = _seconds((headers or {}).get("retry-after"))
            told = f"; it asks to retry after {wait:g} s" if wait is not None else ""
            return BackendError(
                "rate_limited", f"{self.api_url} is busy (HTTP 429{told}): {text[:200]}", wait
            )
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text or f"HTTP {status}"
        return error_from_json(body, status=status, where=self.api_url)

    def _error_payload(self, value: str) -> BackendError:
        try:
            body: Any = json.loads(value)
        except ValueError:
            body = value
        return error_from_json(body, where=self.api_url)

    async def stream(self, request: Request) -> AsyncIterator[Delta]:
        await self._resolve_model()
        body = self._body(request)
        with hold_slot(self._slot_map_in_use(), request.session_key, body):
            for attempt in range(2):
                streamed = False
                try:
                    gen = self._stream_body(body, request.session_key)
                    async with contextlib.aclosing(gen) as deltas:
                        async for delta in deltas:
                            streamed = True
                            yield delta
                    return
                except BackendError as err:
                    wait = None if streamed or attempt else _retry_wait(err)
                    if wait is None:
                        raise
                    await asyncio.sleep(wait)

    def _slot_map_in_use(self) -> SlotMap | None:
        return self.slot_map if self.slot_affinity else None

    async def prewarm(self, request: Request) -> Usage | None:
        """Prefill ``request.messages`` into the server's cache (see the module doc)."""
        if self._mode == "auto":
            await self.probe()
        if self._mode == "off":
            return None
        await self._resolve_model()
        body = self._body(request)
        body.pop("stop", None)
        if self._mode == "llama":
            body["max_tokens"] = 0
        elif self._mode in ("sglang", "vllm"):
            body["max_tokens"] = 1
        usage: Usage | None = None
        with hold_slot(self._slot_map_in_use(), request.session_key, body):
            gen = self._stream_body(body, request.session_key)
            async with contextlib.aclosing(gen) as deltas:
                async for delta in deltas:
                    if delta.usage is not None:
                        usage = delta.usage
        return usage

    # ------------------------------------------------------------------ lifecycle

    async def aclose(self) -> None:
        self._closed = True
        client, self._client = self._client, None
        if client is not None and not client.is_closed:
            try:
                same_loop = self._client_loop is asyncio.get_running_loop()
            except RuntimeError:
                same_loop = False
            if same_loop:
                await client.aclose()
        self._client_loop = None

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.api_url!r}, model={self.model!r}, prewarm={self._mode!r})"
