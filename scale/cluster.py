"""A scale-out deployment on loopback: vLLM workers (CPU) behind a router (the Rust
``vllm-router``, or ``sglang-router``).

Used by ``make test-scale`` (tests_scale/) and by the scale-out measurement; also runs by
hand, to try ``livemind serve --model ROUTER_URL/v1`` against it:

    .venv/bin/python -m scale.cluster --workers 2 --policy consistent_hash
    .venv/bin/python -m scale.cluster --router sglang-router --policy manual

Every process binds 127.0.0.1 on a free port, logs to its own file and is stopped (its
whole process group) when the ``Cluster`` closes, also after an error while starting.
Workers are pinned to different cores (``VLLM_CPU_OMP_THREADS_BIND``) and log every
request with its id (``--enable-log-requests``), which is how the tests see which worker
served which call.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCALE_ENV = ROOT / ".venv-scale"
MODEL_DIR = SCALE_ENV / "models" / "smollm2-135m"
SERVED_NAME = "smollm2-135m"


_RECEIVED = re.compile(r"Received request chatcmpl-(\S+?):")


def received_ids(log_text: str) -> list[str]:
    """Request ids in a vLLM worker's log (``--enable-log-requests``), in order."""
    return _RECEIVED.findall(log_text)


def session_of(request_id: str) -> str:
    """The session key in livemind's ``<session>-<tag>-<n>`` request id."""
    return request_id.rsplit("-", 2)[0]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    """One started server: its process, its base URL and its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    url: str
    log: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, wait_s: float = 20) -> None:
        """Signal the process group; after ``wait_s`` (or as soon as the leader has gone)
        SIGKILL whatever is left of the group: vLLM's engine processes can outlive their
        API server."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=wait_s)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=10)


def _spawn(name: str, cmd: Sequence[str], url: str, log: Path, env: dict[str, str]) -> Proc:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        popen = subprocess.Popen(
            list(cmd), stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    return Proc(name, popen, url, log)


def wait_ready(proc: Proc, path: str, timeout_s: float) -> None:
    """Poll ``proc.url + path`` until it answers 200; raise with the log's tail when the
    process exits or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(proc.url + path, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        if not proc.alive() or time.monotonic() > deadline:
            why = "exited" if not proc.alive() else f"not ready after {timeout_s:.0f} s"
            tail = "\n".join(proc.log_text().splitlines()[-40:])
            raise RuntimeError(f"{proc.name} {why} ({proc.log}):\n{tail}")
        time.sleep(0.5)


def worker_env(core: str) -> dict[str, str]:
    """Environment of a vLLM CPU worker pinned to ``core`` (a core list such as "0")."""
    env = dict(os.environ)
    env.update(
        VLLM_HOST_IP="127.0.0.1",  # else vLLM uses the machine's external address internally
        VLLM_CPU_KVCACHE_SPACE="1",  # GiB of KV cache
        VLLM_CPU_OMP_THREADS_BIND=core,
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        VLLM_NO_USAGE_STATS="1",
        DO_NOT_TRACK="1",
    )
    return env


def start_worker(port: int, core: str, log: Path, extra: Sequence[str] = ()) -> Proc:
    """Start one vLLM OpenAI server on ``port`` (not waiting for it)."""
    cmd = [
        str(SCALE_ENV / "bin" / "python"), "-m", "vllm.entrypoints.openai.api_server",
        "--model", str(MODEL_DIR), "--served-model-name", SERVED_NAME,
        "--host", "127.0.0.1", "--port", str(port),
        "--enforce-eager", "--block-size", "32", "--max-model-len", "4096",
        "--enable-prefix-caching", "--enable-prompt-tokens-details", "--enable-log-requests",
        *extra,
    ]  # fmt: skip
    return _spawn(f"vllm worker :{port}", cmd, f"http://127.0.0.1:{port}", log, worker_env(core))


ROUTERS = ("vllm-router", "sglang-router")


def start_router(
    port: int, workers: Sequence[str], policy: str, log: Path, kind: str = "vllm-router"
) -> Proc:
    """Start a router (``kind``: the Rust ``vllm-router`` or ``sglang-router``) on ``port``
    in front of ``workers`` with ``policy``. Both take the same flags; sglang-router binds
    0.0.0.0 unless told, and both open a metrics listener (default port 29000): here each
    gets its own free port, on loopback."""
    if kind not in ROUTERS:
        raise ValueError(f"router kind must be one of {ROUTERS}, not {kind!r}")
    exe = [str(SCALE_ENV / "bin" / "vllm-router")]
    if kind == "sglang-router":
        exe = [str(SCALE_ENV / "bin" / "python"), "-m", "sglang_router.launch_router"]
    cmd = [
        *exe, "--host", "127.0.0.1", "--port", str(port),
        "--policy", policy, "--worker-urls", *workers,
        "--prometheus-host", "127.0.0.1", "--prometheus-port", str(free_port()),
    ]  # fmt: skip
    env = dict(os.environ)
    return _spawn(f"{kind} :{port}", cmd, f"http://127.0.0.1:{port}", log, env)


@dataclass
class Cluster:
    """Workers and a router, all running; :meth:`close` stops them."""

    workers: list[Proc]
    router: Proc | None
    procs: list[Proc] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The router's base URL (the first worker's without a router)."""
        return (self.router or self.workers[0]).url

    def close(self) -> None:
        for p in reversed(self.procs):
            p.stop()


def cores(n: int) -> list[str]:
    """One core list per worker: cores dealt round-robin (all workers share one core on a
    one-core machine)."""
    total = os.cpu_count() or 1
    return [str(i % total) for i in range(n)]


@contextlib.contextmanager
def cluster(
    n_workers: int = 2,
    policy: str | None = "consistent_hash",
    log_dir: Path | None = None,
    ready_s: float = 300,
    router_kind: str = "vllm-router",
) -> Iterator[Cluster]:
    """Start ``n_workers`` vLLM workers (in parallel) and, unless ``policy`` is ``None``, a
    router (``router_kind``) with that policy; wait until all answer; yield; stop all."""
    if not (MODEL_DIR / "config.json").exists():
        raise RuntimeError(f"no converted model at {MODEL_DIR}: run `make test-scale` once")
    log_dir = log_dir or Path(os.environ.get("TMPDIR", "/tmp")) / "livemind-scale"
    started = Cluster(workers=[], router=None)
    try:
        for core in cores(n_workers):
            port = free_port()
            w = start_worker(port, core, log_dir / f"worker-{port}.log")
            started.workers.append(w)
            started.procs.append(w)
        for w in started.workers:
            wait_ready(w, "/health", ready_s)
        if policy is not None:
            port = free_port()
            urls = [w.url for w in started.workers]
            log = log_dir / f"{router_kind}-{port}.log"
            started.router = start_router(port, urls, policy, log, router_kind)
            started.procs.append(started.router)
            wait_ready(started.router, "/v1/models", 60)
        yield started
    finally:
        started.close()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--router", default="vllm-router", choices=ROUTERS)
    ap.add_argument(
        "--policy",
        default="consistent_hash",
        help="router policy (sglang-router: manual, with X-SMG-Routing-Key); 'none': no router",
    )
    ap.add_argument("--log-dir", type=Path, default=None)
    args = ap.parse_args(argv)
    policy = None if args.policy == "none" else args.policy
    with cluster(args.workers, policy, args.log_dir, router_kind=args.router) as c:
        print(json.dumps({"url": c.url, "workers": [w.url for w in c.workers]}), flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the cluster on SIGTERM too
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
