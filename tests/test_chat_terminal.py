"""`livemind chat` in a real terminal, as a person uses it: tmux runs the command,
``send-keys`` types one key at a time, ``capture-pane`` reads the screen. With the real
smollm2-135m: notes appear within a single line before Enter, then the answer; Ctrl-C
cancels an answer and gives the text back; Ctrl-D leaves.

tmux is a Debian package (`apt-get install tmux`); where it is missing the test is
skipped with that command, unless ``LIVEMIND_REQUIRE_TMUX=1`` (set by ``.ci/run``)
makes a missing tool a failure."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.model

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

LINE = (
    "The old lighthouse stands on a rocky island. Its keeper climbs the stairs every "
    "evening. Why would a lighthouse need a keeper today?"
)


def _tmux() -> str:
    path = shutil.which("tmux")
    if path is None:
        message = "tmux is missing: install it to run this test (apt-get install tmux)"
        if os.environ.get("LIVEMIND_REQUIRE_TMUX", "") not in ("", "0"):
            pytest.fail(message)
        pytest.skip(message)
    return path


class Terminal:
    """A detached tmux session on a private server socket, 150×40."""

    def __init__(self, tmux: str, command: str, env: dict[str, str]) -> None:
        self.tmux = tmux
        self.socket = f"livemind-test-{uuid.uuid4().hex[:8]}"
        env_args = [a for k, v in env.items() for a in ("-e", f"{k}={v}")]
        self._run("new-session", "-d", "-x", "150", "-y", "40", *env_args, command)

    def _run(self, *args: str) -> str:
        cmd = [self.tmux, "-L", self.socket, *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout

    def keys(self, *keys: str) -> None:
        self._run("send-keys", "-t", "0", *keys)

    def type(self, text: str, delay: float = 0.03) -> None:
        for ch in text:
            self._run("send-keys", "-t", "0", "-l", ch)
            time.sleep(delay)

    def screen(self) -> str:
        return self._run("capture-pane", "-p", "-J", "-S", "-200", "-t", "0")

    def wait_for(self, found: Callable[[str], bool], timeout: float, what: str) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            screen = self.screen()
            if found(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"no {what} within {timeout:.0f} s; the screen:\n{self.screen()}")

    def alive(self) -> bool:
        cmd = [self.tmux, "-L", self.socket, "has-session", "-t", "0"]
        return subprocess.run(cmd, capture_output=True).returncode == 0

    def close(self) -> None:
        subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def terminal(smollm2_path: Path, tmp_path: Path) -> Iterator[Terminal]:
    args = ["chat", "--model", "smollm2-135m", "--min-len", "3", "--max-tokens", "64"]
    exit_file = tmp_path / "exit-code"
    command = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "livemind.cli", *args])
    env = {"LIVEMIND_CACHE_DIR": str(tmp_path / "model-cache"), "TERM": "xterm-256color"}
    term = Terminal(_tmux(), f"{command}; echo $? > {shlex.quote(str(exit_file))}", env)
    term.exit_file = exit_file  # type: ignore[attr-defined]
    try:
        yield term
    finally:
        term.close()


def test_chat_thinks_within_a_line_then_answers(terminal: Terminal) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    terminal.wait_for(lambda s: "you>" in s, 120, "prompt")  # trailing spaces are not captured
    terminal.type(LINE)
    # before Enter, on the same single line: segments read and at least one note
    screen = terminal.wait_for(lambda s: "note ▸ " in s, 120, "note before Enter")
    assert "livemind ▸" not in screen  # no answer yet
    status = [line for line in screen.splitlines() if line.startswith("read ")]
    assert status and " note" in status[-1]  # the status line under the input
    terminal.keys("Enter")
    screen = terminal.wait_for(lambda s: "(Enter → first token" in s, 180, "answer")
    answer = screen.split("livemind ▸ ", 1)[1].split("(Enter → first token")[0]
    assert answer.strip()
    (ARTIFACTS / "chat-terminal.txt").write_text(screen)  # what the person saw

    # a second message: Enter, then Ctrl-C while it answers gives the text back
    terminal.wait_for(lambda s: s.count("you>") >= 2, 30, "second prompt")
    terminal.type("Tell me a long story about the keeper and the sea.", delay=0.01)
    terminal.keys("Enter")
    terminal.wait_for(lambda s: s.count("livemind ▸ ") >= 2, 120, "second answer start")
    terminal.keys("C-c")
    terminal.wait_for(  # the answer stops and the text is back in the input
        lambda s: "you> Tell me a long story" in s.partition("answer cancelled")[2],
        60,
        "cancellation",
    )
    terminal.keys("C-c")  # clear the input
    terminal.wait_for(  # the new, empty prompt is up (a key before it may be lost)
        lambda s: [line for line in s.splitlines() if line.startswith("you>")][-1] == "you>",
        30,
        "cleared input",
    )
    terminal.keys("C-d")  # and leave
    end = time.monotonic() + 30
    while terminal.alive() and time.monotonic() < end:
        time.sleep(0.2)
    assert terminal.exit_file.read_text().strip() == "0"  # type: ignore[attr-defined]
