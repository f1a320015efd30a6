"""One client's live session on the server (:class:`LiveConnection`): client events in,
wire events out on an outbound queue that the transport (WebSocket or SSE) drains. It
never blocks on a slow client: a queue that overflows closes that connection only."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from livemind.backends.base import BackendError
from livemind.events import Event, EventName
from livemind.server.protocol import ClientEvent, envelope
from livemind.server.text_feed import TextFeed
from livemind.session import LiveSession, SessionError

if TYPE_CHECKING:
    from livemind.server.hub import SessionHub

log = logging.getLogger(__name__)

CLOSE = None  # sentinel on the outbound queue: the connection is closing
# the side-by-side baseline's events the client gets (marked ``compare: true``)
_COMPARED = frozenset(
    {
        EventName.RESPONSE_CREATED,
        EventName.RESPONSE_OUTPUT_TEXT_DELTA,
        EventName.RESPONSE_DONE,
        EventName.RESPONSE_CANCELLED,
        EventName.ERROR,
    }
)


class LiveConnection:
    """One client's session on the server. ``outbox`` yields wire events, then CLOSE."""

    def __init__(
        self, hub: SessionHub, session_id: str, client: str = "", attached: bool = True
    ) -> None:
        self.hub = hub
        self.session_id = session_id
        self.client = client  # the peer's address, for the per-client quota
        self.session = LiveSession(hub.backend, hub.defaults, session_id=session_id)
        self.session.on(self._forward)
        self.outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.collaborative = False
        self.closed = False
        self.closing = False  # the hub decided to close it; nothing more is sent or done
        self.reader_attached = attached  # SSE: one event stream per session, opened later
        self.created = self.last_active = time.monotonic()
        self._event_id = 0
        self._rev = -1
        self.feed = TextFeed(self.session, self._internal_error)
        self._commit: asyncio.Task[None] | None = None  # the answer (+ baseline) task
        self._cancel_asked = False  # the client cancelled the running commit task
        self._baseline: LiveSession | None = None

    # ----- outbound ---------------------------------------------------------------------
    def send(self, type_: str, **data: Any) -> None:
        if self.closed or self.closing:
            return
        if type_ == EventName.ERROR:
            self.hub.metrics.error(str(data.get("code", "error")))
        if self.outbox.qsize() >= self.hub.limits.queue_limit:
            self.hub.close_soon(self, "slow_consumer", "the client does not read its events")
            return
        self._event_id += 1
        self.outbox.put_nowait(envelope(self.session_id, self._event_id, type_, data))

    def final_error(self, code: str, message: str) -> None:
        """The last event before the hub closes this connection (past any queue limit)."""
        if not self.closed:
            self._event_id += 1
            data = {"code": code, "message": message}
            event = envelope(self.session_id, self._event_id, EventName.ERROR, data)
            self.outbox.put_nowait(event)

    def _forward(self, event: Event) -> None:
        self.send(event.type, **event.data)
        if event.type == EventName.RESPONSE_DONE:
            self.hub.answered(event.data)

    def _forward_compare(self, event: Event) -> None:
        if event.type in _COMPARED:
            self.send(event.type, **event.data, compare=True)

    @property
    def busy(self) -> bool:
        """An answer (or the side-by-side baseline) is being produced."""
        return self._commit is not None

    def settings(self) -> dict[str, Any]:
        cfg = asdict(self.session.config)
        return {**cfg, "collaborative": self.collaborative}

    # ----- inbound ----------------------------------------------------------------------
    async def handle(self, event: ClientEvent) -> None:
        """Apply one validated client event. Never raises for a client mistake; a session
        that is closing ignores it (no orphan calls)."""
        if self.closed or self.closing:
            return
        self.last_active = time.monotonic()
        kind = event.type
        if kind == "input_text.set":
            if event.rev is not None:
                if event.rev <= self._rev:
                    return  # an older snapshot overtaken by a newer one
                self._rev = event.rev
            self._set_text(event.text)
        elif kind == "input_text.append":
            self._set_text(self.feed.newest() + event.text)
        elif kind == "input_text.commit":
            self._start_commit(event.compare)
        elif kind == "response.cancel":
            self._cancel()
        elif kind == "session.reset":
            self._cancel()
            self._reset()
        elif kind == "session.update":
            self._update(event.settings or {})

    def _set_text(self, text: str) -> None:
        limit = self.hub.limits.max_text_chars
        if len(text) > limit:
            self.send(
                EventName.ERROR, code="text_too_long", message=f"text over {limit} characters"
            )
            return
        self.feed.put(text)

    def _internal_error(self, code: str, message: str) -> None:
        self.send(EventName.ERROR, code=code, message=message)

    def _update(self, settings: dict[str, Any]) -> None:
        settings = dict(settings)
        collaborative = settings.pop("collaborative", None)
        if collaborative and self.hub.output_backend is None:
            self.send(
                EventName.ERROR,
                code="invalid_setting",
                message="collaborative mode needs a server started with --output-model",
            )
            return
        try:
            self.session.update_config(**settings)
        except ValueError as exc:
            self.send(EventName.ERROR, code="invalid_setting", message=str(exc))
            return
        if collaborative is not None:
            self.collaborative = collaborative
            out = self.hub.output_backend if collaborative else None
            self.session.output_backend = out or self.hub.backend
        self.send(EventName.SESSION_UPDATED, session=self.settings())

    def _cancel(self) -> None:
        """Stop the typing-phase call and the answer (and the side-by-side baseline)
        wherever it is: also right after Enter, before the session has started it."""
        self.session.cancel()
        if self._commit is not None and not self._commit.done():
            self._cancel_asked = True
            self._commit.cancel()

    def _reset(self) -> None:
        self.session.reset()
        if self._baseline is not None:
            self._baseline.reset()
        self.feed.clear()
        self.send(EventName.SESSION_UPDATED, session=self.settings())

    # ----- the answer -------------------------------------------------------------------
    def _start_commit(self, compare: bool) -> None:
        if self.feed.held:
            self.send(EventName.ERROR, code="busy", message="an answer is already being produced")
            return
        previous = self._commit
        if previous is not None:
            previous.cancel()  # only the side-by-side baseline was still running
        self.feed.hold()
        self._cancel_asked = False
        task = asyncio.get_running_loop().create_task(self._run_commit(compare, previous))
        task.add_done_callback(self._commit_never_ran)
        self._commit = task

    def _commit_never_ran(self, task: asyncio.Task[None]) -> None:
        """Done callback. A commit task cancelled before its first step (a cancel in the
        same read as the Enter) never runs its own handlers: free the connection and tell
        the client here. Tasks that ran have already cleaned up (``_commit`` moved on)."""
        if self._commit is not task:
            return
        self._commit = None
        if self._cancel_asked and not self.closed:
            self._cancel_asked = False
            self.send(EventName.RESPONSE_CANCELLED)
        self._answer_over()

    async def _run_commit(self, compare: bool, previous: asyncio.Task[None] | None) -> None:
        """The answer, then the side-by-side baseline if asked. Every way it can end sends
        an event (``response.done``, ``response.cancelled`` or ``error``) and frees the
        connection for the next commit."""
        answered = False
        try:
            if previous is not None:
                await asyncio.gather(previous, return_exceptions=True)
            await self.feed.settled()  # the answer is to the newest text
            prompt = self.session.text
            answered = await self._answer()
            if answered and compare:
                await self._run_baseline(prompt)
        except asyncio.CancelledError:
            if not self._cancel_asked or self.closed:
                raise  # the hub is closing the session
            self._cancel_asked = False
            self.send(EventName.RESPONSE_CANCELLED, **({"compare": True} if answered else {}))
        except Exception as exc:  # a bug, not the client's doing: say so, stay usable
            log.exception("session %s: the answer failed", self.session_id)
            self.send(
                EventName.ERROR, code="internal_error", message=f"{type(exc).__name__}: {exc}"
            )
        finally:
            if self._commit is asyncio.current_task():  # not an older, replaced task
                self._answer_over()  # also when cancelled before the answer started
                self._commit = None

    def _answer_over(self) -> None:
        """The session may take text again: apply what was typed meanwhile (idempotent)."""
        self.feed.release()

    async def _answer(self) -> bool:
        """Run the session's commit; True when it answered."""
        try:
            await self.session.commit()
            return True
        except SessionError as exc:
            if exc.code == "cancelled":
                self.send(EventName.RESPONSE_CANCELLED)
            elif exc.code not in ("empty_input", "context_overflow"):  # the session said so
                self.send(EventName.ERROR, code=exc.code, message=str(exc))
        except BackendError:
            pass  # the session sent the error event
        finally:
            self._answer_over()
        return False

    async def _run_baseline(self, prompt: str) -> None:
        """The same prompt through the conventional baseline, for a side-by-side figure."""
        if self._baseline is None:
            cfg = self.session.config.conventional_baseline()
            self._baseline = LiveSession(
                self.hub.backend, cfg, session_id=f"{self.session_id}-baseline"
            )
            self._baseline.on(self._forward_compare)
        try:
            self._baseline.set_text(prompt)
            await self._baseline.commit()
        except (SessionError, BackendError):
            pass  # reported through the forwarded events

    async def close(self) -> None:
        """Cancel everything in flight and free the session (idempotent)."""
        if self.closed:
            return
        self.closed = True
        self.feed.close()
        if self._commit is not None:
            self._commit.cancel()
            await asyncio.gather(self._commit, return_exceptions=True)
        await self.session.aclose()
        if self._baseline is not None:
            await self._baseline.aclose()
        self.outbox.put_nowait(CLOSE)
