"""One chat-completions backend over a transport: the OpenAI chunk protocol, written once.

Both engines speak OpenAI's streamed chat completions: a sequence of
``chat.completion.chunk`` objects whose ``choices[].delta.content`` carry the text, one
of which names the ``finish_reason``, and the last of which (``stream_options.
include_usage``) carries ``usage`` (llama.cpp adds its ``timings``). Only how the chunks
arrive differs; that is a :class:`ChatTransport`:

- :class:`~livemind.backends.transport_embedded.EmbeddedTransport`: the in-process
  llama.cpp engine's callback thread (xllamacpp);
- :class:`~livemind.backends.transport_http.HttpSseTransport`: server-sent events over
  HTTP (httpx).

This module holds what both share: :class:`ChunkFolder` and :func:`chunk_deltas` (chunks
-> :class:`Delta` items, pure), and :class:`ChatBackend` (``stream`` with slot affinity
and one retry of a rate-limited call, ``prewarm``) on which both backends are built.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any, Protocol

from ._usage import choice_parts, parse_usage
from .affinity import SlotMap, hold_slot
from .base import Backend, BackendError, Delta, Request, Usage

__all__ = [
    "MAX_RETRY_WAIT_S",
    "ChatBackend",
    "ChatTransport",
    "ChunkFolder",
    "ReplyCut",
    "chunk_deltas",
    "reply_as_chunk",
    "retry_wait",
]

Chunk = dict[str, Any]
MAX_RETRY_WAIT_S = 10.0


class ReplyCut(BackendError):
    """A transport's chunk stream ended without its end marker (HTTP: ``data: [DONE]``).

    Raised by the chunk iterator when it stops. :func:`chunk_deltas` ignores it when the
    reply had already ended (a finish reason or usage came) and raises it otherwise.
    """


class ChatTransport(Protocol):
    """How the chunks of one streamed chat completion reach us.

    Contract of :meth:`open_stream`: send ``body`` (a chat-completions request with
    ``"stream": true``; ``session_key`` may travel as an affinity header) and yield the
    reply's chunks as dicts, in order. Error replies and error chunks raise
    :class:`BackendError` (with the engine's own code mapping); a stream that stops
    short raises :class:`ReplyCut`. Closing the iterator early (``aclose()``, task
    cancellation) stops the generation on the engine.
    """

    @property
    def where(self) -> str:
        """Names the engine or server in error messages (``llama.cpp``, the API URL)."""
        ...

    def open_stream(
        self, body: dict[str, Any], session_key: str | None
    ) -> AsyncGenerator[Chunk, None]: ...


class ChunkFolder:
    """Folds the chunks of one reply: text out, the last finish reason and usage kept.

    Pure: no I/O. ``where`` names the sender in the error a malformed chunk raises
    (``BackendError("server_error", "<where> sent a malformed reply (...)")``).
    """

    def __init__(self, where: str) -> None:
        self.where = where
        self.finish_reason: str | None = None
        self.usage: Usage | None = None

    def feed(self, chunk: Mapping[str, Any]) -> str:
        """The text this chunk adds (may be empty); records its finish reason and usage."""
        try:
            text, reason = choice_parts(chunk)
        except ValueError as exc:
            raise BackendError(
                "server_error", f"{self.where} sent a malformed reply ({exc})"
            ) from None
        self.finish_reason = reason or self.finish_reason
        parsed = parse_usage(chunk)
        if parsed is not None:
            self.usage = parsed
        return text

    @property
    def ended(self) -> bool:
        """Whether the reply said it ended: a finish reason or usage came."""
        return self.finish_reason is not None or self.usage is not None

    def final_usage(self) -> Usage:
        """The reply's usage (zeros when none came) with its finish reason."""
        usage = self.usage if self.usage is not None else Usage()
        usage.finish_reason = self.finish_reason or usage.finish_reason
        return usage


async def chunk_deltas(
    chunks: AsyncGenerator[Chunk, None], where: str
) -> AsyncGenerator[Delta, None]:
    """The :class:`Delta` items of a chunk stream: one per non-empty text, then exactly
    one final item carrying the usage (see :class:`ChunkFolder`). ``chunks`` is closed
    when this generator is, so an early exit stops the engine at once."""
    folder = ChunkFolder(where)
    try:
        async with contextlib.aclosing(chunks):
            async for chunk in chunks:
                text = folder.feed(chunk)
                if text:
                    yield Delta(text=text)
    except ReplyCut:
        if not folder.ended:
            raise
    yield Delta(usage=folder.final_usage())


def reply_as_chunk(reply: Mapping[str, Any]) -> Chunk:
    """A whole (non-streamed) ``chat.completion`` as one chunk: each choice's ``message``
    becomes its ``delta``. Shapes it does not know are left for :class:`ChunkFolder` to
    report."""
    choices = reply.get("choices")
    if not isinstance(choices, list):
        return dict(reply)

    def as_delta(choice: Any) -> Any:
        if not isinstance(choice, dict) or "message" not in choice:
            return choice
        rest = {k: v for k, v in choice.items() if k != "message"}
        return {**rest, "delta": choice["message"]}

    return {**reply, "choices": [as_delta(c) for c in choices]}


def retry_wait(err: BackendError) -> float | None:
    """Seconds to wait before the one retry of a rate-limited call, or None: no retry.

    The server's ``Retry-After`` when it is at most :data:`MAX_RETRY_WAIT_S`, 1 s when it
    named none; other errors are not retried.
    """
    if err.code != "rate_limited":
        return None
    wait = 1.0 if err.retry_after_s is None else err.retry_after_s
    return wait if wait <= MAX_RETRY_WAIT_S else None


class ChatBackend(Backend):
    """A :class:`Backend` speaking chat completions over :attr:`transport`.

    Subclasses build the request body (:meth:`_body`) and may hook in:
    :meth:`_before_call` (e.g. look up the model), :meth:`_prewarm_max_tokens` (``None``:
    no prewarm), :meth:`_slots_in_use` (the :class:`SlotMap` for ``id_slot`` affinity;
    default :attr:`slot_map`) and :meth:`_saw_usage` (each call's final usage).

    - :meth:`stream` pins the call to its session's slot (:func:`hold_slot`) for the
      whole call; a call that fails ``rate_limited`` before streaming anything is tried
      once more after :func:`retry_wait`;
    - :meth:`prewarm` sends the same body without ``stop`` and with the prewarm
      ``max_tokens``, pinned the same way, and returns the engine's usage.
    """

    slot_map: SlotMap | None = None

    def __init__(self, transport: ChatTransport) -> None:
        self.transport = transport

    # ------------------------------------------------------------------ hooks

    @abstractmethod
    def _body(self, request: Request) -> dict[str, Any]:
        """The chat-completions body for ``request`` (``"stream": true`` included)."""

    async def _before_call(self) -> None:  # noqa: B027 - optional hook
        """Runs before each call builds its body. Default: nothing."""

    async def _prewarm_max_tokens(self) -> int | None:
        """``max_tokens`` of a prewarm call, or ``None`` when this engine cannot prewarm."""
        return 0

    def _slots_in_use(self) -> SlotMap | None:
        return self.slot_map

    def _saw_usage(self, usage: Usage) -> None:  # noqa: B027 - optional hook
        """Sees each call's final usage. Default: nothing."""

    # ------------------------------------------------------------------ calls

    async def _deltas(
        self, body: dict[str, Any], session_key: str | None
    ) -> AsyncGenerator[Delta, None]:
        chunks = self.transport.open_stream(body, session_key)
        async with contextlib.aclosing(chunk_deltas(chunks, self.transport.where)) as deltas:
            async for delta in deltas:
                if delta.usage is not None:
                    self._saw_usage(delta.usage)
                yield delta

    async def stream(self, request: Request) -> AsyncIterator[Delta]:
        await self._before_call()
        body = self._body(request)
        with hold_slot(self._slots_in_use(), request.session_key, body):
            for attempt in range(2):
                streamed = False
                try:
                    # aclosing: closing this generator closes the inner ones *now* (not
                    # at GC), so the engine is told to stop at its next chunk
                    gen = self._deltas(body, request.session_key)
                    async with contextlib.aclosing(gen) as deltas:
                        async for delta in deltas:
                            streamed = True
                            yield delta
                    return
                except BackendError as err:
                    wait = None if streamed or attempt else retry_wait(err)
                    if wait is None:
                        raise
                    await asyncio.sleep(wait)

    async def prewarm(self, request: Request) -> Usage | None:
        """Evaluate the chat prompt of ``request`` into the engine's cache, generating
        (almost) nothing; the same templating as a later :meth:`stream` of the same
        messages. ``None`` when the engine cannot prewarm."""
        max_tokens = await self._prewarm_max_tokens()
        if max_tokens is None:
            return None
        await self._before_call()
        body = self._body(request)
        body.pop("stop", None)
        body["max_tokens"] = max_tokens
        usage: Usage | None = None
        with hold_slot(self._slots_in_use(), request.session_key, body):
            gen = self._deltas(body, request.session_key)
            async with contextlib.aclosing(gen) as deltas:
                async for delta in deltas:
                    if delta.usage is not None:
                        usage = delta.usage
        return usage
