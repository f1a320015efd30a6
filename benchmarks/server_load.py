"""Load test: N simulated typists against `livemind serve` over the live WebSocket protocol.

Each typist types questions key by key at the given speed (240 characters per minute by
default), pauses, presses Enter, waits for the answer, and starts the next question,
until the time is up. Reports per run: answers, p50/p95 latency (Enter -> complete answer,
measured by the client), median TTFT, inference calls started / merged (read several
segments at once) / cancelled / deferred for other users' answers, notes kept per
answered question, prefills deferred, sessions refused at once (``overloaded``, or
``too_many_sessions`` past the server's ``--max-sessions``; such a typist tries again 2 s
later; ``--questions-per-session`` makes typists come and go), errors, server CPU use.

    .venv/bin/python benchmarks/server_load.py --typists 1,4,8 --duration 120 \\
        --model smollm2-135m --json benchmarks/server-load.json

``--scheduling off,priority,control`` starts one server per arm and runs each typist
count on each, one after the other (before/after the priority scheduler, and plain
answers with no background calls, in one run).
Without --url it starts `livemind serve` itself on a free loopback port (and stops it);
it never binds anything but 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import time
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


@dataclass
class TypistStats:
    latencies: list[float] = field(default_factory=list)
    ttfts: list[float] = field(default_factory=list)
    notes: list[int] = field(default_factory=list)  # notes kept per answered question
    evaluated: list[int] = field(default_factory=list)  # answer-prompt tokens evaluated
    written: list[int] = field(default_factory=list)  # answer tokens
    calls: int = 0
    merged: int = 0
    cancelled: int = 0
    deferred: int = 0  # inference calls put behind other users' answers
    prewarms_deferred: int = 0
    refused: list[str] = field(default_factory=list)  # codes of sessions refused (REFUSALS)
    refusal_s: list[float] = field(default_factory=list)  # connect -> refusal, seconds
    errors: list[str] = field(default_factory=list)


# arm -> (the server's --scheduling, the session settings its typists send first)
ARMS: dict[str, tuple[str, dict]] = {
    "priority": ("priority", {}),
    "off": ("off", {}),
    "control": ("priority", {"mode": "output-only", "prewarm": False}),
}
REFUSED_RETRY_S = 2.0
# a new session refused at once: the engine is behind on answers, or the server holds its
# --max-sessions already; the typist tries again
REFUSALS = frozenset({"overloaded", "too_many_sessions"})


@dataclass(frozen=True)
class Plan:
    """What every typist of one run does: ``settings`` is sent as ``session.update``
    first (e.g. the control: ``{"mode": "output-only", "prewarm": false}``);
    ``per_session``: questions before the typist leaves and opens a new session (0: one
    session throughout)."""

    url: str
    key_s: float  # seconds per key, on average
    think_s: float  # pause before Enter
    until: float  # time.monotonic() at which no new question is started
    settings: dict
    per_session: int = 0


async def typist(plan: Plan, seed: int) -> TypistStats:
    """One typist until ``plan.until``; a session refused at once is tried again."""
    rng = random.Random(seed)
    stats = TypistStats()
    while time.monotonic() < plan.until:
        if not await _session(plan, rng, stats):
            await asyncio.sleep(REFUSED_RETRY_S)
    return stats


async def _session(plan: Plan, rng: random.Random, stats: TypistStats) -> bool:
    """Type questions in one session until ``plan.until`` (or ``plan.per_session``
    questions, if > 0); False if it was refused at once."""
    connect_t = time.monotonic()
    async with websockets.connect(plan.url, max_size=2**22) as ws:
        first_event = json.loads(await ws.recv())
        if first_event["type"] == "error" and first_event.get("code") in REFUSALS:
            stats.refused.append(first_event["code"])
            stats.refusal_s.append(time.monotonic() - connect_t)
            return False
        if plan.settings:
            await ws.send(json.dumps({"type": "session.update", "session": plan.settings}))
            while json.loads(await ws.recv())["type"] != "session.updated":
                pass
        events: asyncio.Queue[dict] = asyncio.Queue()
        notes = 0

        async def reader() -> None:
            nonlocal notes
            async for raw in ws:
                event = json.loads(raw)
                kind = event["type"]
                if kind == "inference.started":
                    stats.calls += 1
                    stats.merged += len(event["segments"]) > 1
                elif kind == "inference.cancelled":
                    stats.cancelled += 1
                elif kind == "inference.deferred":
                    stats.deferred += 1
                elif kind == "prewarm.deferred":
                    stats.prewarms_deferred += 1
                elif kind == "inference.done" and event["action"] != "wait":
                    notes += 1
                elif kind == "error":
                    stats.errors.append(event["code"])
                await events.put(event)

        task = asyncio.create_task(reader())
        rev = 0
        asked = 0
        try:
            per_session = plan.per_session
            while time.monotonic() < plan.until and not (per_session and asked >= per_session):
                asked += 1
                notes = 0
                question = rng.choice(QUESTIONS)
                for i in range(1, len(question) + 1):
                    rev += 1
                    await ws.send(
                        json.dumps({"type": "input_text.set", "text": question[:i], "rev": rev})
                    )
                    await asyncio.sleep(plan.key_s * rng.uniform(0.7, 1.3))
                await asyncio.sleep(plan.think_s)
                start = time.monotonic()
                first = None
                await ws.send(json.dumps({"type": "input_text.commit"}))
                while True:
                    event = await asyncio.wait_for(events.get(), timeout=600)
                    if event["type"] == "response.output_text.delta" and first is None:
                        first = time.monotonic() - start
                    if event["type"] in ("response.done", "response.cancelled"):
                        break
                    if event["type"] == "error" and event.get("stage") == "output":
                        break
                if event["type"] == "response.done":
                    stats.latencies.append(time.monotonic() - start)
                    stats.notes.append(notes)
                    usage = event.get("usage") or {}
                    if usage.get("evaluated_tokens") is not None:
                        stats.evaluated.append(usage["evaluated_tokens"])
                    if usage.get("completion_tokens") is not None:
                        stats.written.append(usage["completion_tokens"])
                    if first is not None:
                        stats.ttfts.append(first)
        finally:
            task.cancel()
    return True


def pooled(stats: list[TypistStats], name: str) -> list:
    """One per-answer list of every typist, end to end."""
    return [x for s in stats for x in getattr(s, name)]


def median_of(stats: list[TypistStats], name: str) -> float | None:
    """The median of one per-answer list over all typists (None if empty)."""
    xs = pooled(stats, name)
    return statistics.median(xs) if xs else None


async def run_load(
    url: str, n: int, args: argparse.Namespace, pid: int | None, settings: dict
) -> dict:
    """``n`` typists against ``url`` for ``args.duration`` seconds, each sending
    ``settings`` first; the run's figures as one JSON-able dict."""
    cpu0 = cpu_seconds(pid) if pid else None
    t0 = time.monotonic()
    plan = Plan(url, 60.0 / args.cpm, args.think_s, t0 + args.duration, settings, args.per_session)

    async def arrive(k: int) -> TypistStats:  # typist k arrives k/n of the ramp later
        await asyncio.sleep(args.ramp_s * k / n)
        return await typist(plan, args.seed + k)

    results = await asyncio.gather(*(arrive(k) for k in range(n)), return_exceptions=True)
    wall = time.monotonic() - t0
    stats = [r for r in results if isinstance(r, TypistStats)]
    crashed = [repr(r) for r in results if not isinstance(r, TypistStats)]
    lat, ttft, notes = (pooled(stats, name) for name in ("latencies", "ttfts", "notes"))
    out = {
        "typists": n,
        "wall_s": round(wall, 1),
        "answers": len(lat),
        "p50_latency_s": quantile(lat, 0.5),
        "p95_latency_s": quantile(lat, 0.95),
        "median_ttft_s": statistics.median(ttft) if ttft else None,
        "inference_calls": sum(s.calls for s in stats),
        "merged_calls": sum(s.merged for s in stats),
        "cancelled_calls": sum(s.cancelled for s in stats),
        "deferred_calls": sum(s.deferred for s in stats),
        "deferred_prewarms": sum(s.prewarms_deferred for s in stats),
        "notes_per_question": round(statistics.fmean(notes), 2) if notes else None,
        "answer_evaluated_tokens": median_of(stats, "evaluated"),
        "answer_tokens": median_of(stats, "written"),
        "refused": sum(len(s.refused) for s in stats),
        "refused_codes": sorted({c for s in stats for c in s.refused}),
        "max_refusal_s": max((x for s in stats for x in s.refusal_s), default=None),
        "errors": sum(len(s.errors) for s in stats) + len(crashed),
        "error_codes": sorted({c for s in stats for c in s.errors}) + crashed,
    }
    if pid:
        out["server_cpu_percent"] = round(100 * (cpu_seconds(pid) - cpu0) / wall, 1)
    return out


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--typists", default="8", help="comma-separated typist counts (default 8)")
    p.add_argument("--duration", type=float, default=120.0, help="seconds per run (default 120)")
    p.add_argument("--cpm", type=float, default=240.0)
    p.add_argument("--think-s", type=float, default=1.0, help="pause before Enter (default 1)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--scheduling",
        default="priority",
        help="comma-separated arms, one server each, every typist count run on each in "
        "turn: priority, off (the server's --scheduling), control (a priority server whose "
        "typists turn notes and prewarm off: plain answers only); default priority, "
        "ignored with --url",
    )
    p.add_argument(
        "--ramp-s",
        type=float,
        default=0.0,
        help="typists arrive one by one over this many seconds (default 0: all at once)",
    )
    p.add_argument(
        "--questions-per-session",
        dest="per_session",
        type=int,
        default=0,
        help="a typist leaves after this many questions and opens a new session, as "
        "visitors come and go (default 0: one session per typist throughout)",
    )
    p.add_argument(
        "--session",
        default="{}",
        help="session settings (JSON) each typist sends first, e.g. the control without "
        'background calls: \'{"mode": "output-only", "prewarm": false}\'',
    )
    add_server_arguments(p)
    p.add_argument("--json", default=None, help="append results to this JSON-lines file")
    args = p.parse_args()
    args.session_settings = json.loads(args.session)
    args.typist_counts = [int(x) for x in args.typists.split(",")]
    modes = [m.strip() for m in args.scheduling.split(",") if m.strip()]
    if not modes or set(modes) - set(ARMS):
        raise SystemExit(f"--scheduling takes {', '.join(ARMS)}")
    check_loopback(args.url)
    servers: dict[str, tuple[subprocess.Popen | None, str]] = {}
    try:
        if args.url:
            servers["(url)"] = (None, args.url)
        for mode in [] if args.url else modes:
            servers[mode] = start_server(args, ("--scheduling", ARMS[mode][0]))
        for n in args.typist_counts:
            for mode, (proc, url) in servers.items():
                settings = {**ARMS.get(mode, ("", {}))[1], **args.session_settings}
                result = asyncio.run(run_load(url, n, args, proc.pid if proc else None, settings))
                result.update(
                    model=args.model, cpm=args.cpm, duration_s=args.duration, scheduling=mode
                )
                if settings:
                    result["session"] = settings
                if args.per_session:
                    result["questions_per_session"] = args.per_session
                if args.serve_args:
                    result["serve_args"] = args.serve_args
                print(json.dumps(result), flush=True)
                if args.json:
                    with open(args.json, "a") as f:
                        f.write(json.dumps(result) + "\n")
    finally:
        for proc, _ in servers.values():
            if proc:
                proc.terminate()
                proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
