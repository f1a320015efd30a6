"""HTTP plumbing the routes share: reading a body without trusting its size, and a
streaming response that always releases what it holds."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse


class BodyTooLarge(ValueError):
    """The body passed ``limit`` bytes; reading stopped there."""


async def read_body(request: Request, limit: int) -> bytes:
    """The body, read chunk by chunk; BodyTooLarge as soon as it passes ``limit`` bytes
    (a declared Content-Length over the limit is refused before reading anything)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"body of {declared} bytes; the limit is {limit}")
    parts: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body over the limit of {limit} bytes")
        parts.append(chunk)
    return b"".join(parts)


class HeldStreamingResponse(StreamingResponse):
    """A StreamingResponse that calls ``release`` once it ends, however it ends: finished,
    failed, or cancelled by a client that left, even before the first chunk (when the
    body's own ``finally`` would never run)."""

    def __init__(
        self, content: AsyncIterator[bytes], release: Callable[[], None], **kwargs: Any
    ) -> None:
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
