"""The live protocol with the real smollm2-135m model through the ASGI test client:
typing with edits, commit, multi-turn, cancel, two sessions at once, disconnect, the SSE
route, the OpenAI-compatible endpoint, health and metrics."""

from __future__ import annotations

import json
import re
import threading
import time

import pytest
from fastapi.testclient import TestClient

from livemind.config import SessionConfig
from livemind.server.app import create_app
from livemind.server.guard import SitePolicy
from livemind.server.metrics import CONTENT_TYPE_LATEST

pytestmark = pytest.mark.model

QUESTION = "Tom has three apples. He buys four more apples. How many apples does Tom have now?"

TEST_SITE = SitePolicy.for_bind("127.0.0.1", allow_hosts=["testserver"])


@pytest.fixture
def client(llama_backend):
    defaults = SessionConfig(min_len=3, inference_max_tokens=12, answer_max_tokens=24)
    with TestClient(create_app(llama_backend, defaults=defaults, site=TEST_SITE)) as c:
        yield c


def until(ws, kind: str, limit: int = 2000) -> list[dict]:
    seen = []
    for _ in range(limit):
        event = ws.receive_json()
        seen.append(event)
        if event["type"] == kind:
            return seen
    raise AssertionError(f"no {kind} among {[e['type'] for e in seen][-20:]}")


def type_into(ws, text: str, rev: int = 0) -> int:
    for i in range(1, len(text) + 1):
        rev += 1
        ws.send_json({"type": "input_text.set", "text": text[:i], "rev": rev})
    return rev


def wait_for(predicate, timeout: float = 20.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_typing_with_edits_commit_and_multi_turn(client) -> None:
    with client.websocket_connect("/v1/live") as ws:
        created = ws.receive_json()
        sid = created["session_id"]
        assert created["type"] == "session.created" and created["model"]
        rev = type_into(ws, QUESTION)
        edited = QUESTION.replace("three", "five")  # an edit far before the cursor
        ws.send_json({"type": "input_text.set", "text": edited, "rev": rev + 1})
        ws.send_json({"type": "input_text.commit"})
        events = until(ws, "response.done")
        kinds = [e["type"] for e in events]
        for kind in ("segment.committed", "inference.started", "memory.invalidated"):
            assert kind in kinds
        assert all(e["session_id"] == sid for e in events)
        ids = [e["event_id"] for e in events]
        assert ids == sorted(ids)
        stable = [e["text"] for e in events if e["type"] == "segment.committed"]
        assert any("five" in t for t in stable)  # the edited text was re-read
        done = events[-1]
        assert done["text"].strip() and done["timings"]["latency_s"] >= done["timings"]["ttft_s"]
        assert done["usage"]["prompt_tokens"] > 0

        type_into(ws, "And if he eats two of them?", rev + 1)
        ws.send_json({"type": "input_text.commit"})
        assert until(ws, "response.done")[-1]["text"].strip()
        session = client.app.state.hub.connections[sid].session
        roles = [m["role"] for m in session.history]
        assert roles == ["user", "assistant"] * (len(roles) // 2) and len(roles) >= 4
        users = [m["content"] for m in session.history if m["role"] == "user"]
        assert "five" in users[0] and "two of them" in users[-1]


def test_cancel_an_answer(client) -> None:
    with client.websocket_connect("/v1/live") as ws:
        ws.receive_json()
        ws.send_json({"type": "session.update", "session": {"answer_max_tokens": 400}})
        assert until(ws, "session.updated")[-1]["session"]["answer_max_tokens"] == 400
        ws.send_json({"type": "input_text.set", "text": "Write a very long story about a dragon."})
        ws.send_json({"type": "input_text.commit"})
        until(ws, "response.output_text.delta")
        ws.send_json({"type": "response.cancel"})
        events = until(ws, "response.cancelled")
        assert "response.done" not in [e["type"] for e in events]
        ws.send_json({"type": "session.update", "session": {"answer_max_tokens": 16}})
        ws.send_json({"type": "input_text.set", "text": "Say hello.", "rev": 1})
        ws.send_json({"type": "input_text.commit"})
        assert until(ws, "response.done")[-1]["text"].strip()  # still usable


def test_two_sessions_at_once_without_cross_talk(client) -> None:
    texts = {
        "a": "Anna owns two red bikes. She paints one of them blue. What colours are they?",
        "b": "Berlin is a big city. Paris is another. Which one is the capital of France?",
    }
    results: dict[str, list[dict]] = {}

    def run(name: str) -> None:
        with client.websocket_connect("/v1/live") as ws:
            sid = ws.receive_json()["session_id"]
            type_into(ws, texts[name])
            ws.send_json({"type": "input_text.commit"})
            results[name] = [{"sid": sid}, *until(ws, "response.done")]

    threads = [threading.Thread(target=run, args=(n,)) for n in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert set(results) == {"a", "b"}
    for name, events in results.items():
        sid = events[0]["sid"]
        other = texts["b" if name == "a" else "a"]
        assert all(e["session_id"] == sid for e in events[1:])
        for e in events[1:]:
            if e["type"] == "segment.committed":
                assert e["text"].strip() in texts[name] and e["text"].strip() not in other
        assert events[-1]["text"].strip()
    assert results["a"][0]["sid"] != results["b"][0]["sid"]


def test_disconnect_cancels_calls_and_frees_the_session(client) -> None:
    hub = client.app.state.hub
    with client.websocket_connect("/v1/live") as ws:
        ws.receive_json()
        ws.send_json({"type": "session.update", "session": {"answer_max_tokens": 400}})
        ws.send_json({"type": "input_text.set", "text": "Write a very long story about a cat."})
        ws.send_json({"type": "input_text.commit"})
        until(ws, "response.output_text.delta")
        assert hub.metrics.value("livemind_calls_in_flight") >= 1
    assert wait_for(
        lambda: not hub.connections and hub.metrics.value("livemind_calls_in_flight") == 0
    )


def test_sse_route(client) -> None:
    sid = client.post("/v1/sessions").json()["session_id"]
    events = [{"type": "input_text.set", "text": QUESTION[:i], "rev": i} for i in range(1, 60, 7)]
    events += [
        {"type": "input_text.set", "text": QUESTION, "rev": 100},
        {"type": "input_text.commit"},
    ]
    resp = client.post(f"/v1/sessions/{sid}/events", json=events)
    assert resp.status_code == 202 and resp.json()["accepted"] == len(events)
    json_type = {"Content-Type": "application/json"}
    bad = client.post(f"/v1/sessions/{sid}/events", content=b"{not json", headers=json_type)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
    seen = []
    with client.stream("GET", f"/v1/sessions/{sid}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data: "):
                event = json.loads(line[6:])
                seen.append(event)
                if event["type"] == "response.done":
                    break
    kinds = [e["type"] for e in seen]
    assert kinds[0] == "session.created" and "segment.committed" in kinds
    assert seen[-1]["text"].strip()
    assert client.delete(f"/v1/sessions/{sid}").status_code in (200, 404)
    assert (
        client.post("/v1/sessions/nope/events", json={"type": "session.reset"}).status_code == 404
    )


def test_openai_compatible_endpoint(client) -> None:
    body = {"messages": [{"role": "user", "content": "Say hi."}], "max_tokens": 8}
    resp = client.post("/v1/chat/completions", json=body)
    data = resp.json()
    assert resp.status_code == 200 and data["object"] == "chat.completion"
    assert data["choices"][0]["message"]["content"] and data["usage"]["prompt_tokens"] > 0
    chunks = []
    with client.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as s:
        for line in s.iter_lines():
            if line.startswith("data: "):
                chunks.append(line[6:])
    assert chunks[-1] == "[DONE]"
    text = "".join(json.loads(c)["choices"][0]["delta"].get("content", "") for c in chunks[:-1])
    assert text.strip()
    bad = client.post("/v1/chat/completions", json={"messages": []})
    assert bad.status_code == 400


def test_health_and_metrics(client) -> None:
    with client.websocket_connect("/v1/live") as ws:
        ws.receive_json()
        assert client.get("/health").json()["sessions"] == 1
        ws.send_json({"type": "input_text.set", "text": "What is 2 + 2?"})
        ws.send_json({"type": "input_text.commit"})
        until(ws, "response.done")
    resp = client.get("/metrics")
    assert resp.headers["content-type"] == CONTENT_TYPE_LATEST
    found = dict(
        (m.group(1), float(m.group(2)))
        for m in re.finditer(r"^(\w+(?:\{.*\})?) (\S+)$", resp.text, re.M)
    )
    assert found["livemind_answers_total"] == 1
    assert found['livemind_answer_latency_seconds_bucket{le="+Inf"}'] == 1
    assert found["livemind_prompt_tokens_evaluated_total"] > 0
    assert found["livemind_sessions_total"] == 1 and found["livemind_sessions_active"] == 0
    assert found["livemind_calls_total"] >= 1 and found["livemind_event_loop_tasks"] >= 1
    assert found["process_resident_memory_bytes"] > 2**20  # the process collector


def test_each_app_keeps_its_own_metrics(llama_backend) -> None:
    first, second = (create_app(llama_backend, site=TEST_SITE) for _ in range(2))
    first.state.hub.metrics.error("unauthorized")
    assert first.state.hub.metrics.value("livemind_errors_total", code="unauthorized") == 1
    assert second.state.hub.metrics.value("livemind_errors_total", code="unauthorized") is None
