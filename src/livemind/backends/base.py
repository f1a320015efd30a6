"""The backend contract: stream one chat completion, report usage, optionally prewarm.

Every backend (embedded llama.cpp, OpenAI-compatible HTTP, the scripted test double)
implements :class:`Backend`. The session engine only talks to this interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

Message = dict[str, str]
"""One chat message: ``{"role": "system" | "user" | "assistant", "content": str}``."""


class Stage(StrEnum):
    """What a model call is for (a :class:`Request`'s and a call record's ``stage``).

    ``inference``: a note on the text read so far; ``prewarm``: a prefill-only call;
    ``output``: the answer after Enter (or a speculative start of it); ``baseline``: the
    conventional answer to the complete prompt; ``calibration``: the bench's rate probe;
    ``other``: anything else (an OpenAI-compatible completion through the server).
    """

    INFERENCE = "inference"
    PREWARM = "prewarm"
    OUTPUT = "output"
    BASELINE = "baseline"
    CALIBRATION = "calibration"
    OTHER = "other"


class BackendError(RuntimeError):
    """A backend could not serve a request.

    ``code`` is a short machine-readable reason: ``unreachable``, ``context_overflow``,
    ``bad_request``, ``rate_limited`` (``retry_after_s``: what the server asked for, if
    it said), ``timeout``, ``server_error``, ``model_missing``.
    """

    def __init__(self, code: str, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_after_s = retry_after_s


@dataclass(slots=True)
class Usage:
    """Token accounting of one call, from the engine's own counters.

    ``cached_tokens`` are prompt tokens taken from the KV/prefix cache;
    ``evaluated_tokens`` are prompt tokens the engine actually computed;
    ``draft_tokens`` / ``draft_accepted`` count speculative-decoding drafts proposed and
    accepted (llama.cpp, only when it speculates).
    ``None`` means the backend does not report that number.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int | None = None
    evaluated_tokens: int | None = None
    finish_reason: str | None = None
    draft_tokens: int | None = None
    draft_accepted: int | None = None


@dataclass(slots=True)
class Delta:
    """A piece of streamed output. The last item of a stream carries ``usage``."""

    text: str = ""
    usage: Usage | None = None


@dataclass(slots=True, frozen=True)
class Capabilities:
    """What a backend can do beyond plain chat streaming."""

    prewarm: bool = False  # can prefill a prompt into the cache without generating
    cached_tokens: bool = False  # reports how many prompt tokens came from cache
    slots: int = 1  # parallel sequences it can serve at once (affinity targets)


@dataclass(slots=True)
class Request:
    """One chat completion request.

    ``session_key`` identifies the conversation so a backend can keep its prefix cache
    on one slot/replica (slot id for llama.cpp, affinity header for routers); ``stage``
    says what the call is for (backends may schedule or label by it; test doubles answer
    by it).
    """

    messages: list[Message]
    max_tokens: int = 256
    temperature: float = 0.0
    stop: list[str] = field(default_factory=list)
    session_key: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    stage: Stage = Stage.OTHER


class Backend(ABC):
    """A chat model endpoint.

    Contract:
    - :meth:`stream` yields :class:`Delta` items with text as it is generated; the final
      item has ``usage`` set (possibly with empty text). Closing the iterator early
      (``aclose()`` or task cancellation) cancels the generation on the engine.
    - Failures raise :class:`BackendError` with a clear message; the backend stays usable.
    - :meth:`prewarm` prefills ``messages`` into the cache without generating; backends
      without ``capabilities.prewarm`` return ``None`` and do nothing.
    """

    name: str = "backend"
    model: str = ""
    capabilities: Capabilities = Capabilities()
    context_size: int | None = None  # tokens per sequence, when known

    @abstractmethod
    def stream(self, request: Request) -> AsyncIterator[Delta]:
        """Stream one chat completion (an async generator)."""

    async def prewarm(self, request: Request) -> Usage | None:
        """Prefill the prompt of ``request`` into the cache; default: unsupported."""
        return None

    async def reset_cache(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Drop cached prompts so the next call starts cold (evaluation). Default: no-op."""

    def user_waiting(self, session_key: str, waiting: bool = True) -> None:  # noqa: B027
        """The user of ``session_key`` pressed Enter (``waiting``) or has the answer, or
        gave up (not ``waiting``): while waiting, that session's calls, queued or running,
        have someone waiting for them (a scheduler runs them as answers). Default: no-op."""

    async def complete(self, request: Request) -> tuple[str, Usage]:
        """Non-streaming convenience built on :meth:`stream` (one code path)."""
        parts: list[str] = []
        usage = Usage()
        async for delta in self.stream(request):
            parts.append(delta.text)
            if delta.usage is not None:
                usage = delta.usage
        return "".join(parts), usage

    async def aclose(self) -> None:  # noqa: B027 - optional hook, no-op by default
        """Release engine resources. Safe to call twice."""
