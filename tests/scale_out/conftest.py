"""Fixtures of the scale-out tests (``make test-scale``): two real vLLM CPU workers serving
smollm2-135m, and real ``vllm-router`` processes in front of them, all on loopback.

The workers start once for the whole run (about two minutes); routers are cheap and start
per policy. Helpers live in ``scale_support``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scale_support import RouterFactory  # noqa: E402

from scale.cluster import (  # noqa: E402 - after the path set-up above
    Cluster,
    Proc,
    cluster,
    free_port,
    start_router,
    wait_ready,
)


@pytest.fixture(scope="session")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two vLLM workers (no router), each pinned to its own core."""
    with cluster(2, policy=None, log_dir=tmp_path_factory.mktemp("workers")) as c:
        yield c


@pytest.fixture(scope="session")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RouterFactory]:
    """``router(policy, worker_urls, kind="vllm-router")`` starts a router; all stop at the
    end."""
    started: list[Proc] = []
    log_dir = tmp_path_factory.mktemp("routers")

    def make(policy: str, urls: list[str], kind: str = "vllm-router") -> Proc:
        port = free_port()
        proc = start_router(port, urls, policy, log_dir / f"{kind}-{policy}-{port}.log", kind)
        started.append(proc)
        wait_ready(proc, "/v1/models", 60)
        return proc

    yield make
    for proc in started:
        proc.stop()
