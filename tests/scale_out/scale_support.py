"""Helpers of the scale-out tests: which worker served which call (from the workers' own
request logs: every call livemind sends carries ``X-Request-Id: <session>-<tag>-<n>`` and
vLLM logs ``Received request chatcmpl-<that id>``), and a ``livemind serve`` subprocess."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from scale.cluster import Proc, free_port, session_of, wait_ready
from scale.cluster import received_ids as ids_in_log

RouterFactory = Callable[..., Proc]  # (policy, worker_urls, kind="vllm-router") -> router


def received_ids(worker: Proc) -> list[str]:
    """Request ids in the order ``worker`` logged them."""
    return ids_in_log(worker.log_text())


def served_by(workers: Iterable[Proc], keys: Iterable[str]) -> dict[str, set[int]]:
    """For each session key, the indexes of the workers that logged one of its calls."""
    wanted = set(keys)
    seen: dict[str, set[int]] = {k: set() for k in wanted}
    for i, worker in enumerate(workers):
        for rid in received_ids(worker):
            if (key := session_of(rid)) in wanted:
                seen[key].add(i)
    return seen


@contextlib.contextmanager
def livemind_serve(model_url: str, log: Path, *extra: str) -> Iterator[str]:
    """A real ``livemind serve --model MODEL_URL`` on a free loopback port; its base URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "livemind.cli", "serve", "--model", model_url]
    cmd += ["--port", str(port), *extra]
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    served = Proc("livemind serve", proc, f"http://127.0.0.1:{port}", log)
    try:
        wait_ready(served, "/health", 120)
        yield served.url
    finally:
        served.stop()
