"""The OpenAI-compatible HTTP backend.

Real-model tests talk to llama.cpp's own HTTP server (the embedded engine's
``base_url``); header / error-shape tests use a tiny canned server on 127.0.0.1; the
usage parser is unit-tested without any server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from livemind.backends._usage import choice_parts, error_from_json, parse_usage
from livemind.backends.base import BackendError, Request, Stage, Usage
from livemind.backends.openai_http import OpenAIBackend, split_base_url
from livemind.backends.transport_http import request_id
from livemind.calls import CallRecord


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


# --------------------------------------------------------------------------- usage parser


def test_parse_usage_llama_cpp_shape() -> None:
    chunk = {
        "choices": [],
        "usage": {
            "completion_tokens": 8,
            "prompt_tokens": 35,
            "total_tokens": 43,
            "prompt_tokens_details": {"cached_tokens": 34},
        },
        "timings": {"cache_n": 34, "prompt_n": 1, "prompt_ms": 6.0, "predicted_n": 8},
    }
    assert parse_usage(chunk, "stop") == Usage(35, 8, 34, 1, "stop")


def test_parse_usage_reads_speculative_draft_counts() -> None:
    timings = {"cache_n": 30, "prompt_n": 5, "predicted_n": 40}
    plain = parse_usage({"timings": timings})
    assert (plain.draft_tokens, plain.draft_accepted) == (None, None)
    spec = parse_usage({"timings": {**timings, "draft_n": 24, "draft_n_accepted": 9}})
    assert (spec.draft_tokens, spec.draft_accepted) == (24, 9)
    record = CallRecord(Stage.OUTPUT, "m")
    record.add_usage(spec)
    assert record.extra == {"draft_tokens": 24, "draft_accepted": 9}
    record = CallRecord(Stage.OUTPUT, "m")
    record.add_usage(plain)
    assert record.extra == {}


def test_parse_usage_openai_shape_without_timings() -> None:
    u = parse_usage({"usage": {"prompt_tokens": 100, "completion_tokens": 5}})
    assert u == Usage(100, 5, None, None, None)
    u = parse_usage(
        {
            "usage": {
                "prompt_tokens": 100,
                "completion_tokens": 5,
                "prompt_tokens_details": {"cached_tokens": 64},
            }
        }
    )
    assert u == Usage(100, 5, 64, 36, None)
    # vLLM sends "prompt_tokens_details": null when details are disabled
    u = parse_usage(
        {"usage": {"prompt_tokens": 7, "completion_tokens": 1, "prompt_tokens_details": None}}
    )
    assert u == Usage(7, 1, None, None, None)


def test_parse_usage_timings_only_and_missing() -> None:
    assert parse_usage({"timings": {"cache_n": 10, "prompt_n": 5, "predicted_n": 3}}) == Usage(
        15, 3, 10, 5, None
    )
    assert parse_usage({"choices": [{"delta": {"content": "x"}}]}) is None
    assert parse_usage({"usage": None}) is None


def test_error_mapping() -> None:
    llama = {
        "error": {
            "code": 400,
            "message": "request (5000 tokens) exceeds the available context size (2048 tokens)",
            "type": "exceed_context_size_error",
            "n_prompt_tokens": 5000,
            "n_ctx": 2048,
        }
    }
    err = error_from_json(llama, status=400, overflow_limit="per slot (n_ctx=4096, n_parallel=2)")
    assert err.code == "context_overflow"
    assert err.message.startswith(
        "prompt is 5000 tokens but the context holds 2048 tokens per slot "
        "(n_ctx=4096, n_parallel=2)"
    )
    openai = {
        "error": {
            "message": "This model's maximum context length is 4096 tokens. However, you "
            "requested 5000 tokens.",
            "type": "invalid_request_error",
            "code": "context_length_exceeded",
        }
    }
    err = error_from_json(openai, status=400)
    assert err.code == "context_overflow" and "4096" in err.message
    vllm = {"object": "error", "message": "maximum context length is 2048 tokens", "code": 400}
    assert error_from_json(vllm, status=400).code == "context_overflow"

    err = error_from_json(
        {"error": {"message": "bad field", "type": "invalid_request_error"}}, status=422
    )
    assert err.code == "bad_request" and "bad field" in err.message
    assert error_from_json({"detail": "Not Found"}, status=404).code == "bad_request"
    err = error_from_json("upstream exploded", status=502)
    assert err.code == "server_error" and "upstream exploded" in err.message
    assert error_from_json({"error": {"code": 500, "message": "boom"}}).code == "server_error"


def test_split_base_url() -> None:
    assert split_base_url("http://h:8080/v1") == ("http://h:8080/v1", "http://h:8080")
    assert split_base_url("http://h:8080/v1/") == ("http://h:8080/v1", "http://h:8080")
    assert split_base_url("http://h:8080") == ("http://h:8080/v1", "http://h:8080")
    assert split_base_url("https://x.ai/openai/v1") == (
        "https://x.ai/openai/v1",
        "https://x.ai/openai",
    )
    with pytest.raises(ValueError):
        split_base_url(" ")
    with pytest.raises(ValueError):
        OpenAIBackend("http://h", prewarm_mode="magic")


# --------------------------------------------------------------------------- canned server


class Canned:
    """What the canned server does next, and what it saw."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.owner: str | None = None  # the models list's owned_by, when set
        self.requests: list[dict[str, Any]] = []


def _sse(*chunks: dict[str, Any], done: bool = True) -> bytes:
    out = b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)
    return out + (b"data: [DONE]\n\n" if done else b"")


OVERFLOW = "the request exceeds the available context size, try increasing it"
SEPARATED = ["one\u2028two", " three\u0085four", "\u2029five"]

MALFORMED: dict[str, Any] = {
    "null_choice": [None],
    "delta_list": [{"index": 0, "delta": ["Hel"]}],
    "content_number": [{"index": 0, "delta": {"content": 7}}],
}


def _handler(state: Canned) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _record(self, body: Any = None) -> None:
            state.requests.append(
                {
                    "method": self.command,
                    "path": self.path,
                    "headers": dict(self.headers),
                    "body": body,
                }
            )

        def do_GET(self) -> None:  # noqa: N802
            self._record()
            if self.path == "/v1/models":
                model = {"id": "canned-model"}
                if state.owner:
                    model["owned_by"] = state.owner
                self._send(200, json.dumps({"object": "list", "data": [model]}).encode())
            else:
                self._send(404, b'{"detail": "Not Found"}')

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            self._record(body)
            if self.path != "/v1/chat/completions":
                self._send(404, b'{"detail": "Not Found"}')
                return
            mode = state.mode
            if mode in ("busy_once", "busy_long"):
                wait = "0.2" if mode == "busy_once" else "60"
                state.mode = "ok" if mode == "busy_once" else mode
                body = b'{"error": {"message": "too many requests", "type": "rate_limit"}}'
                self.send_response(429)
                self.send_header("Retry-After", wait)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif mode == "error500":
                self._send(500, b'{"error": {"message": "model crashed", "type": "server_error"}}')
            elif mode == "overflow":
                self._send(
                    400,
                    json.dumps(
                        {
                            "error": {
                                "message": "This model's maximum context length is 4096 tokens.",
                                "type": "invalid_request_error",
                                "code": "context_length_exceeded",
                            }
                        }
                    ).encode(),
                )
            elif mode == "plaintext502":
                self._send(502, b"Bad Gateway", "text/plain")
            elif mode == "broken":
                # promise more bytes than we send, then hang up mid-stream
                first = _sse({"choices": [{"index": 0, "delta": {"content": "Hel"}}]}, done=False)
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self.wfile.write(first)
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
            elif mode == "truncated":  # a clean end of body, but no finish / usage / [DONE]
                data = _sse({"choices": [{"index": 0, "delta": {"content": "Hel"}}]}, done=False)
                self._send(200, data, "text/event-stream")
            elif mode == "midstream_error":
                data = _sse(
                    {"choices": [{"index": 0, "delta": {"content": "Hel"}}]},
                    {"error": {"code": 500, "message": "slot crashed", "type": "server_error"}},
                    done=False,
                )
                self._send(200, data, "text/event-stream")
            elif mode == "slow":  # a token every 0.1 s, for a long time
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                self.close_connection = True
                chunk = {"choices": [{"index": 0, "delta": {"content": "x"}}]}
                with contextlib.suppress(OSError):  # the client gives up first
                    for _ in range(50):
                        self.wfile.write(_sse(chunk, done=False))
                        self.wfile.flush()
                        time.sleep(0.1)
            elif mode in MALFORMED:  # garbage where a choice should be
                data = _sse({"choices": MALFORMED[mode]}, done=False)
                self._send(200, data, "text/event-stream")
            elif mode == "legacy_error":  # llama-server before Sept. 2025: an `error:` field
                err = {"code": 400, "message": OVERFLOW, "type": "exceed_context_size_error"}
                data = b"error: " + json.dumps(err).encode() + b"\n\ndata: [DONE]\n\n"
                self._send(200, data, "text/event-stream")
            elif mode == "named_error":  # an SSE event named "error"
                err = {"error": {"code": 500, "message": "quota gone", "type": "server_error"}}
                data = b"event: error\ndata: " + json.dumps(err).encode() + b"\n\n"
                self._send(200, data, "text/event-stream")
            elif mode == "separators":  # raw U+2028 / U+0085 in tokens, CRLF, ping, ids
                parts = [{"choices": [{"index": 0, "delta": {"content": c}}]} for c in SEPARATED]
                parts.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                data = b": ping\r\n\r\n" + b"".join(
                    b"id: %d\r\ndata: %s\r\n\r\n" % (k, json.dumps(p, ensure_ascii=False).encode())
                    for k, p in enumerate(parts)
                )
                self._send(200, data + b"data: [DONE]\r\n\r\n", "text/event-stream; charset=utf-8")
            elif mode == "json":  # a server that ignores "stream"
                reply = {
                    "choices": [
                        {"index": 0, "message": {"content": "Hi!"}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 9, "completion_tokens": 2},
                }
                self._send(200, json.dumps(reply).encode())
            else:
                data = _sse(
                    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}]},
                    {"choices": [{"index": 0, "delta": {"content": "Hello"}}]},
                    {
                        "choices": [
                            {"index": 0, "delta": {"content": " world"}, "finish_reason": "stop"}
                        ]
                    },
                    {
                        "choices": [],
                        "usage": {
                            "prompt_tokens": 12,
                            "completion_tokens": 2,
                            "prompt_tokens_details": {"cached_tokens": 8},
                        },
                    },
                )
                self._send(200, data, "text/event-stream")

    return Handler


@pytest.fixture
def canned() -> Iterator[tuple[str, Canned]]:
    state = Canned()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
async def canned_backend(canned: tuple[str, Canned]) -> AsyncIterator[tuple[OpenAIBackend, Canned]]:
    url, state = canned
    backend = OpenAIBackend(url, api_key="sk-test", extra_body={"top_k": 7})
    yield backend, state
    await backend.aclose()


async def test_headers_body_and_model_lookup(canned_backend: tuple[OpenAIBackend, Canned]) -> None:
    backend, state = canned_backend
    req = Request(user("hi"), max_tokens=9, stop=["\n"], session_key="sess-42", extra={"seed": 3})
    text, usage = await backend.complete(req)
    assert text == "Hello world"
    assert usage == Usage(12, 2, 8, 4, "stop")
    assert backend.model == "canned-model"

    models, chat = state.requests
    assert (models["method"], models["path"]) == ("GET", "/v1/models")
    assert (chat["method"], chat["path"]) == ("POST", "/v1/chat/completions")
    headers = {k.lower(): v for k, v in chat["headers"].items()}
    assert headers["x-session-id"] == "sess-42"
    assert headers["authorization"] == "Bearer sk-test"
    body = chat["body"]
    assert body["model"] == "canned-model"
    assert body["messages"] == req.messages
    assert body["max_tokens"] == 9 and body["stop"] == ["\n"] and body["temperature"] == 0.0
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["top_k"] == 7 and body["seed"] == 3
    assert "cache_prompt" not in body  # not a llama.cpp server: no llama-only fields
    assert "priority" not in body  # only when asked for: vLLM refuses it otherwise

    # the model is looked up once; no session key -> no affinity header
    await backend.complete(Request(user("again")))
    assert [r["path"] for r in state.requests].count("/v1/models") == 1
    headers = {k.lower(): v for k, v in state.requests[-1]["headers"].items()}
    assert "x-session-id" not in headers
    # every call names itself: the session key (or "lm"), the transport's tag, a count
    first = {k.lower(): v for k, v in chat["headers"].items()}["x-request-id"]
    key, tag, n = first.rsplit("-", 2)
    assert (key, n) == ("sess-42", "1") and len(tag) == 6
    assert headers["x-request-id"] == f"lm-{tag}-2"


def test_request_id_keeps_header_safe_characters_only() -> None:
    assert request_id("a b/ü\n" + "x" * 80, "t0", 3) == "a_b___" + "x" * 58 + "-t0-3"
    assert request_id(None, "t0", 1) == "lm-t0-1"


async def test_custom_affinity_header_and_explicit_model(canned: tuple[str, Canned]) -> None:
    url, state = canned
    backend = OpenAIBackend(url + "/v1/", model="m1", affinity_header="X-Affinity")
    try:
        await backend.complete(Request(user("hi"), session_key="abc"))
    finally:
        await backend.aclose()
    (chat,) = state.requests  # no /models lookup with an explicit model
    headers = {k.lower(): v for k, v in chat["headers"].items()}
    assert headers["x-affinity"] == "abc"
    assert "authorization" not in headers
    assert chat["body"]["model"] == "m1"


async def test_prewarm_auto_off_on_non_llama_server(
    canned_backend: tuple[OpenAIBackend, Canned],
) -> None:
    backend, state = canned_backend
    assert backend.capabilities.prewarm  # optimistic until probed
    assert await backend.prewarm(Request(user("hi"))) is None
    assert backend.resolved_prewarm_mode == "off"
    assert not backend.capabilities.prewarm
    assert not any(r["method"] == "POST" for r in state.requests)


@pytest.mark.parametrize("owner", ["vllm", "sglang"])
async def test_prewarm_auto_recognises_vllm_and_sglang_by_model_owner(
    canned: tuple[str, Canned], owner: str
) -> None:
    url, state = canned
    state.owner = owner
    backend = OpenAIBackend(url)
    try:
        usage = await backend.prewarm(Request(user("hi")))
        assert backend.resolved_prewarm_mode == owner
        assert usage is not None and state.requests[-1]["body"]["max_tokens"] == 1
    finally:
        await backend.aclose()


async def test_prewarm_vllm_and_sglang_bodies(canned: tuple[str, Canned]) -> None:
    url, state = canned
    for mode, check in (
        ("vllm", lambda b: b["max_tokens"] == 1),
        ("sglang", lambda b: b["max_tokens"] == 1 and "max_new_tokens" not in b),
    ):
        backend = OpenAIBackend(url, model="m", prewarm_mode=mode)
        usage = await backend.prewarm(Request(user("hi"), stop=["x"]))
        await backend.aclose()
        assert usage is not None and usage.prompt_tokens == 12
        body = state.requests[-1]["body"]
        assert check(body), body
        assert "stop" not in body
    off = OpenAIBackend(url, model="m", prewarm_mode="off")
    assert await off.prewarm(Request(user("hi"))) is None
    assert not off.capabilities.prewarm


@pytest.mark.parametrize(
    ("mode", "code", "needle"),
    [
        ("error500", "server_error", "model crashed"),
        ("overflow", "context_overflow", "4096"),
        ("plaintext502", "server_error", "Bad Gateway"),
        ("broken", "server_error", "broke"),
        ("truncated", "server_error", "ended before the reply was complete"),
        ("midstream_error", "server_error", "slot crashed"),
        ("legacy_error", "context_overflow", OVERFLOW),
        ("named_error", "server_error", "quota gone"),
        ("null_choice", "server_error", "malformed reply (a choice is None"),
        ("delta_list", "server_error", "malformed reply ('delta' is ['Hel']"),
        ("content_number", "server_error", "malformed reply (content is 7"),
    ],
)
async def test_error_responses(
    canned_backend: tuple[OpenAIBackend, Canned], mode: str, code: str, needle: str
) -> None:
    backend, state = canned_backend
    state.mode = mode
    with pytest.raises(BackendError) as err:
        await backend.complete(Request(user("hi")))
    assert err.value.code == code
    assert needle in err.value.message
    state.mode = "ok"  # and the backend is still usable
    assert (await backend.complete(Request(user("hi"))))[0] == "Hello world"


async def test_sse_lines_end_only_at_cr_or_lf(canned_backend: tuple[OpenAIBackend, Canned]) -> None:
    backend, state = canned_backend
    state.mode = "separators"
    text, usage = await backend.complete(Request(user("hi")))
    assert text == "".join(SEPARATED)
    assert usage.finish_reason == "stop"


async def test_non_streaming_json_reply(canned_backend: tuple[OpenAIBackend, Canned]) -> None:
    backend, state = canned_backend
    state.mode = "json"
    text, usage = await backend.complete(Request(user("hi")))
    assert text == "Hi!"
    assert usage.prompt_tokens == 9 and usage.finish_reason == "stop"


async def test_rate_limits_are_named_and_a_short_retry_after_is_honoured(
    canned_backend: tuple[OpenAIBackend, Canned],
) -> None:
    backend, state = canned_backend
    state.mode = "busy_once"  # 429, Retry-After: 0.2, then fine
    started = time.monotonic()
    assert (await backend.complete(Request(user("hi"))))[0] == "Hello world"
    assert time.monotonic() - started >= 0.2
    assert sum(r["method"] == "POST" for r in state.requests) == 2
    state.mode = "busy_long"  # Retry-After: 60 is too long to wait for: say so at once
    started = time.monotonic()
    with pytest.raises(BackendError) as err:
        await backend.complete(Request(user("hi")))
    assert time.monotonic() - started < 5
    assert err.value.code == "rate_limited" and err.value.retry_after_s == 60
    assert "HTTP 429" in err.value.message and "60 s" in err.value.message


async def test_a_call_past_its_deadline_is_a_timeout(canned: tuple[str, Canned]) -> None:
    url, state = canned
    state.mode = "slow"
    backend = OpenAIBackend(url, model="m", deadline=0.3, prewarm_mode="off")
    try:
        with pytest.raises(BackendError) as err:
            await backend.complete(Request(user("hi")))
        assert err.value.code == "timeout" and "0.3 s deadline" in err.value.message
    finally:
        await backend.aclose()


async def test_a_prompt_that_is_not_unicode_is_a_clear_error(
    canned_backend: tuple[OpenAIBackend, Canned],
) -> None:
    backend, state = canned_backend
    with pytest.raises(BackendError) as err:
        await backend.complete(Request(user("half a pair: \ud800")))
    assert err.value.code == "bad_request" and "lone surrogate" in err.value.message
    assert (await backend.complete(Request(user("hi"))))[0] == "Hello world"


def test_choice_parts_shapes() -> None:
    assert choice_parts({"choices": []}) == ("", None)
    assert choice_parts({"usage": {}}) == ("", None)
    two = {"choices": [{"delta": {"content": "a"}}, {"delta": {}, "finish_reason": "stop"}]}
    assert choice_parts(two) == ("a", "stop")
    assert choice_parts({"choices": [{"message": {"content": "x"}}]}, "message") == ("x", None)
    for bad in ({"choices": {}}, {"choices": [{"finish_reason": 3}]}):
        with pytest.raises(ValueError):
            choice_parts(bad)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_unreachable() -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    for backend in (OpenAIBackend(url, model="m"), OpenAIBackend(url + "/v1")):
        with pytest.raises(BackendError) as err:
            await backend.complete(Request(user("hi")))
        assert err.value.code == "unreachable"
        assert err.value.message.startswith(f"cannot reach {url}/v1/")
        await backend.aclose()
    backend = OpenAIBackend(url, model="m")
    with pytest.raises(BackendError) as err:
        await backend.prewarm(Request(user("hi")))
    assert err.value.code == "unreachable"
    assert backend.resolved_prewarm_mode == "auto"  # not settled while the server is down
    await backend.aclose()


async def test_read_timeout_is_unreachable() -> None:
    # a listening socket that never answers
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        backend = OpenAIBackend(f"http://127.0.0.1:{srv.getsockname()[1]}", model="m", timeout=0.3)
        started = time.monotonic()
        with pytest.raises(BackendError) as err:
            await backend.complete(Request(user("hi")))
        assert err.value.code == "unreachable"
        assert time.monotonic() - started < 5
        await backend.aclose()


# --------------------------------------------------------------------------- real llama.cpp server


@pytest.fixture
async def http_backend(llama_backend: Any) -> AsyncIterator[OpenAIBackend]:
    backend = OpenAIBackend(llama_backend.base_url, api_key=llama_backend.api_key)
    yield backend
    await backend.aclose()


@pytest.mark.model
async def test_real_stream_and_usage(http_backend: OpenAIBackend) -> None:
    deltas = [
        d
        async for d in http_backend.stream(Request(user("HTTP test: name a color."), max_tokens=8))
    ]
    assert "".join(d.text for d in deltas).strip()
    usage = deltas[-1].usage
    assert usage is not None and all(d.usage is None for d in deltas[:-1])
    assert usage.prompt_tokens > 10 and 0 < usage.completion_tokens <= 8
    assert usage.cached_tokens is not None and usage.evaluated_tokens is not None
    assert http_backend.model == "SmolLM2-135M-Instruct.Q4_1"  # first id of /v1/models


@pytest.mark.model
async def test_real_growing_prompt_hits_cache(http_backend: OpenAIBackend) -> None:
    base = (
        "HTTP growing prompt 5150. The museum opens at nine, and the first thing we want "
        "to see is the room with the old maps of the coast and"
    )
    _, first = await http_backend.complete(Request(user(base), max_tokens=4))
    _, second = await http_backend.complete(
        Request(user(base + " the ships that sailed from the harbour"), max_tokens=4)
    )
    assert second.cached_tokens is not None and second.evaluated_tokens is not None
    assert second.cached_tokens >= first.prompt_tokens - 8
    assert second.evaluated_tokens < second.prompt_tokens
    assert second.evaluated_tokens <= second.prompt_tokens - first.prompt_tokens + 8


@pytest.mark.model
async def test_real_context_overflow_is_mapped(http_backend: OpenAIBackend) -> None:
    with pytest.raises(BackendError) as err:
        await http_backend.complete(Request(user("word " * 2500), max_tokens=4))
    assert err.value.code == "context_overflow"
    assert "the context holds 2048 tokens" in err.value.message
    with pytest.raises(BackendError) as err:
        await http_backend.complete(Request("not a list"))  # type: ignore[arg-type]
    assert err.value.code == "bad_request"
    _, usage = await http_backend.complete(Request(user("still there?"), max_tokens=2))
    assert usage.completion_tokens > 0


@pytest.mark.model
async def test_real_prewarm_auto_detects_llama(http_backend: OpenAIBackend) -> None:
    caps = await http_backend.probe()
    assert http_backend.resolved_prewarm_mode == "llama"
    assert caps.prewarm and caps.cached_tokens and caps.slots == 2
    assert http_backend.context_size == 2048
    text = (
        "HTTP prewarm 6262. On Sundays my uncle repaired old radios in the garage and "
        "let me hold the soldering iron while"
    )
    warm = await http_backend.prewarm(Request(user(text)))
    assert warm is not None and warm.completion_tokens <= 1 and warm.prompt_tokens > 20
    _, usage = await http_backend.complete(
        Request(user(text + " he explained how the valves worked"), max_tokens=4)
    )
    assert usage.cached_tokens is not None
    assert usage.cached_tokens >= warm.prompt_tokens - 8


@pytest.mark.model
async def test_real_early_close_cancels_on_server(
    http_backend: OpenAIBackend, llama_backend: Any
) -> None:
    # ignore_eos + 1500 tokens: ~10 s of generation if the server did not cancel
    req = Request(
        user("HTTP cancel: count from one to two hundred in words."),
        max_tokens=1500,
        extra={"ignore_eos": True},
    )
    got = 0
    async for delta in http_backend.stream(req):
        got += bool(delta.text)
        if got == 2:
            break
    started = time.monotonic()
    slots_url = split_base_url(llama_backend.base_url)[1] + "/slots"
    headers = {"Authorization": f"Bearer {llama_backend.api_key}"}
    async with httpx.AsyncClient(headers=headers) as client:
        while True:
            slots = (await client.get(slots_url)).json()
            if not any(s["is_processing"] for s in slots):
                break
            assert time.monotonic() - started < 6, "server kept generating after close"
            await asyncio.sleep(0.05)
    _, usage = await http_backend.complete(Request(user("Say hi."), max_tokens=4))
    assert usage.completion_tokens > 0
