"""Shared parsing of OpenAI / llama.cpp response JSON: usage counters and error bodies.

Both the embedded llama.cpp backend and the HTTP backend see the same shapes:

- OpenAI ``usage``: ``{"prompt_tokens", "completion_tokens",
  "prompt_tokens_details": {"cached_tokens"}}`` (vLLM and SGLang fill ``cached_tokens``
  only when prompt-token details / cache reports are enabled);
- llama.cpp ``timings``: ``{"cache_n": tokens taken from the cache, "prompt_n": prompt
  tokens evaluated, "predicted_n": tokens generated, "draft_n" / "draft_n_accepted":
  speculative draft tokens proposed / accepted, only when speculating, ...}``;
- errors: ``{"error": {"code": 400, "message": ..., "type": ...}}`` (llama.cpp adds
  ``"n_prompt_tokens"`` and ``"n_ctx"`` to ``exceed_context_size_error``), or a bare
  ``{"code", "message", "type"}`` object, or FastAPI's ``{"detail": ...}``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .base import BackendError, Usage

__all__ = ["error_from_json", "is_context_overflow", "parse_usage"]


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def parse_usage(obj: Mapping[str, Any], finish_reason: str | None = None) -> Usage | None:
    """Build a :class:`Usage` from a response / final stream chunk.

    Looks at ``obj["usage"]`` (OpenAI) and ``obj["timings"]`` (llama.cpp); returns ``None``
    when neither is present. Precedence:

    - ``prompt_tokens``: ``usage.prompt_tokens``, else ``timings.prompt_n + cache_n``;
    - ``completion_tokens``: ``usage.completion_tokens``, else ``timings.predicted_n``;
    - ``cached_tokens``: ``usage.prompt_tokens_details.cached_tokens``, else
      ``timings.cache_n``, else ``None`` (not reported);
    - ``evaluated_tokens``: ``timings.prompt_n``, else ``prompt_tokens - cached_tokens``
      when the cached count is known, else ``None``;
    - ``draft_tokens`` / ``draft_accepted``: ``timings.draft_n`` / ``draft_n_accepted``.
    """
    usage = obj.get("usage")
    timings = obj.get("timings")
    if not isinstance(usage, Mapping):
        usage = None
    if not isinstance(timings, Mapping):
        timings = None
    if usage is None and timings is None:
        return None
    usage = usage or {}
    timings = timings or {}

    cache_n = _int(timings.get("cache_n"))
    prompt_n = _int(timings.get("prompt_n"))

    prompt_tokens = _int(usage.get("prompt_tokens"))
    if prompt_tokens is None:
        prompt_tokens = (prompt_n or 0) + (cache_n or 0)

    completion_tokens = _int(usage.get("completion_tokens"))
    if completion_tokens is None:
        completion_tokens = _int(timings.get("predicted_n")) or 0

    cached: int | None = None
    details = usage.get("prompt_tokens_details")
    if isinstance(details, Mapping):
        cached = _int(details.get("cached_tokens"))
    if cached is None:
        cached = cache_n

    evaluated = prompt_n
    if evaluated is None and cached is not None:
        evaluated = max(prompt_tokens - cached, 0)

    return Usage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cached_tokens=cached,
        evaluated_tokens=evaluated,
        finish_reason=finish_reason,
        draft_tokens=_int(timings.get("draft_n")),
        draft_accepted=_int(timings.get("draft_n_accepted")),
    )


_OVERFLOW_TYPES = {"exceed_context_size_error", "context_length_exceeded"}
_OVERFLOW_RE = re.compile(
    r"context (length|size|window)|maximum context|exceeds the available context"
    r"|prompt is too long|too many tokens|input is too long|longer than the model",
    re.IGNORECASE,
)


def is_context_overflow(error: Mapping[str, Any]) -> bool:
    """Whether an error object says the prompt does not fit the context."""
    if str(error.get("type") or "") in _OVERFLOW_TYPES:
        return True
    if str(error.get("code") or "") in _OVERFLOW_TYPES:
        return True
    return bool(_OVERFLOW_RE.search(str(error.get("message") or "")))


def _error_object(body: Any) -> dict[str, Any]:
    """Normalise the many error body shapes into one ``{"message", "type", ...}`` dict."""
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping):
            return dict(inner)
        if isinstance(inner, str):
            return {**body, "message": inner}
        detail = body.get("detail")
        if detail is not None and "message" not in body:
            return {**body, "message": detail if isinstance(detail, str) else str(detail)}
        return dict(body)
    if isinstance(body, str):
        return {"message": body}
    return {"message": str(body)}


def error_from_json(
    body: Any,
    *,
    status: int | None = None,
    overflow_limit: str | None = None,
    where: str = "server",
) -> BackendError:
    """Map an error body (parsed JSON or raw text) to a :class:`BackendError`.

    ``status`` is the HTTP status when known (else the body's ``code`` is used).
    Context overflows become ``context_overflow`` with a message naming the limit;
    ``overflow_limit`` (e.g. ``"per slot (n_ctx=4096, n_parallel=2)"``) is appended to
    the limit when the caller knows more about how the context is split. Other 4xx map
    to ``bad_request``, everything else to ``server_error``.
    """
    err = _error_object(body)
    message = str(err.get("message") or "").strip() or "unknown error"
    code = status if status is not None else _int(err.get("code"))

    if is_context_overflow(err):
        n_prompt = _int(err.get("n_prompt_tokens"))
        n_ctx = _int(err.get("n_ctx"))
        if n_prompt is not None and n_ctx is not None:
            text = f"prompt is {n_prompt} tokens but the context holds {n_ctx} tokens"
            if overflow_limit:
                text += f" {overflow_limit}"
            return BackendError("context_overflow", f"{text} ({where}: {message})")
        return BackendError(
            "context_overflow", f"prompt too long for the context ({where}: {message})"
        )

    kind = str(err.get("type") or "")
    if code is not None and 400 <= code < 500:
        prefix = f"{where} rejected the request (HTTP {code}"
        prefix += f", {kind})" if kind else ")"
        return BackendError("bad_request", f"{prefix}: {message}")
    prefix = f"{where} error" + (f" (HTTP {code})" if code is not None else "")
    if kind and kind not in prefix:
        prefix += f" [{kind}]"
    return BackendError("server_error", f"{prefix}: {message}")


def choice_parts(chunk: Mapping[str, Any], key: str = "delta") -> tuple[str, str | None]:
    """(text, finish_reason) of a response chunk's ``choices`` (``key``: ``delta`` when
    streaming, ``message`` for a whole reply). ValueError when a present ``choices``,
    choice, ``key`` object, content or finish reason has the wrong type; absent ones mean
    nothing (usage-only chunks have ``choices: []``)."""
    choices = chunk.get("choices")
    if choices is None:
        return "", None
    if not isinstance(choices, list):
        raise ValueError(f"'choices' is a {type(choices).__name__}, not a list")
    texts: list[str] = []
    finish: str | None = None
    for choice in choices:
        if not isinstance(choice, dict):
            raise ValueError(f"a choice is {choice!r}, not an object")
        reason = choice.get("finish_reason")
        if reason is not None and not isinstance(reason, str):
            raise ValueError(f"finish_reason is {reason!r}, not a string")
        finish = reason or finish
        part = choice.get(key)
        if part is None:
            continue
        if not isinstance(part, dict):
            raise ValueError(f"{key!r} is {part!r}, not an object")
        content = part.get("content")
        if content is not None and not isinstance(content, str):
            raise ValueError(f"content is {content!r}, not a string")
        texts.append(content or "")
    return "".join(texts), finish
