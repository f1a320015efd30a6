"""OpenAI-compatible HTTP backend (llama-server, vLLM, SGLang, routers, OpenAI itself).

Streams ``POST {api}/chat/completions`` as server-sent events with
``stream_options.include_usage`` (:class:`~livemind.backends.transport_http.
HttpSseTransport`) and turns the chunks into :class:`Delta` items
(:class:`~livemind.backends.chat_core.ChatBackend`).

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
  ``"llama"``; otherwise ``GET {api}/models``: a model ``owned_by`` ``"vllm"`` or
  ``"sglang"`` gives that mode (also behind a router that passes the list on), anything
  else ``"off"``. Until that probe ran, :attr:`capabilities`
  optimistically reports ``prewarm=True``; :meth:`OpenAIBackend.prewarm` returns ``None``
  when the probe says no. Call :meth:`OpenAIBackend.probe` to settle it up front.

Priorities (``engine_priority``): for a vLLM server started with ``--scheduling-policy
priority`` (``"vllm"``) or an SGLang server with ``--enable-priority-scheduling``
(``"sglang"``), each body carries ``priority`` by the request's stage, so the engine
itself runs answers before notes before prefills (:func:`~livemind.backends.scheduling.
engine_priority`). Off by default: vLLM refuses the field unless started that way.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from ._llama_probe import probe_llama
from .affinity import SlotMap
from .base import Capabilities, Request, Usage
from .chat_core import MAX_RETRY_WAIT_S, ChatBackend
from .scheduling import ENGINE_PRIORITY_KINDS, engine_priority
from .transport_http import HttpSseTransport, unreachable

__all__ = ["MAX_RETRY_WAIT_S", "OpenAIBackend", "PREWARM_MODES"]

PREWARM_MODES = ("auto", "llama", "sglang", "vllm", "off")
_PREWARM_MAX_TOKENS = {"llama": 0, "sglang": 1, "vllm": 1}
_VERSION_RE = re.compile(r"/v\d+$")


def split_base_url(base_url: str) -> tuple[str, str]:
    """``(api_url, root_url)`` for a base URL given with or without ``/v1``."""
    url = base_url.strip().rstrip("/")
    if not url:
        raise ValueError("base_url is empty")
    if _VERSION_RE.search(url):
        return url, _VERSION_RE.sub("", url)
    return url + "/v1", url


class OpenAIBackend(ChatBackend):
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
    transport: HttpSseTransport

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
        engine_priority: str | None = None,
    ) -> None:
        if prewarm_mode not in PREWARM_MODES:
            raise ValueError(f"prewarm_mode must be one of {PREWARM_MODES}, not {prewarm_mode!r}")
        self.api_url, self.root_url = split_base_url(base_url)
        self.base_url = self.api_url
        super().__init__(
            HttpSseTransport(
                self.api_url,
                api_key=api_key,
                affinity_header=affinity_header,
                timeout=timeout,
                deadline=deadline,
            )
        )
        if name is not None:
            self.name = name
        self.model = model or ""
        self._model_resolved = model is not None
        self.extra_body = dict(extra_body or {})
        if engine_priority is not None and engine_priority not in ENGINE_PRIORITY_KINDS:
            raise ValueError(
                f"engine_priority must be one of {ENGINE_PRIORITY_KINDS}, not {engine_priority!r}"
            )
        self.engine_priority = engine_priority
        self.prewarm_mode = prewarm_mode
        # "auto" is settled by probe(); until then the mode stays "auto"
        self._mode = prewarm_mode
        self._cached_seen = False
        self._slots = 1
        self.slot_affinity = slot_affinity
        self.slot_map: SlotMap | None = None  # set by probe() for a multi-slot llama.cpp

    # the transport's settings, under the names this class has always had
    @property
    def api_key(self) -> str | None:
        return self.transport.api_key

    @property
    def affinity_header(self) -> str | None:
        return self.transport.affinity_header

    @property
    def timeout(self) -> float:
        return self.transport.timeout

    @property
    def deadline(self) -> float:
        return self.transport.deadline

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
                self._mode = "llama" if kind else await self._mode_from_owner()
            if slots:
                self._slots = slots
        if self._slots > 1 and (self.slot_map is None or self.slot_map.n_slots != self._slots):
            self.slot_map = SlotMap(self._slots)  # used while slot_affinity is on
        return self.capabilities

    async def _probe_llama(self) -> tuple[bool, int | None]:
        url = self.root_url + "/props"
        client = self.transport.client()
        try:
            info = await probe_llama(client, self.root_url, self.transport.headers(None))
        except httpx.TransportError as exc:  # down: leave "auto" unsettled
            raise unreachable(url, exc) from exc
        if info.n_ctx is not None and self.context_size is None:
            self.context_size = info.n_ctx
        return info.is_llama, info.slots

    async def _mode_from_owner(self) -> str:
        """``"vllm"`` or ``"sglang"`` when ``/models`` names that engine as the owner
        (``owned_by``; routers pass the workers' list through), else ``"off"``."""
        owners = {str(m.get("owned_by", "")).lower() for m in await self._models()}
        return next((mode for mode in ("vllm", "sglang") if mode in owners), "off")

    # ------------------------------------------------------------------ ChatBackend hooks

    async def _models(self) -> list[dict[str, Any]]:
        """``GET {api}/models``'s entries (``[]`` when it fails or says nothing usable)."""
        try:
            resp = await self.transport.client().get(
                self.api_url + "/models", headers=self.transport.headers(None)
            )
            if resp.status_code == 200:
                data = resp.json().get("data") or []
                return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []
        except httpx.TransportError as exc:
            raise unreachable(self.api_url + "/models", exc) from exc
        except (httpx.HTTPError, ValueError, AttributeError):
            pass
        return []

    async def _before_call(self) -> None:
        """Look the model up once (``GET {api}/models``) when none was given."""
        if self._model_resolved:
            return
        models = await self._models()
        self.model = str(models[0].get("id") or "default") if models else "default"
        self._model_resolved = True

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
        if self.engine_priority is not None:  # answers before notes before prefills
            body["priority"] = engine_priority(self.engine_priority, request.stage)
        body.update(self.extra_body)
        body.update(request.extra)
        body["stream"] = True
        opts = dict(body.get("stream_options") or {})
        opts["include_usage"] = True
        body["stream_options"] = opts
        return body

    async def _prewarm_max_tokens(self) -> int | None:
        """Per the prewarm mode (see the module doc); settles ``"auto"`` first."""
        if self._mode == "auto":
            await self.probe()
        return _PREWARM_MAX_TOKENS.get(self._mode)

    def _slots_in_use(self) -> SlotMap | None:
        return self.slot_map if self.slot_affinity else None

    def _saw_usage(self, usage: Usage) -> None:
        if usage.cached_tokens is not None:
            self._cached_seen = True

    # ------------------------------------------------------------------ lifecycle

    async def aclose(self) -> None:
        await self.transport.aclose()

    def __repr__(self) -> str:
        return f"OpenAIBackend({self.api_url!r}, model={self.model!r}, prewarm={self._mode!r})"
