"""Embedded llama.cpp backend through the ``xllamacpp`` package.

``xllamacpp.Server`` runs llama.cpp's server (slots, continuous batching, prefix cache)
inside this process; :class:`~livemind.backends.transport_embedded.EmbeddedTransport`
streams its chat-completion chunks (worker threads, engine callback, cancellation) and
:class:`~livemind.backends.chat_core.ChatBackend` turns them into deltas.

- every request is sent with ``"return_progress": true``: llama.cpp then emits a progress
  chunk after each prompt batch (``n_batch`` tokens), so a cancelled consumer is noticed
  during a long prefill too, not only once tokens are generated;
- :meth:`LlamaCppBackend.prewarm` sends the same chat request with ``max_tokens: 0``:
  llama.cpp templates the messages exactly as for a normal chat call, evaluates the
  prompt into the slot's KV cache and samples a single token (0 is not possible; it
  reports ``completion_tokens == 1``);
- the engine also opens its own OpenAI-compatible HTTP server on 127.0.0.1 (random
  port), exposed as :attr:`LlamaCppBackend.base_url`.

Session affinity: with several slots, calls (prewarm too) with a ``session_key`` carry
``"id_slot"`` from :attr:`LlamaCppBackend.slot_map` so a conversation keeps its prefix
on one slot; llama.cpp defers a request while its ``id_slot`` is busy, so when another
conversation holds it and a slot is idle, the call goes without and llama.cpp picks one
(longest cached prefix, else least recently used). ``Request.extra["id_slot"]`` wins.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

from .affinity import SlotMap
from .base import BackendError, Capabilities, Request
from .chat_core import ChatBackend
from .transport_embedded import EmbeddedTransport

__all__ = ["LlamaCppBackend"]

NGRAM_SPEC_TYPES = ("ngram-simple", "ngram-map-k", "ngram-mod", "ngram-cache")


def _engine_request(url: str, api_key: str, method: str = "GET") -> urllib.request.Request:
    """A request to the engine's own HTTP server, with its key."""
    return urllib.request.Request(
        url, method=method, headers={"Authorization": f"Bearer {api_key}"}
    )


def _slot_context(root_url: str, api_key: str) -> int | None:
    """Tokens per slot as the engine sees them (``GET /slots`` on its own HTTP server)."""
    try:
        with urllib.request.urlopen(
            _engine_request(root_url + "/slots", api_key), timeout=5
        ) as resp:
            slots = json.loads(resp.read())
        n_ctx = slots[0]["n_ctx"]
    except Exception:
        return None
    return n_ctx if isinstance(n_ctx, int) and n_ctx > 0 else None


def _speculative_type(xllamacpp: Any, name: str) -> Any:
    """llama.cpp's enum value for a draft-free speculative type (``--spec-type`` names)."""
    if name not in NGRAM_SPEC_TYPES:
        raise ValueError(
            f"unknown ngram_spec {name!r}; choose one of: {', '.join(NGRAM_SPEC_TYPES)}"
        )
    member = "COMMON_SPECULATIVE_TYPE_" + name.upper().replace("-", "_")
    return getattr(xllamacpp.common_speculative_type, member)


def _engine_params(
    xllamacpp: Any,
    path: Path,
    *,
    n_ctx: int,
    n_parallel: int,
    n_threads: int,
    n_batch: int | None,
    verbose: bool,
    poll: int | None,
    host_cache_mib: int | None,
    ngram_spec: str | None,
    draft_max: int,
) -> Any:
    """``xllamacpp.CommonParams`` for the constructor's arguments (see the class doc);
    the slot save path and the API key are set by the caller."""
    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.model_alias = {path.stem}
    params.n_ctx = n_ctx
    params.n_parallel = n_parallel
    params.cpuparams.n_threads = n_threads
    params.cpuparams_batch.n_threads = n_threads
    if poll is not None:
        params.cpuparams.poll = poll
        params.cpuparams_batch.poll = poll
    if n_batch is not None:
        params.n_batch = n_batch
        params.n_ubatch = min(params.n_ubatch, n_batch)
    params.cache_prompt = True
    if ngram_spec is not None:
        params.speculative.types = [_speculative_type(xllamacpp, ngram_spec)]
        params.speculative.draft.n_max = draft_max
    if host_cache_mib is not None:  # llama.cpp keeps evicted prompts in host RAM
        params.cache_ram_mib = host_cache_mib
    # 0 = silent, 1 = errors, 2 = + warnings, 3 = + info (llama.cpp's default)
    params.verbosity = 3 if verbose else 0
    return params


class LlamaCppBackend(ChatBackend):
    """llama.cpp embedded in-process (``xllamacpp``), with ``n_parallel`` slots.

    ``n_ctx`` is the total KV cache, split evenly over the slots. :attr:`context_size`
    (tokens per slot) is read back from the engine, since llama.cpp pads the size and
    caps it at the model's training context; :attr:`n_ctx` is the effective total.
    ``n_threads`` is used for both generation and prompt processing. ``n_batch``
    (default: llama.cpp's 2048) is the prompt-processing batch; smaller values make
    cancellation during a long prefill quicker. The engine is quiet unless
    ``verbose=True`` (llama.cpp's log threshold is process-wide: the last engine created
    sets it). ``poll`` is the busy-wait level (0-100) of llama.cpp's thread pool;
    ``None`` keeps llama.cpp's default (50); ``poll=0`` makes idle compute threads sleep
    instead of spinning, which may help when other processes share the cores.
    ``host_cache_mib`` caps llama.cpp's host-memory store of evicted prompts (``None``:
    llama.cpp's default; 0 turns it off, which :meth:`reset_cache` needs to be cold).
    ``ngram_spec`` turns on llama.cpp's draft-free speculative decoding: drafts of up to
    ``draft_max`` tokens looked up in the prompt and the output so far (``ngram-simple``,
    ``ngram-map-k``, ``ngram-mod``, ``ngram-cache``); lossless, it pays when the answer
    copies spans of its prompt (BENCHMARKS measures it on this CPU).
    """

    name = "llama.cpp"
    transport: EmbeddedTransport

    def __init__(
        self,
        model_path: str | Path,
        *,
        n_ctx: int = 8192,
        n_parallel: int = 2,
        n_threads: int = 2,
        n_batch: int | None = None,
        name: str | None = None,
        verbose: bool = False,
        poll: int | None = None,
        host_cache_mib: int | None = None,
        ngram_spec: str | None = None,
        draft_max: int = 16,
    ) -> None:
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise BackendError("model_missing", f"model file not found: {path}")
        if n_parallel < 1:
            raise ValueError("n_parallel must be >= 1")
        if n_ctx < n_parallel:
            raise ValueError("n_ctx must be >= n_parallel")

        import xllamacpp

        params = _engine_params(
            xllamacpp,
            path,
            n_ctx=n_ctx,
            n_parallel=n_parallel,
            n_threads=n_threads,
            n_batch=n_batch,
            verbose=verbose,
            poll=poll,
            host_cache_mib=host_cache_mib,
            ngram_spec=ngram_spec,
            draft_max=draft_max,
        )
        # slot actions (erase, used by reset_cache) need a save path; nothing is saved
        self._slot_dir = tempfile.TemporaryDirectory(prefix="livemind-slots-")
        params.slot_save_path = self._slot_dir.name
        # the engine's own HTTP port is reachable by every local user: without this key
        # they could bypass the server's token and limits, or erase its slots
        self.api_key = secrets.token_urlsafe(32)
        params.api_keys = [self.api_key]
        try:
            server: Any = xllamacpp.Server(params)
        except Exception as exc:  # xllamacpp only says "Failed to init server"
            raise BackendError(
                "server_error", f"llama.cpp could not load the model {path}: {exc}"
            ) from exc

        if name is not None:
            self.name = name
        self.model = path.stem
        self.model_path = path
        self.n_parallel = n_parallel
        root: str = server.listening_address.rstrip("/")
        self._base_url = root + "/v1"
        # llama.cpp pads n_ctx and caps it at the model's training context: ask the engine
        slot_ctx = _slot_context(root, self.api_key) or n_ctx // n_parallel
        self.context_size = slot_ctx
        self.n_ctx = slot_ctx * n_parallel  # effective total, may differ from the request
        self.capabilities = Capabilities(prewarm=True, cached_tokens=True, slots=n_parallel)
        limit = f"per slot (n_ctx={self.n_ctx}, n_parallel={n_parallel})"
        super().__init__(EmbeddedTransport(server, workers=n_parallel + 2, overflow_limit=limit))
        # session_key -> id_slot; nothing to choose with one slot
        self.slot_map: SlotMap | None = SlotMap(n_parallel) if n_parallel > 1 else None
        self._closed = False

    # ------------------------------------------------------------------ properties

    @property
    def base_url(self) -> str:
        """The engine's own OpenAI-compatible HTTP server, e.g. ``http://127.0.0.1:PORT/v1``;
        it wants ``Authorization: Bearer`` :attr:`api_key` (random per engine)."""
        return self._base_url

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def in_flight(self) -> int:
        """Engine requests whose worker thread has not returned yet."""
        return self.transport.in_flight

    def __repr__(self) -> str:
        return (
            f"LlamaCppBackend({self.model!r}, n_ctx={self.n_ctx}, n_parallel={self.n_parallel}"
            f"{', closed' if self._closed else ''})"
        )

    # ------------------------------------------------------------------ requests

    def _body(self, request: Request) -> dict[str, Any]:
        messages: Any = request.messages
        if isinstance(messages, list):  # snapshot: the body is serialised in the worker
            messages = [dict(m) if isinstance(m, dict) else m for m in messages]
        body: dict[str, Any] = {
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "cache_prompt": True,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        body.update(request.extra)
        # the transport needs these, whatever extra says
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        body["return_progress"] = True
        return body

    async def reset_cache(self) -> None:
        """Erase the KV cache of every slot (for fair, cold measurements).

        Construct with ``host_cache_mib=0`` as well, or llama.cpp may restore an erased
        prompt from its host-memory cache.
        """
        root = self._base_url.removesuffix("/v1")

        def erase(slot: int) -> None:
            req = _engine_request(f"{root}/slots/{slot}?action=erase", self.api_key, "POST")
            with urllib.request.urlopen(req, timeout=30) as resp:
                resp.read()

        for slot in range(self.n_parallel):
            await asyncio.to_thread(erase, slot)

    # ------------------------------------------------------------------ lifecycle

    def close(self, timeout: float = 30.0) -> None:
        """Cancel running requests, wait for their threads, free the engine (blocking)."""
        if self._closed:
            return
        self._closed = True
        # dropping the transport's reference runs ~Server: it terminates llama.cpp's
        # loop and joins its threads (HTTP included)
        self.transport.close(timeout)
        self._slot_dir.cleanup()

    async def aclose(self) -> None:
        if self._closed:
            return
        await asyncio.to_thread(self.close)

    def __del__(self) -> None:
        # never block in GC: stop running requests; the engine itself is freed when the
        # last reference to it (the transport's, or a worker thread's) goes away
        with contextlib.suppress(Exception):
            self.transport.abandon()
