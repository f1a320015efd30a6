"""Live sessions on the server: one :class:`LiveConnection` per client, held by a
:class:`SessionHub` that enforces the limits and closes idle sessions.

Every connection owns its own :class:`~livemind.session.LiveSession` (memory, history,
cache affinity through its session id); all of them share the hub's backends, whose
engine serves them through its parallel slots. A connection turns the session's events
into wire events on an outbound queue that the transport (WebSocket or SSE) drains; it
never blocks on a slow client: a queue that overflows closes that connection only.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import asdict, dataclass, fields
from typing import Any

from livemind.backends.base import Backend, BackendError
from livemind.config import SessionConfig
from livemind.events import Event
from livemind.server.metrics import Metrics
from livemind.server.protocol import ClientEvent, envelope
from livemind.session import LiveSession, SessionError

CLOSE = None  # sentinel on the outbound queue: the connection is closing


class HubError(RuntimeError):
    """The hub refuses a new session (``code``: too_many_sessions)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-server limits; each one, when hit, answers with a clear ``error`` event."""

    max_sessions: int = 32
    max_text_chars: int = 20_000
    max_message_bytes: int = 256 * 1024
    idle_timeout_s: float = 900.0
    max_queued_events: int = 20_000


class LiveConnection:
    """One client's session on the server. ``outbox`` yields wire events, then CLOSE."""

    def __init__(self, hub: SessionHub, session_id: str) -> None:
        self.hub = hub
        self.session_id = session_id
        self.session = LiveSession(hub.backend, hub.defaults, session_id=session_id)
        self.session.on(self._forward)
        self.outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.collaborative = False
        self.closed = False
        self.reader_attached = False  # SSE: one event stream per session
        self.last_active = time.monotonic()
        self._event_id = 0
        self._rev = -1
        self._pending: str | None = None  # text typed while an answer was being produced
        self._commit: asyncio.Task[None] | None = None  # the answer (+ baseline) task
        self._answering = False  # the session itself is producing an answer
        self._baseline: LiveSession | None = None

    # ----- outbound ---------------------------------------------------------------------
    def send(self, type_: str, **data: Any) -> None:
        if self.closed:
            return
        if type_ == "error":
            self.hub.metrics.error(str(data.get("code", "error")))
        if self.outbox.qsize() >= self.hub.limits.max_queued_events:
            self.hub.close_soon(self, "slow_consumer", "the client does not read its events")
            return
        self._event_id += 1
        self.outbox.put_nowait(envelope(self.session_id, self._event_id, type_, data))

    def final_error(self, code: str, message: str) -> None:
        """The last event before the hub closes this connection (past any queue limit)."""
        if not self.closed:
            self._event_id += 1
            data = {"code": code, "message": message}
            self.outbox.put_nowait(envelope(self.session_id, self._event_id, "error", data))

    def _forward(self, event: Event) -> None:
        self.send(event.type, **event.data)
        if event.type == "response.done":
            timings = event.data.get("timings", {})
            self.hub.metrics.answered(timings.get("latency_s", 0.0), timings.get("ttft_s"))

    def _forward_compare(self, event: Event) -> None:
        if event.type.startswith("response.") or event.type == "error":
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
        """Apply one validated client event. Never raises for a client mistake."""
        self.last_active = time.monotonic()
        kind = event.type
        if kind == "input_text.set":
            if event.rev is not None:
                if event.rev <= self._rev:
                    return  # an older snapshot overtaken by a newer one
                self._rev = event.rev
            self._set_text(event.text)
        elif kind == "input_text.append":
            base = self._pending if self._pending is not None else self.session.text
            self._set_text(base + event.text)
        elif kind == "input_text.commit":
            self._start_commit(event.compare)
        elif kind == "response.cancel":
            self.session.cancel()
            if self._baseline is not None:
                self._baseline.cancel()
        elif kind == "session.reset":
            self._reset()
        elif kind == "session.update":
            self._update(event.settings or {})

    def _set_text(self, text: str) -> None:
        limit = self.hub.limits.max_text_chars
        if len(text) > limit:
            self.send("error", code="text_too_long", message=f"text over {limit} characters")
            return
        if self._answering:
            self._pending = text  # applied when the answer is done: nothing is lost
            return
        self.session.set_text(text)

    def _update(self, settings: dict[str, Any]) -> None:
        settings = dict(settings)
        collaborative = settings.pop("collaborative", None)
        if collaborative and self.hub.output_backend is None:
            self.send(
                "error",
                code="invalid_setting",
                message="collaborative mode needs a server started with --output-model",
            )
            return
        try:
            self.session.update_config(**settings)
        except ValueError as exc:
            self.send("error", code="invalid_setting", message=str(exc))
            return
        if collaborative is not None:
            self.collaborative = collaborative
            out = self.hub.output_backend if collaborative else None
            self.session.output_backend = out or self.hub.backend
        self.send("session.updated", session=self.settings())

    def _reset(self) -> None:
        self.session.reset()
        if self._baseline is not None:
            self._baseline.reset()
        self._pending = None
        self.send("session.updated", session=self.settings())

    # ----- the answer -------------------------------------------------------------------
    def _start_commit(self, compare: bool) -> None:
        if self._answering:
            self.send("error", code="busy", message="an answer is already being produced")
            return
        previous = self._commit
        if previous is not None:
            previous.cancel()  # only the side-by-side baseline was still running
        self._answering = True
        self._commit = asyncio.get_running_loop().create_task(self._run_commit(compare, previous))

    async def _run_commit(self, compare: bool, previous: asyncio.Task[None] | None) -> None:
        if previous is not None:
            await asyncio.gather(previous, return_exceptions=True)
        prompt = self.session.text
        answer = None
        try:
            answer = await self.session.commit()
        except SessionError as exc:
            if exc.code == "cancelled":
                self.send("response.cancelled")
            elif exc.code != "empty_input":  # the session already said so
                self.send("error", code=exc.code, message=str(exc))
        except BackendError:
            pass  # the session sent the error event
        finally:
            self._answering = False
            if self._pending is not None and not self.closed:
                text, self._pending = self._pending, None
                self.session.set_text(text)
        try:
            if answer is not None and compare:
                await self._run_baseline(prompt)
        finally:
            if self._commit is asyncio.current_task():
                self._commit = None

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
        if self._commit is not None:
            self._commit.cancel()
            await asyncio.gather(self._commit, return_exceptions=True)
        await self.session.aclose()
        if self._baseline is not None:
            await self._baseline.aclose()
        self.outbox.put_nowait(CLOSE)


_CONFIG_FIELDS = {f.name for f in fields(SessionConfig)}


class SessionHub:
    """All live sessions of one server, sharing ``backend`` (and ``output_backend``)."""

    def __init__(
        self,
        backend: Backend,
        *,
        output_backend: Backend | None = None,
        defaults: SessionConfig | None = None,
        limits: Limits | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.backend = backend
        self.output_backend = output_backend
        self.defaults = (defaults or SessionConfig()).validated()
        self.limits = limits or Limits()
        self.metrics = metrics or Metrics()
        self.connections: dict[str, LiveConnection] = {}
        self._closing: set[asyncio.Task[None]] = set()

    def open(self) -> LiveConnection:
        """A new session, or HubError when the server is at its session limit."""
        if len(self.connections) >= self.limits.max_sessions:
            self.metrics.error("too_many_sessions")
            raise HubError(
                "too_many_sessions",
                f"the server holds its maximum of {self.limits.max_sessions} sessions; "
                "try again later",
            )
        conn = LiveConnection(self, uuid.uuid4().hex[:16])
        self.connections[conn.session_id] = conn
        self.metrics.sessions_active = len(self.connections)
        self.metrics.sessions_total += 1
        conn.send("session.created", session=conn.settings(), **self.models())
        return conn

    def models(self) -> dict[str, str | None]:
        out = self.output_backend
        return {"model": self.backend.model, "output_model": out.model if out else None}

    async def close(self, conn: LiveConnection) -> None:
        await conn.close()
        self.connections.pop(conn.session_id, None)
        self.metrics.sessions_active = len(self.connections)

    def close_soon(self, conn: LiveConnection, code: str, message: str) -> None:
        """Tell the client why (best effort), then close its session in the background."""
        if conn.closed:
            return
        conn.final_error(code, message)
        self.metrics.error(code)
        self.close_later(conn)

    def close_later(self, conn: LiveConnection) -> None:
        """Close ``conn`` in a background task (its client has gone or must go)."""
        task = asyncio.get_running_loop().create_task(self.close(conn))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def reap_idle(self) -> None:
        """Close sessions idle for longer than the limit; runs until cancelled."""
        period = max(0.05, min(30.0, self.limits.idle_timeout_s / 4))
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for conn in list(self.connections.values()):
                if now - conn.last_active > self.limits.idle_timeout_s and not conn.busy:
                    limit = self.limits.idle_timeout_s
                    self.close_soon(conn, "idle_timeout", f"no activity for {limit:g} s")

    async def aclose(self) -> None:
        for conn in list(self.connections.values()):
            await self.close(conn)
        await asyncio.gather(*self._closing, return_exceptions=True)
