"""Which chromium the browser tests drive, and what happens when there is none.

The lookup never downloads a browser. In order: ``$LIVEMIND_CHROMIUM`` when set (the only
place looked at then), Debian's ``/usr/bin/chromium``, then the chromium that playwright
itself installed (``playwright install chromium``), when present on disk.

Without a browser the browser tests are skipped, with the reason and the command that
enables them in pytest's summary (``pytest -rs``); with ``LIVEMIND_REQUIRE_BROWSER=1``
(``.ci/run`` sets it) a missing browser fails instead, so CI never skips them silently.
Tests take the ``chromium`` fixture of ``conftest.py``, or call :func:`chromium_or_skip`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

DEBIAN_CHROMIUM = "/usr/bin/chromium"
OVERRIDE_ENV = "LIVEMIND_CHROMIUM"
REQUIRE_ENV = "LIVEMIND_REQUIRE_BROWSER"
ENABLE = "apt-get install chromium"


def playwright_chromium() -> str | None:
    """Where playwright keeps its own chromium (it may not be there); None when playwright
    cannot say. Asks playwright's driver, which downloads nothing."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        return None
    try:
        with sync_playwright() as p:
            return p.chromium.executable_path
    except Error:
        return None


@dataclass(frozen=True, slots=True)
class BrowserLookup:
    """The browser found (``path``, None when none) and every place looked at, in order."""

    path: str | None
    looked_at: tuple[str, ...]


def find_browser(
    env: Mapping[str, str],
    debian: str = DEBIAN_CHROMIUM,
    managed: Callable[[], str | None] = playwright_chromium,
) -> BrowserLookup:
    """The first executable file among the places of the module's docstring; ``managed``
    is asked only when the places before it have none."""
    override = env.get(OVERRIDE_ENV)
    if override:
        return BrowserLookup(override if _runnable(override) else None, (override,))
    if _runnable(debian):
        return BrowserLookup(debian, (debian,))
    own = managed()
    looked = (debian, f"playwright's chromium ({own or 'none'})")
    return BrowserLookup(own if own and _runnable(own) else None, looked)


def browser_required(env: Mapping[str, str]) -> bool:
    """Whether a missing browser is a failure (``LIVEMIND_REQUIRE_BROWSER`` set, not 0)."""
    return env.get(REQUIRE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def missing_reason(lookup: BrowserLookup) -> str:
    """Why the browser tests cannot run, and the command that enables them."""
    return f"no chromium (looked at {', '.join(lookup.looked_at)}); enable with: {ENABLE}"


def chromium_or_skip(
    env: Mapping[str, str] | None = None,
    debian: str = DEBIAN_CHROMIUM,
    managed: Callable[[], str | None] = playwright_chromium,
) -> str:
    """The browser's executable path; else skips the calling test with the reason, or
    fails it when a browser is required (see the module docstring)."""
    env = os.environ if env is None else env
    lookup = find_browser(env, debian, managed)
    if lookup.path:
        return lookup.path
    reason = missing_reason(lookup)
    if browser_required(env):
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set: the browser tests must run)")
    pytest.skip(reason)


def _runnable(path: str) -> bool:
    return Path(path).is_file() and os.access(path, os.X_OK)


@contextlib.contextmanager
def playground_page(chromium: str, url: str, console: list[str] | None = None) -> Iterator[Any]:
    """A headless chromium page on the playground at ``url``, ready for typing (the
    status says ready); the browser is closed afterwards. ``console`` collects the page's
    console messages from the start, as ``"type: text"``."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--headless"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            if console is not None:
                page.on("console", lambda msg: console.append(f"{msg.type}: {msg.text}"))
            page.goto(url)
            page.wait_for_selector("#status[data-state=ready]", timeout=30_000)
            yield page
        finally:
            browser.close()
