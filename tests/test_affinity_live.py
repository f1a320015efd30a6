"""Session affinity end to end: ``id_slot`` on the embedded engine and over HTTP.

Real-model tests (marked ``model``) use the shared 2-slot engine: each session's calls
must land on its own slot (seen in ``GET /slots``: the slot whose ``id_task`` moved) and
reuse nearly all of its previous prompt from the cache. The unit tests at the end check
the request shape (affinity header, ``id_slot``) against an ``httpx.MockTransport``.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import httpx
import pytest

from livemind.backends.affinity import SlotMap
from livemind.backends.base import Backend, BackendError, Request, Usage
from livemind.backends.openai_http import OpenAIBackend, split_base_url

WORDS = [
    *("river", "lantern", "copper", "meadow", "violin", "harbor", "pepper", "glacier"),
    *("orchard", "thimble", "canyon", "saddle", "marble", "falcon", "biscuit", "quarry"),
    *("velvet", "compass", "tulip", "anchor"),
]


def story(seed: int, sentences: int) -> str:
    """A long, deterministic user text; different seeds differ from the first word on."""
    out = []
    for i in range(sentences):
        w = [WORDS[(seed * 7 + i * 3 + j) % len(WORDS)] for j in range(6)]
        out.append(f"{w[0].title()} number {seed * 100 + i} met the {w[1]} near the {w[2]}, ")
        out.append(f"then carried a {w[3]} and a {w[4]} past the {w[5]}. ")
    return "".join(out)


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def auth(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def slot_tasks(root_url: str, api_key: str | None) -> dict[int, Any]:
    """``{slot id: id of the last task it ran}`` from llama.cpp's ``GET /slots``."""
    with httpx.Client(headers=auth(api_key)) as client:
        slots = client.get(root_url + "/slots").json()
    return {s["id"]: s.get("id_task") for s in slots}


def moved(before: dict[int, Any], after: dict[int, Any]) -> list[int]:
    return [s for s in after if after[s] != before.get(s)]


async def alternate(
    backend: Backend, slot_map: SlotMap, root: str, prefix: str, seed: int
) -> dict[str, list[Usage]]:
    """Two sessions take turns, three calls each; every prompt extends its previous one."""
    texts = {f"{prefix}a": story(seed, 11), f"{prefix}b": story(seed + 1, 11)}
    usages: dict[str, list[Usage]] = {k: [] for k in texts}
    for turn in range(3):
        for key, text in texts.items():
            grown = text + " ".join(f"Then step {turn}-{i} happened." for i in range(turn * 2))
            before = slot_tasks(root, backend.api_key)
            _, usage = await backend.complete(Request(user(grown), max_tokens=4, session_key=key))
            assert moved(before, slot_tasks(root, backend.api_key)) == [slot_map.slot_of(key)], key
            usages[key].append(usage)
    return usages


def assert_warm(usages: dict[str, list[Usage]]) -> None:
    for key, calls in usages.items():
        assert calls[0].prompt_tokens > 300, key
        for prev, cur in zip(calls, calls[1:], strict=False):
            assert cur.cached_tokens is not None, key
            # the previous prompt minus its closing template tokens is shared
            assert cur.cached_tokens >= 0.9 * prev.prompt_tokens, (key, prev, cur)


# --------------------------------------------------------------------------- embedded engine


@pytest.mark.model
async def test_embedded_sessions_keep_their_slots(llama_backend: Any, monkeypatch) -> None:
    monkeypatch.setattr(llama_backend, "slot_map", SlotMap(2))
    await llama_backend.reset_cache()
    root = split_base_url(llama_backend.base_url)[1]
    usages = await alternate(llama_backend, llama_backend.slot_map, root, "emb-", 1)
    assert [llama_backend.slot_map.slot_of(k) for k in usages] == [0, 1]
    assert_warm(usages)
    assert not any(llama_backend.slot_map.busy(s) for s in range(2))


@pytest.mark.model
async def test_embedded_rewritten_prompt_stays_on_its_own_slot(
    llama_backend: Any, monkeypatch
) -> None:
    # Without affinity llama.cpp sends a prompt that shares nothing with any slot to the
    # least recently used slot: here that is b's, so b would lose its prefix (measured
    # with the host prompt cache off: b's last call then had 24 cached tokens, not 322).
    slot_map = SlotMap(2)
    monkeypatch.setattr(llama_backend, "slot_map", slot_map)
    await llama_backend.reset_cache()
    root = split_base_url(llama_backend.base_url)[1]
    a, b = story(40, 11), story(41, 11)
    plan = [("a", a), ("b", b), ("a", a + " More."), ("a", story(42, 11)), ("b", b + " More.")]
    usages = []
    for key, text in plan:
        before = slot_tasks(root, llama_backend.api_key)
        _, usage = await llama_backend.complete(Request(user(text), 4, session_key=key))
        assert moved(before, slot_tasks(root, llama_backend.api_key)) == [slot_map.slot_of(key)], (
            key
        )
        usages.append(usage)
    assert (slot_map.slot_of("a"), slot_map.slot_of("b")) == (0, 1)
    assert usages[4].cached_tokens is not None
    assert usages[4].cached_tokens >= 0.9 * usages[1].prompt_tokens


@pytest.mark.model
async def test_embedded_three_sessions_on_two_slots(llama_backend: Any, monkeypatch) -> None:
    slot_map = SlotMap(2)
    monkeypatch.setattr(llama_backend, "slot_map", slot_map)
    await llama_backend.reset_cache()
    keys = ["x", "y", "z"]
    for turn in range(2):
        for i, key in enumerate(keys):
            text = story(10 + i, 1) + f" Turn {turn}."
            _, usage = await llama_backend.complete(
                Request(user(text), max_tokens=4, session_key=key)
            )
            assert usage.completion_tokens > 0
    assert [slot_map.slot_of(k) for k in keys] == [0, 1, 0]
    # all three at once: "z" shares slot 0 with "x" and no slot is idle, so it waits
    results = await asyncio.gather(
        *(
            llama_backend.complete(Request(user(story(20 + i, 1)), max_tokens=4, session_key=k))
            for i, k in enumerate(keys)
        )
    )
    assert all(u.completion_tokens > 0 for _, u in results)
    assert not any(slot_map.busy(s) for s in range(2))
    # a failing call releases its slot too
    with pytest.raises(BackendError):
        await llama_backend.complete(Request(user("word " * 2500), 4, session_key="x"))
    assert not any(slot_map.busy(s) for s in range(2))


@pytest.mark.model
async def test_embedded_busy_slot_falls_back_instead_of_waiting(
    llama_backend: Any, monkeypatch
) -> None:
    slot_map = SlotMap(2)
    monkeypatch.setattr(llama_backend, "slot_map", slot_map)
    root = split_base_url(llama_backend.base_url)[1]
    for key in ("slow", "other", "fast"):  # pins: slow -> 0, other -> 1, fast -> 0
        slot_map.release(key, slot_map.acquire(key))
    long_call = Request(
        user("Count slowly from one to three hundred."),
        max_tokens=400,
        session_key="slow",
        extra={"ignore_eos": True},
    )
    stream = llama_backend.stream(long_call)
    try:
        assert (await stream.__anext__()).text  # "slow" now generates on slot 0
        assert slot_map.busy(0)
        before = slot_tasks(root, llama_backend.api_key)
        _, usage = await llama_backend.complete(
            Request(user("Say hi."), max_tokens=2, session_key="fast")
        )
        assert usage.completion_tokens > 0
        assert moved(before, slot_tasks(root, llama_backend.api_key)) == [
            1
        ]  # the engine put it on the idle slot
        with httpx.Client() as client:  # ...while "slow" was still generating
            assert client.get(root + "/slots", headers=auth(llama_backend.api_key)).json()[0][
                "is_processing"
            ]
        assert slot_map.slot_of("fast") == 0  # the pin did not move
    finally:
        await stream.aclose()
    assert not slot_map.busy(0)


# --------------------------------------------------------------------------- over HTTP


@pytest.mark.model
async def test_http_sessions_keep_their_slots(llama_backend: Any) -> None:
    await llama_backend.reset_cache()
    backend = OpenAIBackend(llama_backend.base_url, api_key=llama_backend.api_key)
    try:
        caps = await backend.probe()
        assert caps.slots == 2 and backend.slot_map is not None
        usages = await alternate(backend, backend.slot_map, backend.root_url, "http-", 3)
        assert sorted(backend.slot_map.slot_of(k) for k in usages) == [0, 1]
        assert_warm(usages)
    finally:
        await backend.aclose()


@pytest.mark.model
async def test_http_three_sessions_on_two_slots(llama_backend: Any) -> None:
    backend = OpenAIBackend(llama_backend.base_url, api_key=llama_backend.api_key)
    try:
        await backend.probe()

        def ask(i: int, key: str, turn: int) -> Request:
            return Request(user(story(30 + i, 1) + f" Turn {turn}."), 4, session_key=key)

        for i, key in enumerate("pqr"):  # one at a time: pins p -> 0, q -> 1, r -> 0
            _, usage = await backend.complete(ask(i, key, 0))
            assert usage.completion_tokens > 0
        assert backend.slot_map is not None
        assert [backend.slot_map.slot_of(k) for k in "pqr"] == [0, 1, 0]
        # then all at once: every call still gets through (r waits for, or skips, slot 0)
        results = await asyncio.gather(
            *(backend.complete(ask(i, k, 1)) for i, k in enumerate("pqr"))
        )
        assert all(u.completion_tokens > 0 for _, u in results)
        assert [backend.slot_map.slot_of(k) for k in "pqr"] == [0, 1, 0]
        assert not any(backend.slot_map.busy(s) for s in range(2))
    finally:
        await backend.aclose()


# --------------------------------------------------------------------------- unit: request shape


def _sse(*chunks: dict[str, Any]) -> bytes:
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + (
        b"data: [DONE]\n\n"
    )


@pytest.fixture
def mock_server(monkeypatch) -> tuple[list[httpx.Request], dict[str, Any]]:
    """Every ``httpx.AsyncClient`` talks to an in-memory server; returns (requests, props)."""
    seen: list[httpx.Request] = []
    props: dict[str, Any] = {}

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/props":
            return httpx.Response(200, json=props) if props else httpx.Response(404)
        if request.url.path == "/v1/chat/completions":
            body = _sse(
                {"choices": [{"index": 0, "delta": {"content": "ok"}, "finish_reason": "stop"}]},
                {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 1}},
            )
            return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})
        return httpx.Response(404, json={"detail": "Not Found"})

    client = functools.partial(httpx.AsyncClient, transport=httpx.MockTransport(handle))
    monkeypatch.setattr(httpx, "AsyncClient", client)
    return seen, props


def _chat(seen: list[httpx.Request]) -> list[tuple[str | None, dict[str, Any]]]:
    """(affinity header, body) of every chat request, in order."""
    return [
        (r.headers.get("x-session-id"), json.loads(r.content))
        for r in seen
        if r.url.path.endswith("/chat/completions")
    ]


async def test_unit_affinity_header_sent_without_id_slot_on_other_servers(mock_server) -> None:
    seen, _ = mock_server
    backend = OpenAIBackend("http://router.test", model="m")
    await backend.complete(Request(user("hi"), session_key="conv-1"))
    await backend.probe()  # /props and /slots answer 404: not llama.cpp
    await backend.complete(Request(user("hi"), session_key="conv-1"))
    await backend.complete(Request(user("hi")))
    await backend.aclose()
    assert backend.slot_map is None
    assert [(h, "id_slot" in b) for h, b in _chat(seen)] == [
        ("conv-1", False),
        ("conv-1", False),
        (None, False),
    ]


async def test_unit_id_slot_and_header_on_multi_slot_llama_server(mock_server) -> None:
    seen, props = mock_server
    props.update({"default_generation_settings": {"n_ctx": 2048}, "total_slots": 2})
    backend = OpenAIBackend("http://llama.test/v1", model="m")
    await backend.complete(Request(user("hi"), session_key="a"))  # not probed yet
    assert (await backend.probe()).slots == 2
    for key in ("a", "b", "a", None):
        await backend.complete(Request(user("hi"), session_key=key))
    await backend.complete(Request(user("hi"), session_key="b", extra={"id_slot": 0}))
    await backend.prewarm(Request(user("hi"), session_key="b"))
    backend.slot_affinity = False
    await backend.complete(Request(user("hi"), session_key="b"))
    await backend.aclose()
    got = [(h, b.get("id_slot")) for h, b in _chat(seen)]
    assert got == [
        ("a", None),
        ("a", 0),
        ("b", 1),
        ("a", 0),
        (None, None),
        ("b", 0),  # explicit id_slot wins
        ("b", 1),  # prewarm is pinned too
        ("b", None),  # slot_affinity off: the header stays
    ]
    assert _chat(seen)[6][1]["max_tokens"] == 0  # the prewarm body, llama mode
