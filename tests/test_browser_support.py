"""The browser lookup of ``browser_support``: which chromium is used, and a missing one
skips the browser tests (reason and fix in the summary) unless a browser is required."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from browser_support import (
    ENABLE,
    OVERRIDE_ENV,
    REQUIRE_ENV,
    browser_required,
    chromium_or_skip,
    find_browser,
    playwright_chromium,
)


def executable(path: Path) -> str:
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def never() -> str | None:
    raise AssertionError("playwright's chromium is looked up only when Debian's is missing")


def managed_at(path: str | None) -> Callable[[], str | None]:
    return lambda: path


def test_debian_chromium_comes_first(tmp_path: Path) -> None:
    debian = executable(tmp_path / "chromium")
    assert find_browser({}, debian, never).path == debian
    assert chromium_or_skip({}, debian, never) == debian


def test_playwrights_own_chromium_when_debian_has_none(tmp_path: Path) -> None:
    own = executable(tmp_path / "chrome")
    found = find_browser({}, str(tmp_path / "missing"), managed_at(own))
    assert found.path == own and found.looked_at[0] == str(tmp_path / "missing")


@pytest.mark.parametrize("own", [None, "/nonexistent/ms-playwright/chrome"])
def test_no_browser_anywhere(tmp_path: Path, own: str | None) -> None:
    found = find_browser({}, str(tmp_path / "missing"), managed_at(own))
    assert found.path is None and len(found.looked_at) == 2


def test_a_file_that_cannot_run_is_no_browser(tmp_path: Path) -> None:
    plain = tmp_path / "chromium"
    plain.write_text("")
    assert find_browser({}, str(plain), managed_at(None)).path is None


def test_the_override_is_the_only_place_looked_at(tmp_path: Path) -> None:
    debian = executable(tmp_path / "chromium")
    mine = executable(tmp_path / "my-chromium")
    assert find_browser({OVERRIDE_ENV: mine}, debian, never).path == mine
    gone = find_browser({OVERRIDE_ENV: "/nonexistent"}, debian, never)
    assert gone.path is None and gone.looked_at == ("/nonexistent",)


def test_missing_without_the_flag_skips_with_the_reason_and_the_fix() -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        chromium_or_skip({OVERRIDE_ENV: "/nonexistent"})
    assert "/nonexistent" in str(skipped.value) and ENABLE in str(skipped.value)


@pytest.mark.parametrize("flag", ["1", "true", "yes"])
def test_missing_with_the_flag_fails(flag: str) -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        chromium_or_skip({OVERRIDE_ENV: "/nonexistent", REQUIRE_ENV: flag})
    assert REQUIRE_ENV in str(failed.value) and ENABLE in str(failed.value)


@pytest.mark.parametrize("flag", ["", "0", "false", "no"])
def test_the_flag_off(flag: str) -> None:
    assert not browser_required({REQUIRE_ENV: flag})
    with pytest.raises(pytest.skip.Exception):
        chromium_or_skip({OVERRIDE_ENV: "/nonexistent", REQUIRE_ENV: flag})


def test_playwrights_own_chromium_is_found_where_playwright_keeps_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real playwright driver, pointed at an empty browser folder: it names a path
    there (downloading nothing); once a browser is at that path, the lookup uses it."""
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path))
    own = playwright_chromium()
    assert own is not None and Path(own).is_relative_to(tmp_path)
    missing = str(tmp_path / "no-debian-chromium")
    assert find_browser({}, missing).path is None
    Path(own).parent.mkdir(parents=True)
    executable(Path(own))
    assert chromium_or_skip({}, missing) == own
