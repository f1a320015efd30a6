"""The playground on a busy server, in a real browser: while a person types, other users'
answers (OpenAI-compatible requests on the same smollm2-135m engine) go first; the
page marks the notes put behind them, in the side panel and on the timeline, and the
person's own answer still arrives. The screenshot goes to
``test-artifacts/playground-deferred.png``."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path

import pytest

from browser_support import playground_page

pytestmark = pytest.mark.model

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TEXT = (
    "Ada keeps bees on a hill. Each hive gives her nine jars of honey. She has seven "
    "hives. Her brother sells the jars at the market. He keeps one jar of every ten. "
    "How many jars does he keep?"
)


def other_users(url: str, stop: threading.Event) -> None:
    """Short answers, one after another, until ``stop``: what keeps the engine busy."""
    body = {"messages": [{"role": "user", "content": "Name a colour."}], "max_tokens": 8}
    while not stop.is_set():
        request = urllib.request.Request(
            url + "/v1/chat/completions",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as resp:
            resp.read()


def test_notes_deferred_for_other_users_answers_are_shown(chromium: str, serve) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    stop = threading.Event()
    with (
        serve("--min-len", "3", "--max-tokens", "24") as url,
        playground_page(chromium, url) as page,
    ):
        busy = threading.Thread(target=other_users, args=(url, stop), daemon=True)
        busy.start()
        try:
            page.click("#input")
            page.keyboard.type(TEXT, delay=40)
            page.wait_for_selector("#inferences li.deferred", timeout=60_000)
        finally:
            stop.set()
            busy.join(timeout=60)
        note = page.locator("#inferences li.deferred .note").first.inner_text()
        assert "another user's answer" in note or "busy" in note
        page.keyboard.press("Enter")
        page.wait_for_selector(".answer.main .meta.latency", timeout=120_000)
        assert page.inner_text(".answer.main .text").strip()
        page.wait_for_timeout(300)  # a last frame of the timeline
        assert page.locator("#timeline rect.tl-call.deferred").count() >= 1
        assert "deferred" in (page.text_content("#timeline .tl-summary.thinking") or "")
        page.screenshot(path=str(ARTIFACTS / "playground-deferred.png"), full_page=True)
