"""A scripted test double: replies come from a script, not a model.

For unit tests of session logic only; it never stands in for a real engine in a feature.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence

from livemind.backends.base import (
    Backend,
    BackendError,
    Capabilities,
    Delta,
    Request,
    Stage,
    Usage,
)

Script = Callable[[Request], str]


def is_inference_request(request: Request) -> bool:
    """Whether ``request`` is an inference-stage call, so a script can answer the two
    stages differently (by the request's ``stage``, never by the prompt's wording)."""
    return request.stage == Stage.INFERENCE


class ScriptedBackend(Backend):
    """Streams scripted replies word by word.

    ``script`` is either a function of the request or a sequence of replies used in turn
    (the last one repeats). ``delay`` seconds pass before each word, so tests can cancel
    mid-call. A reply that is a :class:`BackendError` instance is raised instead.
    ``requests`` records every request received, in order. With ``prewarm=True`` it also
    accepts prefill-only calls (recorded in ``prewarm_requests``, ``prewarm_delay`` each).
    """

    name = "scripted"

    def __init__(
        self,
        script: Script | Sequence[str | BackendError],
        *,
        delay: float = 0.0,
        model: str = "scripted",
        prewarm: bool = False,
        prewarm_delay: float = 0.0,
    ) -> None:
        self._script = script
        self._turn = 0
        self.delay = delay
        self.model = model
        self.capabilities = Capabilities(prewarm=prewarm, cached_tokens=False, slots=4)
        self.prewarm_delay = prewarm_delay
        self.requests: list[Request] = []
        self.prewarm_requests: list[Request] = []
        self.cancelled = 0

    def _next_reply(self, request: Request) -> str | BackendError:
        if callable(self._script):
            return self._script(request)
        replies = list(self._script)
        reply = replies[min(self._turn, len(replies) - 1)]
        self._turn += 1
        return reply

    async def stream(self, request: Request) -> AsyncIterator[Delta]:
        self.requests.append(request)
        reply = self._next_reply(request)
        if isinstance(reply, BackendError):
            await asyncio.sleep(self.delay)
            raise reply
        words = reply.split(" ")
        prompt_chars = sum(len(m["content"]) for m in request.messages)
        try:
            for i, word in enumerate(words[: request.max_tokens]):
                await asyncio.sleep(self.delay)
                yield Delta(word if i == 0 else " " + word)
        except (asyncio.CancelledError, GeneratorExit):
            self.cancelled += 1
            raise
        yield Delta(
            usage=Usage(
                prompt_tokens=prompt_chars // 4,
                completion_tokens=min(len(words), request.max_tokens),
                finish_reason="length" if len(words) > request.max_tokens else "stop",
            )
        )

    async def prewarm(self, request: Request) -> Usage | None:
        if not self.capabilities.prewarm:
            return None
        self.prewarm_requests.append(request)
        await asyncio.sleep(self.prewarm_delay)
        prompt_chars = sum(len(m["content"]) for m in request.messages)
        return Usage(prompt_tokens=prompt_chars // 4, completion_tokens=1)
