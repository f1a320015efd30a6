"""Soak test: typists that type, edit, paste, cancel and walk away, for a long time.

N typists (8) work against `livemind serve` over the live WebSocket for `--minutes` (30).
Each one types a question key by key, and at random: deletes a few characters, makes a typo
further back (fixed by the next keystroke), pastes the rest at once, presses Enter and then
cancels, or drops the connection mid-question (and reconnects). Every Enter must end in
`response.done`, `response.cancelled` or an `error` event; one that ends otherwise (the
server closed the connection, or nothing came within the timeout) counts as lost. Reports,
per 5-minute window: answers, p50 and p95 latency (Enter to complete answer), errors by
code, engine calls and server CPU; and the server's resident memory and event-loop tasks at
the end of every window (typists connected) and at the start and the end (none connected),
from /metrics.

    .venv/bin/python benchmarks/soak.py --typists 8 --minutes 30 --json benchmarks/soak.json

Without --url it starts `livemind serve --model smollm2-135m` on a free loopback port and
stops it afterwards. Loopback only; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field

import websockets
from load_common import (
    QUESTIONS,
    add_server_arguments,
    check_loopback,
    cpu_seconds,
    quantile,
    start_server,
)
from prometheus_client.parser import text_string_to_metric_families
from tqdm import tqdm

WINDOW_S = 300.0
ANSWER_TIMEOUT_S = 300.0


@dataclass
class Log:
    """What every typist saw, stamped with seconds since the start."""

    answers: list[tuple[float, float]] = field(default_factory=list)  # (t, latency)
    errors: list[tuple[float, str]] = field(default_factory=list)
    commits: int = 0
    cancelled: int = 0
    lost: int = 0
    disconnects: int = 0
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)


async def one_connection(url: str, rng: random.Random, log: Log, t0: float, until: float) -> None:
    """Questions on one connection until the time is up or the typist walks away."""
    async with websockets.connect(url, max_size=2**24) as ws:
        events: asyncio.Queue[dict] = asyncio.Queue()

        async def reader() -> None:
            async for raw in ws:
                await events.put(json.loads(raw))

        pump = asyncio.create_task(reader())
        rev = 0

        async def send_text(text: str) -> None:
            nonlocal rev
            rev += 1
            await ws.send(json.dumps({"type": "input_text.set", "text": text, "rev": rev}))

        try:
            while time.monotonic() < until:
                question = rng.choice(QUESTIONS)
                typed = ""
                while len(typed) < len(question):
                    roll = rng.random()
                    if roll < 0.002:  # walks away mid-question
                        log.disconnects += 1
                        return
                    if roll < 0.01:  # pastes the rest
                        typed = question
                    elif roll < 0.03 and len(typed) > 8:  # deletes a few characters
                        typed = typed[: -rng.randint(1, 6)]
                    elif roll < 0.05 and len(typed) > 8:  # a typo further back (the next
                        k = rng.randrange(len(typed) - 1)  # keystroke puts it right)
                        typed = typed[:k] + rng.choice("qxz") + typed[k + 1 :]
                    else:
                        typed = question[: len(typed) + 1]
                    await send_text(typed)
                    await asyncio.sleep(rng.uniform(0.12, 0.35))
                await asyncio.sleep(rng.uniform(0.3, 1.5))
                await ws.send(json.dumps({"type": "input_text.commit"}))
                log.commits += 1
                enter = time.monotonic()
                if rng.random() < 0.05:  # changes their mind right after Enter
                    await ws.send(json.dumps({"type": "response.cancel"}))
                await wait_for_end(events, log, enter, t0)
        finally:
            pump.cancel()


async def wait_for_end(events: asyncio.Queue[dict], log: Log, enter: float, t0: float) -> None:
    """Read events until this Enter has ended; log how."""
    while True:
        try:
            event = await asyncio.wait_for(events.get(), timeout=ANSWER_TIMEOUT_S)
        except TimeoutError:
            log.lost += 1
            return
        kind, now = event["type"], time.monotonic()
        if kind == "response.done":
            log.answers.append((now - t0, now - enter))
            return
        if kind == "response.cancelled":
            log.cancelled += 1
            return
        if kind == "error":
            log.errors.append((now - t0, event.get("code", "?")))
            if event.get("stage") in (None, "output"):
                return


async def typist(url: str, seed: int, log: Log, t0: float, until: float) -> None:
    rng = random.Random(seed)
    while time.monotonic() < until:
        try:
            await one_connection(url, rng, log, t0, until)
        except websockets.ConnectionClosed:
            log.lost += 1  # the server closed the connection under a question
        await asyncio.sleep(rng.uniform(0.5, 2.0))


STATE_SAMPLES = {  # our name for it -> the /metrics sample it is read from
    "process_resident_bytes": "process_resident_memory_bytes",
    "event_loop_tasks": "livemind_event_loop_tasks",
    "sessions_active": "livemind_sessions_active",
    "calls_total": "livemind_calls_total",
}


def server_state(http: str, pid: int | None = None) -> dict[str, float]:
    """Resident memory, loop tasks, sessions and engine calls so far from /metrics; the
    server's CPU seconds so far when its process is ours (``pid``)."""
    with urllib.request.urlopen(http + "/metrics", timeout=10) as resp:
        text = resp.read().decode()
    samples = {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if not s.labels
    }
    out = {key: samples.get(name, float("nan")) for key, name in STATE_SAMPLES.items()}
    if pid is not None:
        out["cpu_s"] = cpu_seconds(pid)
    return out


async def sample_server(http: str, pid: int | None, log: Log, t0: float) -> None:
    """The server's state at the end of every window (typists connected)."""
    while True:
        await asyncio.sleep(WINDOW_S - (time.monotonic() - t0) % WINDOW_S)
        state = await asyncio.to_thread(server_state, http, pid)
        log.samples.append((time.monotonic() - t0, state))


async def show_progress(log: Log, seconds: float) -> None:
    """A progress bar over the run's seconds, with the counts so far."""
    with tqdm(total=int(seconds), unit="s", desc="soak") as bar:
        while bar.n < bar.total:
            await asyncio.sleep(5.0)
            bar.update(min(5, bar.total - bar.n))
            bar.set_postfix(
                commits=log.commits, answers=len(log.answers), errors=len(log.errors), lost=log.lost
            )


def windows(log: Log, minutes: float) -> list[dict]:
    rows = []
    for k in range(max(1, int(minutes * 60 // WINDOW_S))):
        lo, hi = k * WINDOW_S, (k + 1) * WINDOW_S
        lat = [x for t, x in log.answers if lo <= t < hi]
        codes = Counter(c for t, c in log.errors if lo <= t < hi)
        rows.append(
            {
                "from_min": lo / 60,
                "answers": len(lat),
                "p50_s": quantile(lat, 0.5),
                "p95_s": quantile(lat, 0.95),
                **codes,
                **server_in_window(log, lo, hi),
            }
        )
    return rows


def server_in_window(log: Log, lo: float, hi: float) -> dict:
    """Memory and loop tasks at the window's end; engine calls and server CPU in it."""

    def nearest(at: float) -> dict[str, float] | None:
        near = [(abs(t - at), state) for t, state in log.samples if abs(t - at) < WINDOW_S / 2]
        return min(near, key=lambda pair: pair[0])[1] if near else None

    first, last = nearest(lo), nearest(hi)
    if last is None:
        return {}
    out = {
        "rss_mb_at_end": round(last["process_resident_bytes"] / 2**20),
        "loop_tasks_at_end": last["event_loop_tasks"],
    }
    if first is not None:
        out["engine_calls"] = last["calls_total"] - first["calls_total"]
        if "cpu_s" in last:
            out["server_cpu_pct"] = round(100 * (last["cpu_s"] - first["cpu_s"]) / (hi - lo))
    return out


async def soak(url: str, http: str, args: argparse.Namespace) -> dict:
    log = Log()
    await asyncio.sleep(1.0)
    pid = args.server_pid
    start = server_state(http, pid)
    t0 = time.monotonic()
    log.samples.append((0.0, start))
    until = t0 + args.minutes * 60
    progress = asyncio.create_task(show_progress(log, args.minutes * 60))
    sampler = asyncio.create_task(sample_server(http, pid, log, t0))
    await asyncio.gather(*(typist(url, args.seed + k, log, t0, until) for k in range(args.typists)))
    progress.cancel()
    sampler.cancel()
    await asyncio.sleep(5.0)  # let the server close what the typists left
    end = server_state(http, pid)
    return {
        "typists": args.typists,
        "minutes": args.minutes,
        "commits": log.commits,
        "answers": len(log.answers),
        "cancelled": log.cancelled,
        "lost": log.lost,
        "walked_away": log.disconnects,
        "errors": dict(Counter(c for _, c in log.errors)),
        "windows": windows(log, args.minutes),
        "server_start": start,
        "server_end": end,
    }


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--typists", type=int, default=8)
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--seed", type=int, default=1)
    add_server_arguments(p)
    p.add_argument("--json", default=None, help="write the result to this JSON file")
    args = p.parse_args()
    args.typist_counts = [args.typists]
    check_loopback(args.url)
    proc, url = (None, args.url) if args.url else start_server(args)
    args.server_pid = proc.pid if proc else None
    http = url.replace("ws://", "http://").removesuffix("/v1/live")
    try:
        result = asyncio.run(soak(url, http, args))
    finally:
        if proc:
            proc.terminate()
            proc.wait(timeout=30)
    result["model"] = args.model
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0 if result["lost"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
