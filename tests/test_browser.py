"""The playground in a real browser: chromium (Debian's, see ``browser_support``) driven
by playwright, against a real `livemind serve` (smollm2-135m) on a free loopback port.
Skipped without a browser, unless ``LIVEMIND_REQUIRE_BROWSER=1``. Screenshots go to
``test-artifacts/``."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_support import playground_page

pytestmark = pytest.mark.model

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
QUESTION = "Lena has four boxes. Each box holds six pens. How many pens does Lena have?"


def test_playground_thinks_while_typing_then_answers(chromium: str, playground_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    console: list[str] = []
    with playground_page(chromium, playground_url, console) as page:
        # the page loaded the server's event table (GET /v1/events)
        page.wait_for_function("eventTable.names !== null", timeout=10_000)
        page.click("#input")
        page.keyboard.type(QUESTION, delay=60)  # key by key, as a person types
        # before Enter: the model has already read sentences and noted something
        page.wait_for_selector("#inferences li.done", timeout=60_000)
        assert page.locator("#inferences li.done").count() >= 1
        assert page.locator("#segments .segment").count() >= 1
        page.screenshot(path=str(ARTIFACTS / "playground-typing.png"))
        page.keyboard.press("Enter")
        page.wait_for_selector(".answer.main .meta.latency", timeout=120_000)
        assert page.inner_text(".answer.main .text").strip()
        meta = page.inner_text(".answer.main .meta")
        assert "first token" in meta and "complete" in meta
        assert page.locator(".turn .question").inner_text() == QUESTION
        page.screenshot(path=str(ARTIFACTS / "playground-answer.png"), full_page=True)

        # second turn, with the conventional baseline side by side
        page.click("#settings-toggle")
        page.check("#compare")
        page.select_option('select[name="commit_policy"]', "cancel")
        page.click("#input")
        page.keyboard.type("Now add two more boxes. How many pens then?", delay=20)
        page.keyboard.press("Enter")
        page.wait_for_selector(".turn:nth-child(2) .answer.compare .meta.latency", timeout=120_000)
        second = page.locator(".turn").nth(1)
        assert second.locator(".answer.main .meta.latency").count() == 1
        assert "complete" in second.locator(".answer.compare .meta").inner_text()
        # the server took the setting (session.updated sets the form from its config)
        assert page.locator('select[name="commit_policy"]').input_value() == "cancel"
        page.screenshot(path=str(ARTIFACTS / "playground-compare.png"), full_page=True)
        # every event of both turns was in the table; one that is not gets a warning
        assert not [m for m in console if "livemind:" in m], console
        with page.expect_console_message(lambda m: 'unknown event "segment.typed"' in m.text):
            page.evaluate("handle({type: 'segment.typed'})")
