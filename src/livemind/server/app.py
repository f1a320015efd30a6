"""The ASGI app of ``livemind serve`` (FastAPI).

Routes:

- ``GET /``: the playground page; ``/static/*`` its assets;
- ``WS /v1/live``: the live protocol (:mod:`livemind.server.protocol`);
- ``POST /v1/sessions`` -> ``{session_id}``; ``GET /v1/sessions/{id}/events`` streams that
  session's events as Server-Sent Events; ``POST /v1/sessions/{id}/events`` takes one
  client event (or a list); ``DELETE /v1/sessions/{id}`` ends it. The same protocol for
  clients without WebSockets;
- ``POST /v1/chat/completions``: a plain OpenAI-compatible endpoint on the same engine;
  ``GET /v1/models`` (and ``/v1/models/{id}``) lists the model(s) it serves;
- ``GET /v1/events``: the table of the events the server sends (names, fields, meaning:
  :func:`livemind.events.events_table`); the page checks what it receives against it;
- ``GET /health``, ``GET /metrics`` (Prometheus text, :mod:`livemind.server.metrics`).

With a token set, every ``/v1`` route and ``/metrics`` need ``Authorization: Bearer
TOKEN`` (or ``?token=TOKEN``, for browsers' WebSocket and EventSource). Every request
first passes the Host/Origin guard of :mod:`livemind.server.guard`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, WebSocket
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from livemind.backends.base import Backend
from livemind.config import SessionConfig
from livemind.events import EventName, events_table
from livemind.server.guard import SiteGuard, SitePolicy
from livemind.server.http_io import BodyTooLarge, HeldStreamingResponse, read_body
from livemind.server.hub import CLOSE, HubError, Limits, LiveConnection, SessionHub
from livemind.server.metrics import CONTENT_TYPE_LATEST, MeteredBackend, Metrics
from livemind.server.openai_compat import chat_completions, list_models, retrieve_model
from livemind.server.protocol import ProtocolError, decode_json, event_from_dict, parse_event
from livemind.server.scheduled import Scheduling, scheduled

STATIC = files("livemind.server") / "static"


def create_app(
    backend: Backend,
    *,
    output_backend: Backend | None = None,
    defaults: SessionConfig | None = None,
    limits: Limits | None = None,
    token: str | None = None,
    site: SitePolicy | None = None,
    scheduling: Scheduling | None = None,
) -> FastAPI:
    """The app serving ``backend`` (and ``output_backend`` for collaborative mode), behind
    the Host/Origin guard ``site`` (default: loopback names and the server's own origin).
    Every session's calls go through one priority scheduler per engine (``scheduling``;
    default: answers first, ``Scheduling()``; :mod:`livemind.server.scheduled`).
    The caller owns the backends and closes them after the app stops."""
    metrics = Metrics()
    started = int(time.time())  # the "created" of the models listed at /v1/models
    main = scheduled(MeteredBackend(backend, metrics), scheduling, metrics, "main")
    output = None
    if output_backend is not None:
        output = scheduled(MeteredBackend(output_backend, metrics), scheduling, metrics, "output")
    limits = limits or Limits()
    hub = SessionHub(
        main,
        output_backend=output,
        defaults=defaults,
        limits=limits,
        metrics=metrics,
        admission=(scheduling or Scheduling()).session_cap(limits.max_sessions),
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        reaper = asyncio.create_task(hub.reap_idle())
        try:
            yield
        finally:
            reaper.cancel()
            await asyncio.gather(reaper, return_exceptions=True)
            await hub.aclose()

    app = FastAPI(
        title="livemind", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None
    )
    app.state.hub = hub
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")

    def authorized(headers: Any, query: Any) -> bool:
        if not token:
            return True
        given = query.get("token") or ""
        auth = headers.get("authorization") or ""
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        return hmac.compare_digest(given.encode(), token.encode())

    def denied(*_: Any) -> JSONResponse:
        metrics.error("unauthorized")
        return _error(401, "unauthorized", "missing or wrong bearer token")

    def require_token(request: Request) -> None:
        if not authorized(request.headers, request.query_params):
            raise _Unauthorized

    # every HTTP route but the page and /health needs the token (the WebSocket checks it
    # itself: it refuses with a close code)
    app.add_exception_handler(_Unauthorized, denied)
    api = APIRouter(dependencies=[Depends(require_token)])

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"))

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", **hub.models(), "sessions": len(hub.connections)}

    @api.get("/metrics")
    async def get_metrics() -> Any:
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.websocket("/v1/live")
    async def live(ws: WebSocket) -> None:
        await ws.accept()
        if not authorized(ws.headers, ws.query_params):
            metrics.error("unauthorized")
            await _ws_refuse(ws, "unauthorized", "missing or wrong bearer token", 1008)
            return
        try:
            conn = hub.open(_peer(ws))
        except HubError as exc:
            await _ws_refuse(ws, exc.code, exc.message, 1013)
            return
        await _serve_ws(ws, conn, hub)

    @api.post("/v1/sessions")
    async def create_session(request: Request) -> Any:
        try:
            conn = hub.open(_peer(request), attached=False)
        except HubError as exc:
            return _error(503, exc.code, exc.message, {"Retry-After": "1"})
        return {"session_id": conn.session_id, **hub.models()}

    @api.get("/v1/sessions/{session_id}/events")
    async def session_events(session_id: str) -> Any:
        conn = hub.connections.get(session_id)
        if conn is None:
            return _error(404, "unknown_session", f"no session {session_id!r}")
        if conn.reader_attached:
            return _error(409, "stream_taken", "this session's event stream is already open")
        conn.reader_attached = True
        return HeldStreamingResponse(
            _sse(conn),
            lambda: hub.close_later(conn),  # the session ends when the client drops the stream
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )

    @api.post("/v1/sessions/{session_id}/events")
    async def post_events(session_id: str, request: Request) -> Any:
        conn = hub.connections.get(session_id)
        if conn is None:
            return _error(404, "unknown_session", f"no session {session_id!r}")
        try:
            body = await read_body(request, hub.limits.max_message_bytes)
        except BodyTooLarge as exc:
            metrics.error("message_too_large")
            return _error(413, "message_too_large", str(exc))
        try:
            data = decode_json(body)
            items = data if isinstance(data, list) else [data]
            events = [event_from_dict(d, max_text=hub.limits.max_text_chars) for d in items]
        except ProtocolError as exc:
            metrics.error(exc.code)
            return _error(400, exc.code, exc.message)
        for event in events:
            await conn.handle(event)
        return JSONResponse({"accepted": len(events)}, status_code=202)

    @api.delete("/v1/sessions/{session_id}")
    async def delete_session(session_id: str) -> Any:
        conn = hub.connections.get(session_id)
        if conn is None:
            return _error(404, "unknown_session", f"no session {session_id!r}")
        await hub.close(conn)
        return JSONResponse({"closed": session_id})

    @api.post("/v1/chat/completions")
    async def completions(request: Request) -> Any:
        return await chat_completions(hub, request)

    @api.get("/v1/models")
    async def models() -> Any:
        return list_models(hub, started)

    @api.get("/v1/models/{model_id:path}")
    async def model(model_id: str) -> Any:
        return retrieve_model(hub, model_id, started)

    @api.get("/v1/events")
    async def event_table() -> dict[str, Any]:
        return events_table()

    app.include_router(api)
    app.add_middleware(SiteGuard, policy=site or SitePolicy(), on_refuse=metrics.error)
    return app


class _Unauthorized(Exception):
    """A request without the server's token (answered by ``denied``)."""


def _error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def _peer(connection: Request | WebSocket) -> str:
    """The client's address (the unit of the per-client quota)."""
    return connection.client.host if connection.client else ""


async def _ws_refuse(ws: WebSocket, code: str, message: str, close_code: int) -> None:
    with contextlib.suppress(Exception):
        refusal = {"type": EventName.ERROR, "event_id": 0, "code": code, "message": message}
        await ws.send_json(refusal)
        await ws.close(code=close_code)


async def _serve_ws(ws: WebSocket, conn: LiveConnection, hub: SessionHub) -> None:
    """Pump events both ways until the client leaves or the hub closes the session."""

    async def sender() -> None:
        while (event := await conn.outbox.get()) is not CLOSE:
            await ws.send_json(event)

    async def receiver() -> None:
        limits = hub.limits
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            raw = message.get("text")
            if raw is None:
                raw = message.get("bytes") or b""
            try:
                event = parse_event(
                    raw, max_bytes=limits.max_message_bytes, max_text=limits.max_text_chars
                )
            except ProtocolError as exc:
                conn.send(EventName.ERROR, code=exc.code, message=exc.message)
                continue
            await conn.handle(event)

    tasks = [asyncio.create_task(sender()), asyncio.create_task(receiver())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        if tasks[0] in done:  # the hub closed the session: say goodbye to the client
            with contextlib.suppress(Exception):
                await ws.close()
    finally:
        for task in tasks:
            task.cancel()
        # a client that left has its calls cancelled and its session freed; in the
        # background, so that this handler returns at once
        hub.close_later(conn)


async def _sse(conn: LiveConnection) -> AsyncIterator[bytes]:
    """The session's events as SSE, until the hub closes the session."""
    while (event := await conn.outbox.get()) is not CLOSE:
        yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()
