"""What the load benchmarks share (server_load.py, soak.py): the questions typists type,
starting `livemind serve` on a free loopback port, its options, and the server's CPU time."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request

QUESTIONS = [
    "Mia reads 12 pages a day. Her book has 180 pages. How many days does she need?",
    "A train leaves at 9:40 and arrives at 11:15. How long is the trip in minutes?",
    "Sam buys three notebooks at 4 dollars each. He pays with a 20 dollar bill. "
    "How much change does he get?",
    "Water boils at 100 degrees Celsius at sea level. What happens at a higher altitude?",
    "A garden is 8 metres long and 5 metres wide. A path of 1 metre runs around it. "
    "What is the area of the path?",
    "Which planet is the largest in the solar system, and how many Earths would fit in it?",
]


def quantile(xs: list[float], q: float) -> float | None:
    """The nearest-rank ``q`` quantile of ``xs`` (None if empty)."""
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as f:
        fields_ = f.read().rsplit(")", 1)[1].split()
    return (int(fields_[11]) + int(fields_[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    args: argparse.Namespace, extra: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, str]:
    """Start `livemind serve` on a free loopback port; return it and its live WebSocket URL
    once /health answers (exits if it does not within 5 minutes)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "livemind.cli",
        "serve",
        "--model",
        args.model,
        "--port",
        str(port),
    ]
    cmd += ["--parallel", str(args.parallel), "--max-tokens", str(args.max_tokens)]
    cmd += ["--max-sessions", str(max(args.typist_counts) + 2), *args.serve_args, *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/health", timeout=2):
                return proc, f"ws://127.0.0.1:{port}/v1/live"
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("livemind serve did not start")


def add_server_arguments(p: argparse.ArgumentParser) -> None:
    """The options that choose the server under test (shared with soak.py)."""
    p.add_argument("--url", default=None, help="ws://127.0.0.1:PORT/v1/live of a running server")
    p.add_argument("--model", default="smollm2-135m")
    p.add_argument("--parallel", type=int, default=8, help="engine slots (default 8)")
    p.add_argument("--max-tokens", type=int, default=64, help="answer token limit (default 64)")
    p.add_argument("--serve-arg", dest="serve_args", action="append", default=[])


def check_loopback(url: str | None) -> None:
    if url and "127.0.0.1" not in url and "localhost" not in url:
        raise SystemExit("loopback only: --url must point at 127.0.0.1")
