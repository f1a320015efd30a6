"""``POST /v1/chat/completions``: a complete prompt answered through the server's engine,
in the OpenAI chat format (streaming as SSE chunks, or one JSON object), so existing
clients can point at livemind. No simultaneous inference here: the prompt is complete.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from livemind.backends.base import Backend, BackendError, Usage
from livemind.backends.base import Request as ChatRequest

ROLES = ("system", "user", "assistant")
MAX_TOKENS = 4096


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
        clean.append({"role": m["role"], "content": m["content"]})
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
    request = ChatRequest(clean, max_tokens=max_tokens, temperature=float(temperature), stop=stop)
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


async def chat_completions(backend: Backend, request: Request, max_bytes: int) -> Any:
    """Answer one OpenAI chat completion request (see the module docstring)."""
    raw = await request.body()
    if len(raw) > max_bytes:
        return _error(413, "message_too_large", f"limit {max_bytes} bytes")
    try:
        chat, stream = _parse(json.loads(raw))
    except (ValueError, _BadRequest) as exc:
        return _error(400, "invalid_request_error", str(exc))
    cid = f"chatcmpl-{uuid.uuid4().hex[:20]}"
    created = int(time.time())
    head = {"id": cid, "created": created, "model": backend.model}
    if stream:
        return StreamingResponse(_chunks(backend, chat, head), media_type="text/event-stream")
    parts: list[str] = []
    usage: Usage | None = None
    try:
        async for delta in backend.stream(chat):
            parts.append(delta.text)
            usage = delta.usage or usage
    except BackendError as exc:
        return _error(502, exc.code, exc.message)
    return {
        **head,
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(parts)},
                "finish_reason": (usage.finish_reason if usage else None) or "stop",
            }
        ],
        "usage": _usage(usage),
    }


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


def _error(status: int, code: str, message: str) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "type": "invalid_request_error"}}
    return JSONResponse(body, status_code=status)
