"""Server-sent events of a streaming model reply: httpx-sse, plus one llama.cpp quirk.

httpx-sse parses the stream by the SSE rules (lines end only at CR/LF, so U+2028 or
U+0085 inside a token stay in their ``data:`` line; multi-line data; comments; named
events). llama-server builds before September 2025 (llama.cpp PR 16109) reported an
error in a started stream (a prompt over the context size among them) as an
``error: {json}`` line: a field the SSE format says to ignore, and httpx-sse does.
:meth:`EventStream.legacy_error` finds that line in the end of the body afterwards.
"""

from __future__ import annotations

import re
from collections.abc import AsyncGenerator

import httpx
from httpx_sse import EventSource, ServerSentEvent

TAIL_BYTES = 8192
_LEGACY_ERROR = re.compile(rb"^error: ?(.*?)\r?$", re.M)


class EventStream:
    """The events of ``resp`` (a streaming ``text/event-stream`` response), read once."""

    def __init__(self, resp: httpx.Response) -> None:
        self.resp = resp
        self._tail = bytearray()  # the body's last TAIL_BYTES bytes so far

    async def _body(self) -> AsyncGenerator[bytes, None]:
        async for chunk in self.resp.aiter_bytes():
            self._tail.extend(chunk)
            del self._tail[:-TAIL_BYTES]
            yield chunk

    async def events(self) -> AsyncGenerator[ServerSentEvent, None]:
        """Each event as it arrives; transport errors of ``resp`` pass through."""
        ctype = self.resp.headers.get("content-type", "text/event-stream")
        body = self._body()  # decoded bytes (gzip and such already undone)
        tapped = httpx.Response(200, headers={"content-type": ctype}, content=body)
        events = EventSource(tapped).aiter_sse()
        try:
            async for sse in events:
                yield sse
        finally:  # stopped early ([DONE], an error): close the whole chain now
            await events.aclose()
            await tapped.aclose()
            await body.aclose()

    def legacy_error(self) -> str | None:
        """The payload of llama-server's old ``error:`` line, if the body ended with one."""
        found = _LEGACY_ERROR.search(bytes(self._tail))
        return found.group(1).decode("utf-8", "replace") if found else None
