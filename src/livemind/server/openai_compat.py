"""The OpenAI-compatible routes, so existing clients (the ``openai`` SDK and the tools
built on it) can point at livemind:

- ``POST /v1/chat/completions``: a complete prompt answered through the server's engine,
  in the OpenAI chat format (streaming as SSE chunks, or one JSON object). No
  simultaneous inference here: the prompt is complete;
- ``GET /v1/models`` and ``GET /v1/models/{id}``: the model(s) the server serves, in
  OpenAI's list and model shapes (most clients call this first).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from livemind.backends.base import Backend, BackendError, Stage, Usage
from livemind.backends.base import Request as ChatRequest
from livemind.server.http_io import BodyTooLarge, HeldStreamingResponse, read_body
from livemind.server.hub import HubError, SessionHub
from livemind.server.protocol import is_valid_unicode

ROLES = ("system", "user", "assistant")
OWNED_BY = "livemind"
MAX_TOKENS = 4096
MAX_STOP = 8  # stop strings per request (OpenAI takes 4)
MAX_STOP_CHARS = 256
DISCONNECT_POLL_S = 0.25


class _BadRequest(ValueError):
    pass


def _parse(body: Any) -> tuple[ChatRequest, bool]:
    if not isinstance(body, dict):
        raise _BadRequest("the body must be a JSON object")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _BadRequest("'messages' must be a non-empty list")
    clean = []
    for m in messages:
        if not (
            isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str)
        ):
            raise _BadRequest(
                "each message needs a role (system/user/assistant) and string content"
            )
        if not is_valid_unicode(m["content"]):
            raise _BadRequest("message content is not valid Unicode (a lone surrogate)")
        clean.append({"role": m["role"], "content": m["content"]})
    if body.get("n", 1) != 1:
        raise _BadRequest("n must be 1: this server returns one choice per request")
    max_tokens = body.get("max_tokens", body.get("max_completion_tokens", 512))
    if (
        not isinstance(max_tokens, int)
        or isinstance(max_tokens, bool)
        or not 1 <= max_tokens <= MAX_TOKENS
    ):
        raise _BadRequest(f"max_tokens must be an integer 1..{MAX_TOKENS}")
    temperature = body.get("temperature", 0.0)
    if (
        not isinstance(temperature, int | float)
        or isinstance(temperature, bool)
        or not 0 <= temperature <= 2
    ):
        raise _BadRequest("temperature must be a number 0..2")
    stop = body.get("stop") or []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise _BadRequest("stop must be a string or a list of strings")
    if len(stop) > MAX_STOP or any(not 0 < len(s) <= MAX_STOP_CHARS for s in stop):
        raise _BadRequest(
            f"stop takes at most {MAX_STOP} strings of 1..{MAX_STOP_CHARS} characters"
        )
    if not all(is_valid_unicode(s) for s in stop):
        raise _BadRequest("stop strings must be valid Unicode")
    request = ChatRequest(
        clean, max_tokens=max_tokens, temperature=float(temperature), stop=stop, stage=Stage.OTHER
    )
    return request, bool(body.get("stream", False))


def _usage(usage: Usage | None) -> dict[str, Any]:
    u = usage or Usage()
    out: dict[str, Any] = {
        "prompt_tokens": u.prompt_tokens,
        "completion_tokens": u.completion_tokens,
        "total_tokens": u.prompt_tokens + u.completion_tokens,
    }
    if u.cached_tokens is not None:
        out["prompt_tokens_details"] = {"cached_tokens": u.cached_tokens}
    return out


def served_models(hub: SessionHub) -> list[str]:
    """The ids of the models the server answers with: the engine's, then the output
    stage's when it is a different one (empty names left out)."""
    names = hub.models()
    ids = [names["model"], names["output_model"]]
    return [m for i, m in enumerate(ids) if m and m not in ids[:i]]


def _model_card(model_id: str, created: int) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": created, "owned_by": OWNED_BY}


def list_models(hub: SessionHub, created: int) -> dict[str, Any]:
    """``GET /v1/models``: OpenAI's list shape; ``created`` is the server's start time."""
    return {"object": "list", "data": [_model_card(m, created) for m in served_models(hub)]}


def retrieve_model(hub: SessionHub, model_id: str, created: int) -> Any:
    """``GET /v1/models/{id}``: that model's card, or 404 ``model_not_found`` in OpenAI's
    error shape when the server does not serve it."""
    served = served_models(hub)
    if model_id in served:
        return _model_card(model_id, created)
    message = f"The model {model_id!r} does not exist; this server serves {served}"
    return _error(404, "model_not_found", message, param="model")


async def chat_completions(hub: SessionHub, request: Request) -> Any:
    """Answer one OpenAI chat completion request (see the module docstring); each request
    holds one of the hub's ``max_sessions`` places while it runs."""
    backend = hub.backend
    try:
        raw = await read_body(request, hub.limits.max_message_bytes)
    except BodyTooLarge as exc:
        return _error(413, "message_too_large", str(exc))
    try:
        chat, stream = _parse(json.loads(raw))
    except RecursionError:
        return _error(400, "invalid_request_error", "the JSON is nested too deeply")
    except (ValueError, _BadRequest) as exc:
        return _error(400, "invalid_request_error", str(exc))
    cid = f"chatcmpl-{uuid.uuid4().hex[:20]}"
    created = int(time.time())
    head = {"id": cid, "created": created, "model": backend.model}
    try:
        release = hub.reserve_completion(request.client.host if request.client else "")
    except HubError as exc:
        return _error(503, exc.code, exc.message, headers={"Retry-After": "1"})
    if stream:
        return HeldStreamingResponse(
            _chunks(backend, chat, head), release, media_type="text/event-stream"
        )
    try:
        return await _complete(backend, chat, head, request)
    finally:
        release()


async def _complete(
    backend: Backend, chat: ChatRequest, head: dict[str, Any], request: Request
) -> Any:
    """The whole answer as one object; the call is cancelled if the client leaves."""
    collect = asyncio.ensure_future(backend.complete(chat))
    watch = asyncio.ensure_future(_until_disconnected(request))
    try:
        await asyncio.wait((collect, watch), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (collect, watch):
            task.cancel()  # a no-op on the one that finished
        await asyncio.gather(collect, watch, return_exceptions=True)
    if collect.cancelled():  # the client left: its call was cancelled, nobody to answer
        return _error(499, "client_closed_request", "the client disconnected")
    try:
        text, usage = collect.result()
    except BackendError as exc:
        return _error(502, exc.code, exc.message)
    return {
        **head,
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": usage.finish_reason or "stop",
            }
        ],
        "usage": _usage(usage),
    }


async def _until_disconnected(request: Request) -> None:
    while not await request.is_disconnected():
        await asyncio.sleep(DISCONNECT_POLL_S)


async def _chunks(
    backend: Backend, chat: ChatRequest, head: dict[str, Any]
) -> AsyncIterator[bytes]:
    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        body = {**head, "object": "chat.completion.chunk", "choices": [choice], **extra}
        return f"data: {json.dumps(body)}\n\n".encode()

    yield chunk({"role": "assistant", "content": ""})
    usage: Usage | None = None
    try:
        async for delta in backend.stream(chat):
            if delta.text:
                yield chunk({"content": delta.text})
            usage = delta.usage or usage
    except BackendError as exc:
        error = {"error": {"code": exc.code, "message": exc.message}}
        yield f"data: {json.dumps(error)}\n\n".encode()
        return
    finish = (usage.finish_reason if usage else None) or "stop"
    yield chunk({}, finish, usage=_usage(usage))
    yield b"data: [DONE]\n\n"


def _error(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    param: str | None = None,
) -> JSONResponse:
    """OpenAI's error shape: ``{error: {message, type, param, code}}``."""
    error = {"code": code, "message": message, "type": "invalid_request_error", "param": param}
    return JSONResponse({"error": error}, status_code=status, headers=headers)
