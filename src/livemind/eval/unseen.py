"""How many tokens of the answer prompt the engine had never seen (cache accounting).

:class:`RecordingBackend` wraps a backend for one evaluation run and logs every prompt it
was sent (and the reply it produced). :func:`unseen_tokens` then tokenizes the answer
prompt with the engine's own chat template and tokenizer (llama.cpp's ``/apply-template``
and ``/tokenize``, or vLLM's chat ``/tokenize``: :func:`engine_tokenizer`) and subtracts
the longest token prefix it shares with any earlier call's prompt + reply: what remains
had to be evaluated after Enter however good the cache, so the answer call's
``evaluated_tokens`` should come close to it (on vLLM, up to one cache block more).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncGenerator, Callable
from typing import Any, Protocol

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


class Tokenizer(Protocol):
    """Token ids of a chat prompt as one engine renders and tokenizes it."""

    async def tokens(self, messages: list[Message], reply: str = "") -> list[int]: ...

    async def aclose(self) -> None: ...


class _Poster:
    def __init__(self, root_url: str, api_key: str | None, timeout: float) -> None:
        self.root_url = root_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        self._client = httpx.AsyncClient(timeout=timeout, headers=headers)

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        resp = await self._client.post(self.root_url + path, json=body)
        resp.raise_for_status()
        return resp.json()

    async def aclose(self) -> None:
        await self._client.aclose()


class ChatTokenizer(_Poster):
    """Token ids of chat prompts, from a llama.cpp server's own template and tokenizer."""

    def __init__(self, root_url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        super().__init__(root_url, api_key, timeout)

    async def tokens(self, messages: list[Message], reply: str = "") -> list[int]:
        """The tokens of ``messages`` as the chat template renders them, then ``reply``."""
        prompt = (await self._post("/apply-template", {"messages": messages}))["prompt"]
        body = {"content": prompt + reply, "add_special": False, "parse_special": True}
        return list((await self._post("/tokenize", body))["tokens"])


class VllmChatTokenizer(_Poster):
    """Token ids of chat prompts from a vLLM server's chat ``/tokenize`` (its template and
    tokenizer): the prompt with the generation prompt; with a reply, the reply as an
    assistant message left open (``continue_final_message``), as the engine saw it."""

    def __init__(
        self, root_url: str, model: str, api_key: str | None = None, timeout: float = 30.0
    ) -> None:
        super().__init__(root_url, api_key, timeout)
        self.model = model

    async def tokens(self, messages: list[Message], reply: str = "") -> list[int]:
        body: dict[str, Any] = {"model": self.model, "add_special_tokens": False}
        if reply:
            reply_message: Message = {"role": "assistant", "content": reply}
            body |= {
                "messages": [*messages, reply_message],
                "add_generation_prompt": False,
                "continue_final_message": True,
            }
        else:
            body |= {"messages": messages, "add_generation_prompt": True}
        return list((await self._post("/tokenize", body))["tokens"])


def engine_tokenizer(backend: Backend) -> Tokenizer | None:
    """The tokenizer of the engine behind ``backend``: a llama.cpp server's, or a vLLM
    server's (an HTTP backend in ``"vllm"`` prewarm mode, pointed at one worker or at a
    router that passes ``/tokenize`` on); ``None`` for anything else."""
    from livemind.backends.openai_http import OpenAIBackend

    if (server := llama_server(backend)) is not None:
        return ChatTokenizer(*server)
    inner = innermost(backend)
    if isinstance(inner, OpenAIBackend) and inner.resolved_prewarm_mode == "vllm":
        return VllmChatTokenizer(inner.root_url, inner.model, inner.api_key)
    return None


async def shared_prefixes(
    tokenizer: Tokenizer, final: Sent, earlier: list[Sent]
) -> tuple[int, list[int]]:
    """The token count of ``final``'s prompt, and for each ``earlier`` call the length of
    the token prefix its prompt + reply shares with it (each prompt tokenized once)."""
    target = await tokenizer.tokens(final[0])
    shared = []
    for messages, reply in earlier:
        seen = await tokenizer.tokens(messages, reply)
        shared.append(len(os.path.commonprefix([target, seen])))
    return len(target), shared


async def unseen_tokens(tokenizer: Tokenizer, final: Sent, earlier: list[Sent]) -> int:
    """Tokens of ``final``'s prompt not covered by the longest prefix shared with any
    ``earlier`` call's prompt + reply."""
    total, shared = await shared_prefixes(tokenizer, final, earlier)
    return total - max(shared, default=0)
