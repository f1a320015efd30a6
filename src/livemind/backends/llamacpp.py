"""Embedded llama.cpp backend through the ``xllamacpp`` package.

``xllamacpp.Server`` runs llama.cpp's server (slots, continuous batching, prefix cache)
inside this process. ``Server.handle_chat_completions(body, callback)`` blocks (with the
GIL released) until the request is done, calling ``callback(chunk_dict)`` on the calling
thread for every OpenAI ``chat.completion.chunk``; the callback returning ``True`` stops
the request and llama.cpp cancels the task and frees the slot.

How this backend uses it:

- each call runs in a worker thread of a private pool (``n_parallel + 2`` threads) and
  forwards chunks to the event loop with ``loop.call_soon_threadsafe``;
- every request is sent with ``"return_progress": true``: llama.cpp then emits a progress
  chunk after each prompt batch (``n_batch`` tokens), so a cancelled consumer is noticed
  during a long prefill too, not only once tokens are generated;
- errors come back through the same callback as ``{"error": {...}}`` (e.g. a prompt
  longer than the slot context: type ``exceed_context_size_error`` with
  ``n_prompt_tokens`` and ``n_ctx``); malformed requests raise ``ValueError`` from
  ``handle_chat_completions`` itself. Both become :class:`BackendError`;
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
import threading
import urllib.request
from collections.abc import AsyncIterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ._usage import choice_parts, error_from_json, parse_usage
from .affinity import SlotMap, hold_slot
from .base import Backend, BackendError, Capabilities, Delta, Request, Usage

__all__ = ["LlamaCppBackend"]

_END = object()  # sentinel: the worker thread has returned


def _is_error_chunk(chunk: Any) -> bool:
    if not isinstance(chunk, dict):
        return True
    if "error" in chunk:
        return True
    # a bare error object ({"code", "message", "type"}) without any completion fields
    return "choices" not in chunk and "message" in chunk and ("code" in chunk or "type" in chunk)


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


NGRAM_SPEC_TYPES = ("ngram-simple", "ngram-map-k", "ngram-mod", "ngram-cache")


def _speculative_type(xllamacpp: Any, name: str) -> Any:
    """llama.cpp's enum value for a draft-free speculative type (``--spec-type`` names)."""
    if name not in NGRAM_SPEC_TYPES:
        raise ValueError(
            f"unknown ngram_spec {name!r}; choose one of: {', '.join(NGRAM_SPEC_TYPES)}"
        )
    member = "COMMON_SPECULATIVE_TYPE_" + name.upper().replace("-", "_")
    return getattr(xllamacpp.common_speculative_type, member)


class _Call:
    """One in-flight engine request: the bridge between the worker thread and the loop."""

    __slots__ = ("loop", "queue", "cancelled", "future")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.cancelled = threading.Event()
        self.future: Future[None] | None = None

    def push(self, item: Any) -> bool:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # event loop closed: nobody is listening any more
            self.cancelled.set()
            return False
        return True

    def on_chunk(self, chunk: Any) -> bool:
        """Engine callback (worker thread). Returning True cancels the generation."""
        if self.cancelled.is_set():
            return True
        # progress-only chunks exist to give us this chance to cancel; don't forward them
        if isinstance(chunk, dict) and "prompt_progress" in chunk:
            choices = chunk.get("choices") or []
            if not any((c.get("delta") or {}).get("content") for c in choices):
                return False
        return not self.push(chunk)


class LlamaCppBackend(Backend):
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
        # slot actions (erase, used by reset_cache) need a save path; nothing is saved
        self._slot_dir = tempfile.TemporaryDirectory(prefix="livemind-slots-")
        params.slot_save_path = self._slot_dir.name
        # 0 = silent, 1 = errors, 2 = + warnings, 3 = + info (llama.cpp's default)
        params.verbosity = 3 if verbose else 0
        # the engine's own HTTP port is reachable by every local user: without this key
        # they could bypass the server's token and limits, or erase its slots
        self.api_key = secrets.token_urlsafe(32)
        params.api_keys = [self.api_key]
        try:
            self._server: Any = xllamacpp.Server(params)
        except Exception as exc:  # xllamacpp only says "Failed to init server"
            raise BackendError(
                "server_error", f"llama.cpp could not load the model {path}: {exc}"
            ) from exc

        if name is not None:
            self.name = name
        self.model = path.stem
        self.model_path = path
        self.n_parallel = n_parallel
        root = self._server.listening_address.rstrip("/")
        self._base_url = root + "/v1"
        # llama.cpp pads n_ctx and caps it at the model's training context: ask the engine
        slot_ctx = _slot_context(root, self.api_key) or n_ctx // n_parallel
        self.context_size = slot_ctx
        self.n_ctx = slot_ctx * n_parallel  # effective total, may differ from the request
        self.capabilities = Capabilities(prewarm=True, cached_tokens=True, slots=n_parallel)
        self._executor = ThreadPoolExecutor(
            max_workers=n_parallel + 2, thread_name_prefix="livemind-llamacpp"
        )
        # session_key -> id_slot; nothing to choose with one slot
        self.slot_map: SlotMap | None = SlotMap(n_parallel) if n_parallel > 1 else None
        self._calls: set[_Call] = set()
        self._lock = threading.RLock()
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

    def _worker(self, body: dict[str, Any], call: _Call) -> None:
        try:
            if call.cancelled.is_set():  # cancelled while queued: the engine never sees it
                return
            self._server.handle_chat_completions(body, call.on_chunk)
        except ValueError as exc:  # llama.cpp's invalid_argument: malformed request
            call.push(BackendError("bad_request", f"llama.cpp rejected the request: {exc}"))
        except TypeError as exc:  # json.dumps of the body failed
            call.push(BackendError("bad_request", f"request is not JSON-serialisable: {exc}"))
        except Exception as exc:
            call.push(BackendError("server_error", f"llama.cpp error: {exc!r}"))
        finally:
            self._forget(call)  # before _END: in_flight is exact once the stream ended
            call.push(_END)

    def _map_error(self, chunk: Any) -> BackendError:
        limit = f"per slot (n_ctx={self.n_ctx}, n_parallel={self.n_parallel})"
        return error_from_json(chunk, overflow_limit=limit, where="llama.cpp")

    async def _run(self, body: dict[str, Any]) -> AsyncIterator[Delta]:
        if self._closed:
            raise BackendError("server_error", "llama.cpp backend is closed")
        call = _Call(asyncio.get_running_loop())
        with self._lock:
            self._calls.add(call)
            try:
                call.future = self._executor.submit(self._worker, body, call)
                call.future.add_done_callback(lambda f: self._on_done(f, call))
            except RuntimeError as exc:  # executor shut down concurrently
                self._calls.discard(call)
                raise BackendError("server_error", "llama.cpp backend is closed") from exc

        finish_reason: str | None = None
        usage: Usage | None = None
        try:
            while True:
                item = await call.queue.get()
                if item is _END:
                    if call.cancelled.is_set():  # only close() sets it while we listen
                        raise BackendError("server_error", "llama.cpp backend was closed")
                    break
                if isinstance(item, BaseException):
                    raise item
                if _is_error_chunk(item):
                    raise self._map_error(item)
                try:
                    text, reason = choice_parts(item)
                except ValueError as exc:
                    raise BackendError("server_error", f"malformed engine chunk ({exc})") from None
                finish_reason = reason or finish_reason
                if text:
                    yield Delta(text=text)
                parsed = parse_usage(item)
                if parsed is not None:
                    usage = parsed
            if usage is None:
                usage = Usage()
            usage.finish_reason = finish_reason or usage.finish_reason
            yield Delta(usage=usage)
        finally:
            # stop the engine if we leave early (consumer closed / task cancelled / error);
            # a call still queued for a worker is dropped (its _on_done ends it)
            call.cancelled.set()
            if call.future is not None:
                call.future.cancel()

    def _on_done(self, future: Future[None], call: _Call) -> None:
        if future.cancelled():  # dropped (close(), or its caller left) before a worker ran it
            self._forget(call)
            call.push(BackendError("server_error", "llama.cpp backend was closed"))
            call.push(_END)

    def _forget(self, call: _Call) -> None:
        with self._lock:
            self._calls.discard(call)

    async def stream(self, request: Request) -> AsyncIterator[Delta]:
        body = self._body(request)
        # aclosing: closing this generator must close the inner one *now* (not at GC),
        # so that the engine is told to stop at its next chunk
        with hold_slot(self.slot_map, request.session_key, body):
            async with contextlib.aclosing(self._run(body)) as deltas:
                async for delta in deltas:
                    yield delta

    async def prewarm(self, request: Request) -> Usage | None:
        """Evaluate the chat prompt of ``request`` into the cache; generates one token.

        Uses the chat endpoint itself (``max_tokens: 0``) so the prompt is templated
        exactly as a later :meth:`stream` call on the same messages would be.
        """
        body = self._body(request)
        body["max_tokens"] = 0
        body.pop("stop", None)
        usage: Usage | None = None
        with hold_slot(self.slot_map, request.session_key, body):
            async with contextlib.aclosing(self._run(body)) as deltas:
                async for delta in deltas:
                    if delta.usage is not None:
                        usage = delta.usage
        return usage

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

    @property
    def in_flight(self) -> int:
        """Engine requests whose worker thread has not returned yet."""
        with self._lock:
            return len(self._calls)

    def close(self, timeout: float = 30.0) -> None:
        """Cancel running requests, wait for their threads, free the engine (blocking)."""
        if self._closed:
            return
        self._closed = True
        with self._lock:
            calls = list(self._calls)
        for call in calls:
            call.cancelled.set()
        for call in calls:
            if call.future is not None:
                with contextlib.suppress(Exception):
                    call.future.result(timeout=timeout)
        self._executor.shutdown(wait=True, cancel_futures=True)
        # ~Server terminates llama.cpp's loop and joins its threads (HTTP included)
        server, self._server = self._server, None
        del server
        self._slot_dir.cleanup()

    async def aclose(self) -> None:
        if self._closed:
            return
        await asyncio.to_thread(self.close)

    def __del__(self) -> None:
        # never block in GC: stop running requests; the engine itself is freed when the
        # last reference to it (ours, or a worker thread's) goes away
        with contextlib.suppress(Exception):
            for call in list(self._calls):
                call.cancelled.set()
            self._executor.shutdown(wait=False, cancel_futures=True)
