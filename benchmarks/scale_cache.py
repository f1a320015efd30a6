"""Scale-out cache check: N typists at once through a real ``vllm-router`` in front of two
real vLLM CPU workers; per router policy, how many tokens each answer call evaluated
against the tokens the engine had never been sent (``final_evaluated_tokens`` ÷
``final_unseen_tokens``, as on the embedded engine), and how many sessions hopped between
workers (from the workers' own request logs).

    .venv/bin/python benchmarks/scale_cache.py --n 50 --typists 8 \\
        --policies consistent_hash,round_robin --out benchmarks/runs/scale-cache.jsonl

Needs the scale-out environment (``make test-scale`` builds it). Each typist types its
questions in real time (240 characters per minute by default, 1 s pause before Enter)
into its own livemind session (the product's default config) over one shared HTTP
backend, as ``livemind serve`` would; the workers start once, one router per policy. A
policy finished in ``--out`` is skipped, a stopped one's records are dropped and it runs
again (resume after a stop); ``--report`` only prints the table of an existing file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from livemind.backends.openai_http import OpenAIBackend  # noqa: E402
from livemind.eval.configs import parse_config  # noqa: E402
from livemind.eval.datasets import load_dataset  # noqa: E402
from livemind.eval.questions import Question  # noqa: E402
from livemind.eval.runner import BenchOptions, measure_rates, run_one  # noqa: E402
from livemind.typist import Typist  # noqa: E402
from scale.cluster import (  # noqa: E402
    Cluster,
    Proc,
    cluster,
    free_port,
    received_ids,
    session_of,
    start_router,
    wait_ready,
)

CONFIG = "livemind+prewarm+keep"
BLOCK = 32  # the workers' --block-size: vLLM caches whole blocks only


def block_floor(rec: dict[str, Any]) -> int:
    """The fewest tokens vLLM can evaluate for this answer: the never-seen tail plus the
    part of the shared prefix that does not fill a whole cache block."""
    prompt, unseen = rec["final_prompt_tokens"], rec["final_unseen_tokens"]
    return int(prompt - (prompt - unseen) // BLOCK * BLOCK)


def sessions_per_worker_count(workers: Sequence[Proc], offsets: Sequence[int]) -> list[int]:
    """For each session key logged after ``offsets`` (characters into each worker's log),
    the number of workers that served it."""
    found: dict[str, set[int]] = defaultdict(set)
    for i, (w, start) in enumerate(zip(workers, offsets, strict=True)):
        for rid in received_ids(w.log_text()[start:]):
            if (key := session_of(rid)) != "lm":  # "lm": calls without a session
                found[key].add(i)
    return [len(s) for s in found.values()]


async def run_policy(
    c: Cluster, policy: str, questions: list[Question], typists: int, opts: BenchOptions,
    out: Path, log_dir: Path,
) -> list[dict[str, Any]]:  # fmt: skip
    port = free_port()
    router = start_router(port, [w.url for w in c.workers], policy, log_dir / f"{policy}.log")
    offsets = [len(w.log_text()) for w in c.workers]
    try:
        wait_ready(router, "/v1/models", 60)
        backend = OpenAIBackend(router.url)
        await backend.probe()
        rates = await measure_rates(backend)
        config = parse_config(CONFIG)
        queue: asyncio.Queue[Question] = asyncio.Queue()
        for q in questions:
            queue.put_nowait(q)
        records: list[dict[str, Any]] = []
        bar = tqdm(total=len(questions), desc=policy, unit="q")

        async def typist() -> None:
            while not queue.empty():
                q = queue.get_nowait()
                rec = await run_one(q, config, backend, backend, rates, opts)
                rec |= {"policy": policy, "typists": typists, "mode": backend.resolved_prewarm_mode}
                records.append(rec)
                with out.open("a", encoding="utf-8") as f:
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                bar.update()

        await asyncio.gather(*(typist() for _ in range(typists)))
        bar.close()
        await backend.aclose()
        hops = sessions_per_worker_count(c.workers, offsets)
        summary = {"policy": policy, "summary": True, "sessions": len(hops)}
        summary["sessions_on_two_workers"] = sum(n > 1 for n in hops)
        with out.open("a", encoding="utf-8") as f:
            f.write(json.dumps(summary) + "\n")
        return records
    finally:
        router.stop()


def table(path: Path) -> str:
    rows: dict[str, list[dict[str, Any]]] = defaultdict(list)
    hops: dict[str, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec.get("summary"):
            hops[rec["policy"]] = rec
        else:
            rows[rec["policy"]].append(rec)
    out = [
        "| policy | answers | evaluated ÷ never-seen (sum) | median per answer "
        f"| evaluated ÷ never-seen rounded up to the {BLOCK}-token block "
        "| answers above that floor | sessions on 2 workers | latency p50 / p95 (s) | accuracy |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for policy, recs in rows.items():
        ok = [r for r in recs if not r.get("error") and r.get("final_unseen_tokens")]
        ev = sum(r["final_evaluated_tokens"] for r in ok)
        un = sum(r["final_unseen_tokens"] for r in ok)
        ratios = [r["final_evaluated_tokens"] / r["final_unseen_tokens"] for r in ok]
        floors = [block_floor(r) for r in ok]
        above = sum(r["final_evaluated_tokens"] > f for r, f in zip(ok, floors, strict=True))
        lat = sorted(r["latency_s"] for r in recs if r.get("latency_s") is not None)
        p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))] if lat else float("nan")
        h = hops.get(policy, {})
        out.append(
            f"| {policy} | {len(ok)} of {len(recs)} | {ev / un:.2f}× ({ev} / {un}) "
            f"| {statistics.median(ratios):.2f}× | {ev / sum(floors):.2f}× | {above} "
            f"| {h.get('sessions_on_two_workers', '–')} of {h.get('sessions', '–')} "
            f"| {statistics.median(lat):.2f} / {p95:.2f} "
            f"| {sum(bool(r.get('correct')) for r in recs) / len(recs):.0%} |"
        )
    return "\n".join(out)


async def main_async(args: argparse.Namespace) -> None:
    questions = load_dataset("mmlu", n=args.n, seed=args.seed)
    opts = BenchOptions(typist=Typist(cpm=args.cpm), fast=False, think_s=args.think_s)
    done: set[str] = set()
    if args.out.exists():  # keep finished policies; drop a stopped one's records
        lines = args.out.read_text().splitlines()
        done = {json.loads(x)["policy"] for x in lines if '"summary": true' in x}
        kept = [x for x in lines if json.loads(x)["policy"] in done]
        args.out.write_text("".join(x + "\n" for x in kept))
    todo = [p for p in args.policies.split(",") if p not in done]
    if not todo:
        return
    log_dir = args.out.parent / "scale-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    with cluster(2, policy=None, log_dir=log_dir) as c:
        for policy in todo:
            await run_policy(c, policy, questions, args.typists, opts, args.out, log_dir)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=50, help="MMLU questions per policy")
    ap.add_argument("--typists", type=int, default=8)
    ap.add_argument("--policies", default="consistent_hash,round_robin")
    ap.add_argument("--cpm", type=float, default=240.0)
    ap.add_argument("--think-s", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=Path("benchmarks/runs/scale-cache.jsonl"))
    ap.add_argument("--report", action="store_true", help="only print the table of --out")
    args = ap.parse_args(argv)
    if not args.report:
        asyncio.run(main_async(args))
    print(table(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
