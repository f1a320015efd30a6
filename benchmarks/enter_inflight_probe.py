"""What is still running at Enter, and how long the answer's first token waits for it.

Types MMLU questions (the tuning seed by default, not a reported one) into sessions of the
given bench configs, side by side on one engine, with the bench's protocol (options at
once with the last key, 1 s pause), and records per answer: the kind of typing-phase call
in flight at Enter (``prewarm``, ``inference`` or none) and the *wait*: the answer's time
to first token minus its evaluated prompt tokens at the measured prefill rate, i.e. time
spent on anything but its own prefill (mostly the engine finishing a call it cannot stop
in the middle of a prompt batch).

Usage: .venv/bin/python benchmarks/enter_inflight_probe.py [--n 10] [--seed 42] \
    [--configs output-only/aligned+prewarm,livemind+prewarm+keep]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections import Counter

from livemind.backends import open_backend
from livemind.eval.configs import parse_config
from livemind.eval.datasets import load_dataset
from livemind.eval.runner import BenchOptions, measure_rates, run_one
from livemind.typing_worker import TypingWorker

IN_FLIGHT: list[str] = []  # the call kind at each Enter, in order


def record_in_flight_calls() -> None:
    """Note the typing-phase call that each commit finds running (wraps the method)."""
    finish = TypingWorker.finish

    async def noting(self: TypingWorker, policy: str) -> None:
        flight = self.in_flight
        IN_FLIGHT.append(str(flight.job.kind) if flight is not None else "none")
        await finish(self, policy)

    TypingWorker.finish = noting  # type: ignore[method-assign]


async def probe(args: argparse.Namespace) -> None:
    record_in_flight_calls()
    engine = open_backend(args.model, host_cache_mib=0, n_threads=2)
    try:
        rates = await measure_rates(engine)
        print(f"prefill {rates.prefill:.1f} tokens/s, decode {rates.decode:.1f} tokens/s")
        configs = [parse_config(spec) for spec in args.configs.split(",")]
        opts = BenchOptions(think_s=args.think_s, seed=args.seed)
        rows: dict[str, list[tuple[str, float, float]]] = {c.name: [] for c in configs}
        for i, question in enumerate(load_dataset("mmlu", n=args.n, seed=args.seed)):
            k = i % len(configs)
            for config in configs[k:] + configs[:k]:  # each goes first in turn
                IN_FLIGHT.clear()
                r = await run_one(question, config, engine, engine, rates, opts)
                if r.get("error"):
                    print(f"{question.qid} {config.name}: {r['error']}")
                    continue
                wait = r["ttft_s"] - r["final_evaluated_tokens"] / rates.prefill
                kind = IN_FLIGHT[0] if IN_FLIGHT else "none"
                rows[config.name].append((kind, wait, r["ttft_s"]))
                print(f"{question.qid} {config.name}: {kind} at Enter, wait {wait:.2f} s")
        for name, got in rows.items():
            kinds = Counter(kind for kind, _, _ in got)
            print(
                f"{name}: median wait {statistics.median(w for _, w, _ in got):.2f} s, "
                f"median TTFT {statistics.median(t for _, _, t in got):.2f} s, "
                f"in flight at Enter {dict(kinds)} of {len(got)}"
            )
    finally:
        engine.close()


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--n", type=int, default=10)
    p.add_argument("--seed", type=int, default=42, help="MMLU sample (default 42: tuning)")
    p.add_argument("--model", default="qwen2.5-coder-1.5b")
    p.add_argument("--think-s", type=float, default=1.0)
    p.add_argument("--configs", default="output-only/aligned+prewarm,livemind+prewarm+keep")
    asyncio.run(probe(p.parse_args()))


if __name__ == "__main__":
    main()
