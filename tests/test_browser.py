"""The playground in a real browser: Debian's chromium driven by playwright, against a
real `livemind serve` (smollm2-135m) on a free loopback port. Screenshots go to
``test-artifacts/``."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.model

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
QUESTION = "Lena has four boxes. Each box holds six pens. How many pens does Lena have?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(smollm2_path: Path, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    cmd = [sys.executable, "-m", "livemind.cli", "serve", "--model", str(smollm2_path)]
    cmd += ["--port", str(port), "--parallel", "2", "--ctx", "4096", "--min-len", "3"]
    cmd += ["--max-tokens", "40"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.close()
                    pytest.fail(
                        "livemind serve did not start:\n" + (tmp_path / "serve.log").read_text()
                    )
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_playground_thinks_while_typing_then_answers(server: str) -> None:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's browser (apt-get install chromium)")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--headless"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(server)
            page.wait_for_selector("#status[data-state=ready]", timeout=30_000)
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
            page.wait_for_selector(
                ".turn:nth-child(2) .answer.compare .meta.latency", timeout=120_000
            )
            second = page.locator(".turn").nth(1)
            assert second.locator(".answer.main .meta.latency").count() == 1
            assert "complete" in second.locator(".answer.compare .meta").inner_text()
            # the server took the setting (session.updated sets the form from its config)
            assert page.locator('select[name="commit_policy"]').input_value() == "cancel"
            page.screenshot(path=str(ARTIFACTS / "playground-compare.png"), full_page=True)
        finally:
            browser.close()
