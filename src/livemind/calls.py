"""One model call, streamed, with its timing record.

Streaming and non-streaming share this code path: a caller that does not care about
deltas simply passes no ``on_delta``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from livemind.backends.base import Backend, Request, Stage, Usage

Clock = Callable[[], float]


@dataclass(slots=True)
class CallRecord:
    """Timing and token accounting of one model call.

    ``ttft_s`` is the time from the call's start to its first non-empty text delta
    (None if it produced no text). Token counts come from the engine's own counters.
    """

    stage: Stage  # what the call was for (serialised as its string value)
    model: str
    started_s: float = 0.0
    wall_s: float = 0.0
    ttft_s: float | None = None
    prompt_tokens: int = 0
    cached_tokens: int | None = None
    evaluated_tokens: int | None = None
    completion_tokens: int = 0
    cancelled: bool = False
    finish_reason: str | None = None  # the engine's: "stop", "length", ...
    action: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def add_usage(self, usage: Usage) -> None:
        self.prompt_tokens = usage.prompt_tokens
        self.cached_tokens = usage.cached_tokens
        self.evaluated_tokens = usage.evaluated_tokens
        self.completion_tokens = usage.completion_tokens
        self.finish_reason = usage.finish_reason
        if usage.draft_tokens is not None:  # only engines that speculate report these
            self.extra["draft_tokens"] = usage.draft_tokens
            self.extra["draft_accepted"] = usage.draft_accepted


async def stream_call(
    backend: Backend,
    request: Request,
    record: CallRecord,
    on_delta: Callable[[str], None] | None = None,
    clock: Clock = time.perf_counter,
) -> str:
    """Run one streamed completion, filling ``record``; return the full text.

    If the surrounding task is cancelled, the record is marked ``cancelled`` (with the
    wall time so far) and the cancellation propagates; the backend stops generating when
    its stream is closed.
    """
    start = clock()
    record.started_s = start
    parts: list[str] = []
    stream = backend.stream(request)
    try:
        async for delta in stream:
            if delta.text:
                if record.ttft_s is None:
                    record.ttft_s = clock() - start
                parts.append(delta.text)
                if on_delta is not None:
                    on_delta(delta.text)
            if delta.usage is not None:
                record.add_usage(delta.usage)
    except asyncio.CancelledError:
        record.cancelled = True
        raise
    finally:
        record.wall_s = clock() - start
        if isinstance(stream, AsyncGenerator):  # stops the generation on the engine
            await stream.aclose()
    return "".join(parts)
