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
from collections.abc import Callable
from typing import Any

from livemind.backends.base import Backend
from livemind.config import SessionConfig
from livemind.events import EventName
from livemind.server.admission import SessionCap
from livemind.server.connection import CLOSE, LiveConnection
from livemind.server.guard import is_loopback
from livemind.server.limits import HubError, Limits, expiry
from livemind.server.metrics import Metrics
from livemind.server.scheduled import overloaded
from livemind.settings_schema import page_schema

__all__ = ["CLOSE", "HubError", "Limits", "LiveConnection", "SessionHub"]


class SessionHub:
    """All live sessions of one server, sharing ``backend`` (and ``output_backend``);
    ``admission``: the learned cap on live sessions (None: only ``max_sessions``)."""

    def __init__(
        self,
        backend: Backend,
        *,
        output_backend: Backend | None = None,
        defaults: SessionConfig | None = None,
        limits: Limits | None = None,
        metrics: Metrics | None = None,
        admission: SessionCap | None = None,
    ) -> None:
        self.backend = backend
        self.output_backend = output_backend
        self.defaults = (defaults or SessionConfig()).validated()
        self.limits = limits or Limits()
        self.metrics = metrics or Metrics()
        self.connections: dict[str, LiveConnection] = {}
        self.completions: dict[str, int] = {}  # client -> its running chat completions
        self._closing: set[asyncio.Task[None]] = set()
        self.admission = admission
        if admission is not None:
            self.metrics.session_cap.set_function(lambda: admission.cap)
        else:
            self.metrics.session_cap.set(self.limits.max_sessions)

    def live(self) -> int:
        """Live sessions and running chat completions."""
        return len(self.connections) + sum(self.completions.values())

    def answered(self, done: dict[str, Any]) -> None:
        """A session's answer ended (``response.done``'s data): metrics and admission."""
        timings = done.get("timings") or {}
        latency, ttft = timings.get("latency_s", 0.0), timings.get("ttft_s")
        self.metrics.answered(latency, ttft)
        tokens = (done.get("usage") or {}).get("completion_tokens") or 0
        if self.admission is not None and not done.get("speculative"):
            self.admission.answered(latency, ttft, tokens, self.live())

    def _check_room(self, client: str) -> None:
        """HubError when an engine is overloaded (its queued answers would take longer
        than the budget to clear, or the sessions live reach the learned cap), when live
        sessions and running completions fill ``max_sessions``, or this client's share
        of them."""
        limits = self.limits
        cap = self.admission
        # a cap still at max_sessions has learned nothing: that limit speaks for itself
        capped = cap is not None and cap.cap < limits.max_sessions and not cap.admits(self.live())
        if capped or overloaded(self.backend, self.output_backend):
            self.metrics.error("overloaded")
            raise HubError(
                "overloaded",
                "the engine is behind on answers already; try again in a few seconds",
            )
        if self.live() >= limits.max_sessions:
            self.metrics.error("too_many_sessions")
            raise HubError(
                "too_many_sessions",
                f"the server holds its maximum of {limits.max_sessions} sessions and "
                "requests; try again later",
            )
        if is_loopback(client):  # local clients (a reverse proxy too) are trusted
            return
        mine = self.completions.get(client, 0)
        mine += sum(c.client == client for c in self.connections.values())
        if mine >= limits.per_client:
            self.metrics.error("client_quota")
            raise HubError(
                "client_quota",
                f"this client already holds {mine} sessions and requests, its maximum; "
                "close one first",
            )

    def reserve_completion(self, client: str = "") -> Callable[[], None]:
        """Count one ``/v1/chat/completions`` request against ``max_sessions`` and the
        client's quota (HubError when full); returns its release, safe to call twice."""
        self._check_room(client)
        self.completions[client] = self.completions.get(client, 0) + 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                left = self.completions[client] - 1
                if left:
                    self.completions[client] = left
                else:
                    del self.completions[client]

        return release

    def open(self, client: str = "", attached: bool = True) -> LiveConnection:
        """A new session for ``client`` (its address); ``attached=False`` for one whose
        event stream opens later (SSE). HubError when a limit is reached."""
        self._check_room(client)
        conn = LiveConnection(self, uuid.uuid4().hex[:16], client, attached)
        self.connections[conn.session_id] = conn
        self.metrics.sessions_active.set(len(self.connections))
        self.metrics.sessions.inc()
        schema = page_schema(self.defaults)  # the page builds its settings from it
        conn.send(
            EventName.SESSION_CREATED, session=conn.settings(), schema=schema, **self.models()
        )
        return conn

    def models(self) -> dict[str, str | None]:
        out = self.output_backend
        return {"model": self.backend.model, "output_model": out.model if out else None}

    async def close(self, conn: LiveConnection) -> None:
        await conn.close()
        self.connections.pop(conn.session_id, None)
        self.metrics.sessions_active.set(len(self.connections))

    def close_soon(self, conn: LiveConnection, code: str, message: str) -> None:
        """Tell the client why (best effort), then close its session in the background."""
        if conn.closed or conn.closing:
            return
        conn.final_error(code, message)
        conn.closing = True
        self.metrics.error(code)
        self.close_later(conn)

    def close_later(self, conn: LiveConnection) -> None:
        """Close ``conn`` in a background task (its client has gone or must go)."""
        task = asyncio.get_running_loop().create_task(self.close(conn))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def reap_idle(self) -> None:
        """Close sessions that are idle, too old, or never attached (see :class:`Limits`);
        runs until cancelled."""
        limits = self.limits
        shortest = min(limits.idle_timeout_s, limits.max_age_s, limits.unattached_timeout_s)
        period = max(0.05, min(30.0, shortest / 4))
        while True:
            await asyncio.sleep(period)
            for conn in list(self.connections.values()):
                expired = expiry(conn, limits, time.monotonic())
                if expired is not None:
                    self.close_soon(conn, *expired)

    async def aclose(self) -> None:
        for conn in list(self.connections.values()):
            await self.close(conn)
        await asyncio.gather(*self._closing, return_exceptions=True)
