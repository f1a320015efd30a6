"""The playground's timeline strip in a real browser: chromium (see ``browser_support``)
driven by playwright, against a real `livemind serve` (smollm2-135m) on a free loopback port.
The screenshot goes to ``test-artifacts/playground-timeline.png``."""

from __future__ import annotations

from pathlib import Path

import pytest

from browser_support import playground_page

pytestmark = pytest.mark.model

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
FINISHED_CALL = "#timeline rect.tl-call.inference.note, #timeline rect.tl-call.inference.wait"
QUESTION = "Lena has four boxes. Each box holds six pens. How many pens does Lena have?"


def spans(page: object, selector: str) -> list[dict[str, float]]:
    """``data-start``/``data-end``/``data-first`` (seconds) and the drawn x extent."""
    return page.eval_on_selector_all(  # type: ignore[attr-defined]
        selector,
        """els => els.map(e => {
            const box = e.getBBox();
            return {start: Number(e.dataset.start), end: Number(e.dataset.end),
                    first: e.dataset.first === undefined ? null : Number(e.dataset.first),
                    x0: box.x, x1: box.x + box.width};
        })""",
    )


def test_timeline_strip_shows_calls_before_enter_and_the_answer_after(
    chromium: str, playground_url: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    with playground_page(chromium, playground_url) as page:
        assert page.locator(".timeline-strip").is_hidden()  # nothing typed yet
        page.click("#input")
        page.keyboard.type(QUESTION, delay=60)
        # while typing: finished inference calls are bars in the strip
        page.wait_for_selector(FINISHED_CALL, timeout=60_000)
        assert page.locator(".timeline-strip").is_visible()
        assert page.locator("#timeline path.tl-typing").count() == 1
        assert page.locator("#timeline line.tl-segment").count() >= 1
        page.keyboard.press("Enter")
        page.wait_for_selector(".answer.main .meta.latency", timeout=120_000)
        page.wait_for_selector("#timeline g.tl-answer rect.tl-streaming", timeout=10_000)
        page.wait_for_timeout(300)  # a last frame after response.done
        enter = float(page.get_attribute("#timeline line.tl-enter", "data-at") or "nan")
        enter_x = float(page.get_attribute("#timeline line.tl-enter", "x1") or "nan")
        calls = spans(page, "#timeline rect.tl-call.inference")
        assert calls and all(c["start"] < enter for c in calls)
        assert any(c["end"] <= enter and c["x1"] <= enter_x + 0.5 for c in calls)
        assert all(c["x1"] > c["x0"] for c in calls)  # drawn, not zero-width
        (answer,) = spans(page, "#timeline g.tl-answer")
        assert enter <= answer["start"] < answer["end"] and answer["first"] is not None
        assert answer["start"] <= answer["first"] <= answer["end"]
        assert answer["x0"] >= enter_x - 0.5 and answer["x1"] > answer["x0"]
        # the latencies beside the strip are the answer's own (server timings)
        meta = page.inner_text(".answer.main .meta")
        summary = page.text_content("#timeline text.tl-summary.answer") or ""
        full = summary.split("full ")[1].split(" s")[0]
        assert f"complete {full} s" in meta
        assert answer["end"] - enter == pytest.approx(float(full), abs=0.006)
        strip = page.locator(".timeline-strip")
        strip.screenshot(path=str(ARTIFACTS / "playground-timeline-strip.png"))
        page.screenshot(path=str(ARTIFACTS / "playground-timeline.png"))
        # the next key starts a new turn's strip
        page.keyboard.type("W", delay=10)
        page.wait_for_timeout(200)
        assert page.locator("#timeline rect.tl-call").count() == 0
        assert page.locator("#timeline line.tl-enter").count() == 0

        # with the baseline side by side it gets its own row, drawn from Enter
        page.click("#settings-toggle")
        page.check("#compare")
        page.click("#settings-toggle")
        page.click("#input")
        page.keyboard.type("hat if she buys two more boxes? How many pens then?", delay=20)
        page.keyboard.press("Enter")
        second = ".turn:nth-child(2) .answer.compare .meta.latency"
        page.wait_for_selector(second, timeout=120_000)
        page.wait_for_timeout(300)
        enter = float(page.get_attribute("#timeline line.tl-enter", "data-at") or "nan")
        (base,) = spans(page, "#timeline g.tl-baseline")
        assert base["start"] == pytest.approx(enter, abs=1e-3)
        assert base["first"] is not None and base["start"] <= base["first"] <= base["end"]
        summary = page.text_content("#timeline text.tl-summary.baseline") or ""
        meta = page.locator(".turn").nth(1).locator(".answer.compare .meta").inner_text()
        full = summary.split("full ")[1].split(" s")[0]
        assert f"complete {full} s" in meta
        assert base["end"] - base["start"] == pytest.approx(float(full), abs=0.006)
        page.screenshot(path=str(ARTIFACTS / "playground-timeline-compare.png"))
