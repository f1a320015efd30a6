"""Chat-completion chunks from the llama.cpp engine embedded in this process (xllamacpp).

``xllamacpp.Server.handle_chat_completions(body, callback)`` blocks (with the GIL
released) until the request is done, calling ``callback(chunk_dict)`` on the calling
thread for every OpenAI ``chat.completion.chunk``; the callback returning ``True`` stops
the request and llama.cpp cancels the task and frees the slot.

How :class:`EmbeddedTransport` uses it:

- each call runs in a worker thread of a private pool and forwards chunks to the event
  loop with ``loop.call_soon_threadsafe``;
- requests carry ``"return_progress": true`` (the backend's body does): llama.cpp then
  emits a progress chunk after each prompt batch, so a cancelled consumer is noticed
  during a long prefill too; those chunks stop here and are not forwarded;
- errors come back through the same callback as ``{"error": {...}}`` (e.g. a prompt
  longer than the slot context: type ``exceed_context_size_error`` with
  ``n_prompt_tokens`` and ``n_ctx``); malformed requests raise ``ValueError`` from
  ``handle_chat_completions`` itself. Both become :class:`BackendError`;
- a call cancelled while it waits for a worker never reaches the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from ._usage import error_from_json
from .base import BackendError

__all__ = ["EmbeddedTransport"]

_END = object()  # sentinel: the worker thread has returned


def _is_error_chunk(chunk: Any) -> bool:
    if not isinstance(chunk, dict):
        return True
    if "error" in chunk:
        return True
    # a bare error object ({"code", "message", "type"}) without any completion fields
    return "choices" not in chunk and "message" in chunk and ("code" in chunk or "type" in chunk)


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


class EmbeddedTransport:
    """A :class:`~livemind.backends.chat_core.ChatTransport` on an ``xllamacpp.Server``.

    ``workers``: threads of the private pool (calls beyond it wait for one);
    ``overflow_limit``: how the context is split, appended to a context-overflow message
    (e.g. ``"per slot (n_ctx=4096, n_parallel=2)"``). :attr:`server` is the engine (set
    to ``None`` by :meth:`close`). Thread-safe bookkeeping of the calls in flight.
    """

    where = "llama.cpp"

    def __init__(self, server: Any, *, workers: int, overflow_limit: str | None = None) -> None:
        self.server: Any = server
        self.overflow_limit = overflow_limit
        self._executor = ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="livemind-llamacpp"
        )
        self._calls: set[_Call] = set()
        self._lock = threading.RLock()
        self.closed = False

    @property
    def in_flight(self) -> int:
        """Engine requests whose worker thread has not returned yet."""
        with self._lock:
            return len(self._calls)

    def _worker(self, body: dict[str, Any], call: _Call) -> None:
        try:
            if call.cancelled.is_set():  # cancelled while queued: the engine never sees it
                return
            self.server.handle_chat_completions(body, call.on_chunk)
        except ValueError as exc:  # llama.cpp's invalid_argument: malformed request
            call.push(BackendError("bad_request", f"llama.cpp rejected the request: {exc}"))
        except TypeError as exc:  # json.dumps of the body failed
            call.push(BackendError("bad_request", f"request is not JSON-serialisable: {exc}"))
        except Exception as exc:
            call.push(BackendError("server_error", f"llama.cpp error: {exc!r}"))
        finally:
            self._forget(call)  # before _END: in_flight is exact once the stream ended
            call.push(_END)

    def _on_done(self, future: Future[None], call: _Call) -> None:
        if future.cancelled():  # dropped (close(), or its caller left) before a worker ran it
            self._forget(call)
            call.push(BackendError("server_error", "llama.cpp backend was closed"))
            call.push(_END)

    def _forget(self, call: _Call) -> None:
        with self._lock:
            self._calls.discard(call)

    async def open_stream(
        self, body: dict[str, Any], session_key: str | None = None
    ) -> AsyncGenerator[dict[str, Any], None]:
        """The chunks of ``body`` from the engine (``session_key`` is not used here: the
        body's ``id_slot`` places the call). See the module doc for errors and
        cancellation."""
        if self.closed:
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
        try:
            while True:
                item = await call.queue.get()
                if item is _END:
                    if call.cancelled.is_set():  # only close() sets it while we listen
                        raise BackendError("server_error", "llama.cpp backend was closed")
                    return
                if isinstance(item, BaseException):
                    raise item
                if _is_error_chunk(item):
                    raise error_from_json(
                        item, overflow_limit=self.overflow_limit, where=self.where
                    )
                yield item
        finally:
            # stop the engine if we leave early (consumer closed / task cancelled / error);
            # a call still queued for a worker is dropped (its _on_done ends it)
            call.cancelled.set()
            if call.future is not None:
                call.future.cancel()

    def close(self, timeout: float = 30.0) -> None:
        """Cancel running calls, wait for their threads, stop the pool, drop the engine
        reference (blocking). Safe to call twice."""
        self.closed = True
        with self._lock:
            calls = list(self._calls)
        for call in calls:
            call.cancelled.set()
        for call in calls:
            if call.future is not None:
                with contextlib.suppress(Exception):
                    call.future.result(timeout=timeout)
        self._executor.shutdown(wait=True, cancel_futures=True)
        self.server = None

    def abandon(self) -> None:
        """Stop running calls and the pool without waiting (for ``__del__``: never block
        in GC; the engine is freed when its last reference goes away)."""
        for call in list(self._calls):
            call.cancelled.set()
        self._executor.shutdown(wait=False, cancel_futures=True)
