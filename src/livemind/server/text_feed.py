"""A client's text snapshots into its session (:class:`TextFeed`).

Snapshots that arrive together are segmented once, the newest only (a burst of edits costs
one segmentation); texts of :data:`THREAD_MIN_CHARS` or more are segmented in a worker
thread, so one client's edits on a long text do not hold up every other session. While an
answer is being produced the feed is *held*: the newest text waits and is applied when the
answer is over, so nothing typed meanwhile is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from livemind.session import LiveSession

log = logging.getLogger(__name__)

# texts at least this long are segmented in a worker thread (shorter ones take well
# under a millisecond on the loop)
THREAD_MIN_CHARS = 2_000

OnError = Callable[[str, str], None]
"""``on_error(code, message)``: tell the client (the session stays usable)."""


class TextFeed:
    def __init__(self, session: LiveSession, on_error: OnError) -> None:
        self._session = session
        self._on_error = on_error
        self.held = False  # an answer is being produced
        self.closed = False
        self._pending: str | None = None  # text typed while held
        self._latest: str | None = None  # newest snapshot not yet given to the session
        self._applier: asyncio.Task[None] | None = None

    def put(self, text: str) -> None:
        """A new full snapshot (applied soon, or when the answer is over)."""
        if self.held:
            self._pending = text
            return
        self._latest = text
        if self._applier is None or self._applier.done():
            self._applier = asyncio.get_running_loop().create_task(self._apply_latest())

    def newest(self) -> str:
        """The newest text the client sent (applied or not)."""
        for text in (self._pending, self._latest):
            if text is not None:
                return text
        return self._session.text

    def hold(self) -> None:
        self.held = True

    def release(self) -> None:
        """The answer is over: apply what was typed meanwhile (idempotent). What was typed
        during the answer is newer than a snapshot still waiting from before it (left
        there when the answer was cancelled before it began)."""
        if not self.held:
            return
        self.held = False
        text = self._pending if self._pending is not None else self._latest
        self.clear()
        if text is not None and not self.closed:
            self.put(text)

    def clear(self) -> None:
        """Forget snapshots not applied yet (a reset)."""
        self._pending = self._latest = None

    async def settled(self) -> None:
        """Wait for a text being segmented in a thread, then apply the newest one."""
        applier = self._applier
        if applier is not None and applier is not asyncio.current_task():
            await asyncio.gather(applier, return_exceptions=True)
        self._flush()

    def close(self) -> None:
        self.closed = True
        if self._applier is not None:
            self._applier.cancel()

    def _flush(self) -> None:
        """Give the session the newest snapshot now, on the loop."""
        if self._latest is not None and not self.closed:
            text, self._latest = self._latest, None
            self._session.set_text(text)

    async def _apply_latest(self) -> None:
        await asyncio.sleep(0)  # after the messages already received
        session = self._session
        try:
            while (text := self._latest) is not None and not self.held and not self.closed:
                if len(text) < THREAD_MIN_CHARS:
                    self._flush()
                    continue
                prepared = await session.prepare_text(text)
                if self.held or self.closed:
                    return  # the commit takes the newest text itself
                if session.apply_prepared(prepared) and self._latest is text:
                    self._latest = None
        except Exception as exc:  # a bug: say so, keep the session
            log.exception("session %s: applying a text failed", session.session_id)
            self._latest = None
            self._on_error("internal_error", f"{type(exc).__name__}: {exc}")
