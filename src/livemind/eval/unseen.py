"""How many tokens of the answer prompt the engine had never seen (cache accounting).

:class:`RecordingBackend` wraps a backend for one evaluation run and logs every prompt it
was sent (and the reply it produced). :func:`unseen_tokens` then tokenizes the answer
prompt with the engine's own chat template and tokenizer (llama.cpp's ``/apply-template``
and ``/tokenize``) and subtracts the longest token prefix it shares with any earlier
call's prompt + reply: what remains had to be evaluated after Enter however good the
cache, so the answer call's ``evaluated_tokens`` should come close to it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any

import httpx

from livemind.backends.base import Backend, Delta, Message, Request, Usage
from livemind.backends.forwarding import ForwardingBackend, innermost

Sent = tuple[list[Message], str]  # (prompt messages, reply text)


class RecordingBackend(ForwardingBackend):
    """Forwards every call to ``inner``; ``sent`` logs (messages, reply) in completion
    order (prewarms with an empty reply), and ``started`` when each of them began, on
    ``clock``. It does not own ``inner``."""

    def __init__(self, inner: Backend, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(inner, owns_inner=False)
        self.clock = clock
        self.sent: list[Sent] = []
        self.started: list[float] = []

    def sent_before(self, t: float) -> list[Sent]:
        """The logged calls that began before ``t``."""
        return [s for s, began in zip(self.sent, self.started, strict=True) if began < t]

    async def stream(self, request: Request) -> AsyncGenerator[Delta, None]:
        parts: list[str] = []
        began = self.clock()
        try:
            async with contextlib.aclosing(super().stream(request)) as deltas:
                async for delta in deltas:
                    parts.append(delta.text)
                    yield delta
        finally:
            self.sent.append((list(request.messages), "".join(parts)))
            self.started.append(began)

    async def prewarm(self, request: Request) -> Usage | None:
        began = self.clock()
        try:
            return await super().prewarm(request)
        finally:  # a cancelled prewarm was sent too (the engine may have cached it)
            self.sent.append((list(request.messages), ""))
            self.started.append(began)


def llama_server(backend: Backend) -> tuple[str, str | None] | None:
    """(root URL, API key) of a llama.cpp server behind ``backend``, if there is one."""
    from livemind.backends.llamacpp import LlamaCppBackend
    from livemind.backends.openai_http import OpenAIBackend

    inner = innermost(backend)
    if isinstance(inner, LlamaCppBackend):
        return inner.base_url.removesuffix("/v1"), inner.api_key
    if isinstance(inner, OpenAIBackend) and inner.resolved_prewarm_mode == "llama":
        return inner.root_url, inner.api_key
    return None


class ChatTokenizer:
    """Token ids of chat prompts, from a llama.cpp server's own template and tokenizer."""

    def __init__(self, root_url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        self.root_url = root_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        self._client = httpx.AsyncClient(timeout=timeout, headers=headers)

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        resp = await self._client.post(self.root_url + path, json=body)
        resp.raise_for_status()
        return resp.json()

    async def tokens(self, messages: list[Message], reply: str = "") -> list[int]:
        """The tokens of ``messages`` as the chat template renders them, then ``reply``."""
        prompt = (await self._post("/apply-template", {"messages": messages}))["prompt"]
        body = {"content": prompt + reply, "add_special": False, "parse_special": True}
        return list((await self._post("/tokenize", body))["tokens"])

    async def aclose(self) -> None:
        await self._client.aclose()


async def shared_prefixes(
    tokenizer: ChatTokenizer, final: Sent, earlier: list[Sent]
) -> tuple[int, list[int]]:
    """The token count of ``final``'s prompt, and for each ``earlier`` call the length of
    the token prefix its prompt + reply shares with it (each prompt tokenized once)."""
    target = await tokenizer.tokens(final[0])
    shared = []
    for messages, reply in earlier:
        seen = await tokenizer.tokens(messages, reply)
        shared.append(len(os.path.commonprefix([target, seen])))
    return len(target), shared


async def unseen_tokens(tokenizer: ChatTokenizer, final: Sent, earlier: list[Sent]) -> int:
    """Tokens of ``final``'s prompt not covered by the longest prefix shared with any
    ``earlier`` call's prompt + reply."""
    total, shared = await shared_prefixes(tokenizer, final, earlier)
    return total - max(shared, default=0)
