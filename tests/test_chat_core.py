"""The chat-completions core: chunks -> deltas (pure), and ChatBackend over a transport.

The chunk dicts are made up in the shapes OpenAI, vLLM and llama.cpp send; the
transport double below hands them out as a real transport would (no engine needed).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from typing import Any

import pytest

from livemind.backends.affinity import SlotMap
from livemind.backends.base import BackendError, Delta, Request, Usage
from livemind.backends.chat_core import (
    MAX_RETRY_WAIT_S,
    ChatBackend,
    ChunkFolder,
    ReplyCut,
    chunk_deltas,
    reply_as_chunk,
    retry_wait,
)


def text_chunk(text: str, finish: str | None = None) -> dict[str, Any]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


async def chunks_of(
    items: Iterable[dict[str, Any]], end: BaseException | None = None
) -> AsyncGenerator[dict[str, Any], None]:
    for item in items:
        yield item
    if end is not None:
        raise end


async def deltas(items: Iterable[dict[str, Any]], end: BaseException | None = None) -> list[Delta]:
    return [d async for d in chunk_deltas(chunks_of(items, end), "engine")]


# --------------------------------------------------------------------------- chunks -> deltas


async def test_text_then_one_final_usage_item() -> None:
    got = await deltas(
        [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
            text_chunk("Hel"),
            text_chunk("lo", finish="stop"),
            {
                "choices": [],
                "usage": {
                    "prompt_tokens": 12,
                    "completion_tokens": 2,
                    "prompt_tokens_details": {"cached_tokens": 8},
                },
            },
        ]
    )
    assert [d.text for d in got] == ["Hel", "lo", ""]  # no item for empty text
    assert [d.usage for d in got[:-1]] == [None, None]
    assert got[-1].usage == Usage(12, 2, cached_tokens=8, evaluated_tokens=4, finish_reason="stop")


async def test_llama_cpp_timings_give_cached_and_evaluated_tokens() -> None:
    last = {
        "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 35, "completion_tokens": 8},
        "timings": {"cache_n": 30, "prompt_n": 5, "predicted_n": 8, "draft_n": 4},
    }
    got = await deltas([text_chunk("a"), last])
    usage = got[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (35, 8)
    assert (usage.cached_tokens, usage.evaluated_tokens) == (30, 5)
    assert (usage.finish_reason, usage.draft_tokens) == ("length", 4)


async def test_no_usage_reported_gives_zeros_with_the_finish_reason() -> None:
    got = await deltas([text_chunk("x", finish="stop")])
    assert got[-1].usage == Usage(finish_reason="stop")
    assert (await deltas([]))[-1].usage == Usage()


def test_folder_keeps_the_last_finish_reason_and_usage() -> None:
    folder = ChunkFolder("engine")
    assert not folder.ended
    assert folder.feed(text_chunk("a")) == "a"
    assert folder.feed({"choices": [{"delta": {}, "finish_reason": "stop"}]}) == ""
    assert folder.ended and folder.finish_reason == "stop"
    assert folder.feed({"choices": [], "usage": {"prompt_tokens": 3}}) == ""
    assert folder.final_usage() == Usage(3, 0, finish_reason="stop")


async def test_a_malformed_chunk_is_a_server_error_naming_the_sender() -> None:
    with pytest.raises(BackendError) as err:
        await deltas([text_chunk("a"), {"choices": [None]}])
    assert err.value.code == "server_error"
    assert err.value.message.startswith("engine sent a malformed reply (a choice is None")


async def test_a_cut_stream_is_an_error_only_before_the_reply_ended() -> None:
    cut = ReplyCut("server_error", "ended before the reply was complete")
    with pytest.raises(ReplyCut):
        await deltas([text_chunk("Hel")], end=cut)
    got = await deltas([text_chunk("Hel", finish="stop")], end=cut)
    assert got[-1].usage == Usage(finish_reason="stop")


async def test_closing_the_deltas_closes_the_chunks_at_once() -> None:
    closed = asyncio.Event()

    async def endless() -> AsyncGenerator[dict[str, Any], None]:
        try:
            while True:
                yield text_chunk("x")
        finally:
            closed.set()

    stream = chunk_deltas(endless(), "engine")
    assert (await stream.__anext__()).text == "x"
    await stream.aclose()
    assert closed.is_set()


def test_a_whole_reply_reads_as_one_chunk() -> None:
    reply = {
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"content": "Hi!"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2},
    }
    folder = ChunkFolder("server")
    assert folder.feed(reply_as_chunk(reply)) == "Hi!"
    assert folder.final_usage() == Usage(9, 2, finish_reason="stop")
    assert reply_as_chunk({"choices": "odd"}) == {"choices": "odd"}  # left for the folder


def test_retry_wait() -> None:
    assert retry_wait(BackendError("rate_limited", "busy", 0.5)) == 0.5
    assert retry_wait(BackendError("rate_limited", "busy")) == 1.0
    assert retry_wait(BackendError("rate_limited", "busy", MAX_RETRY_WAIT_S + 1)) is None
    assert retry_wait(BackendError("server_error", "boom", 0.1)) is None


# --------------------------------------------------------------------------- ChatBackend


class Transport:
    """Hands out canned chunk lists (or raises canned errors), one per call; records
    each call's body and session key."""

    where = "canned"

    def __init__(self, *replies: list[dict[str, Any]] | BackendError) -> None:
        self.replies = list(replies)
        self.calls: list[tuple[dict[str, Any], str | None]] = []

    async def open_stream(
        self, body: dict[str, Any], session_key: str | None
    ) -> AsyncGenerator[dict[str, Any], None]:
        self.calls.append((dict(body), session_key))
        reply = self.replies.pop(0)
        if isinstance(reply, BackendError):
            raise reply
        for chunk in reply:
            yield chunk


class Chat(ChatBackend):
    def __init__(self, transport: Transport, slots: int = 1) -> None:
        super().__init__(transport)
        self.slot_map = SlotMap(slots) if slots > 1 else None
        self.usages: list[Usage] = []

    def _body(self, request: Request) -> dict[str, Any]:
        body: dict[str, Any] = {"messages": request.messages, "max_tokens": request.max_tokens}
        if request.stop:
            body["stop"] = request.stop
        return {**body, **request.extra, "stream": True}

    def _saw_usage(self, usage: Usage) -> None:
        self.usages.append(usage)


OK = [text_chunk("ok", finish="stop"), {"choices": [], "usage": {"prompt_tokens": 4}}]
USER = [{"role": "user", "content": "hi"}]


async def test_stream_pins_the_session_slot_and_reports_usage() -> None:
    transport = Transport(OK, OK)
    chat = Chat(transport, slots=2)
    text, usage = await chat.complete(Request(USER, session_key="a"))
    assert (text, usage.prompt_tokens, usage.finish_reason) == ("ok", 4, "stop")
    await chat.complete(Request(USER, session_key="b"))
    assert [(body.get("id_slot"), key) for body, key in transport.calls] == [(0, "a"), (1, "b")]
    assert chat.usages == [usage, chat.usages[1]] and len(chat.usages) == 2
    assert chat.slot_map is not None and not chat.slot_map.busy(0)


async def test_a_rate_limited_call_is_tried_once_more() -> None:
    busy = BackendError("rate_limited", "busy", 0.01)
    transport = Transport(busy, OK)
    assert (await Chat(transport).complete(Request(USER)))[0] == "ok"
    assert len(transport.calls) == 2
    transport = Transport(busy, busy)
    with pytest.raises(BackendError) as err:
        await Chat(transport).complete(Request(USER))
    assert err.value.code == "rate_limited" and len(transport.calls) == 2
    with pytest.raises(BackendError):  # other errors are not retried
        await Chat(Transport(BackendError("server_error", "boom"), OK)).complete(Request(USER))


async def test_prewarm_sends_the_body_without_stop_and_with_its_max_tokens() -> None:
    transport = Transport(OK)
    chat = Chat(transport, slots=2)
    usage = await chat.prewarm(Request(USER, max_tokens=50, stop=["\n"], session_key="k"))
    assert usage is not None and usage.prompt_tokens == 4
    ((body, key),) = transport.calls
    assert body["max_tokens"] == 0 and "stop" not in body
    assert (body["id_slot"], key) == (0, "k")
