"""One bench question typed into one session, with every session event and its time.

Types the question as ``livemind bench`` does (virtual typing at 240 cpm, options at
once with the last key, ``--think-s`` pause, then Enter) under one config and prints the
last ``--tail`` events: the session's clock, the wall clock, the event and its fields
(shortened). What a record's numbers cannot say (which call ran when, what Enter cut,
how long the answer waited) shows here.

Usage: .venv/bin/python benchmarks/turn_trace.py QID [--dataset long] [--config SPEC]
e.g.   .venv/bin/python benchmarks/turn_trace.py mmlu/high_school_world_history/0103
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from livemind.backends import open_backend
from livemind.eval.configs import parse_config
from livemind.eval.datasets import DATASETS, load_dataset
from livemind.eval.runner import BenchOptions, measure_rates, run_one
from livemind.session import LiveSession

Stamped = tuple[float, float, str, dict[str, str]]


def trace_sessions(into: list[Stamped]) -> None:
    """Stamp every event of every session created from now on into ``into``."""
    create = LiveSession.__init__

    def traced(self: LiveSession, *args: Any, **kwargs: Any) -> None:
        create(self, *args, **kwargs)
        clock = self.clock

        def stamp(event: Any) -> None:
            fields = {k: str(v)[:60] for k, v in event.data.items() if k != "segments"}
            into.append((clock.now(), time.perf_counter(), str(event.type), fields))

        self.on(stamp)

    LiveSession.__init__ = traced  # type: ignore[method-assign]


async def trace(args: argparse.Namespace) -> None:
    events: list[Stamped] = []
    trace_sessions(events)
    questions = load_dataset(args.dataset, n=args.n, seed=args.seed)
    question = next((q for q in questions if q.qid == args.qid), None)
    if question is None:
        raise SystemExit(f"{args.qid} is not among the first {args.n} {args.dataset} questions")
    engine = open_backend(args.model, host_cache_mib=0, n_threads=2)
    try:
        rates = await measure_rates(engine)
        opts = BenchOptions(think_s=args.think_s)
        record = await run_one(question, parse_config(args.config), engine, engine, rates, opts)
    finally:
        engine.close()
    print("session clock s   wall s  event                        fields")
    for at, wall, name, fields in events[-args.tail :]:
        print(f"{at:12.2f} {wall:8.2f}  {name:28s} {fields}")
    keys = ("latency_s", "ttft_s", "final_evaluated_tokens", "answer_tokens", "correct")
    print({k: record.get(k) for k in keys})


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("qid")
    p.add_argument("--dataset", default="long", choices=DATASETS)
    p.add_argument("--n", type=int, default=100, help="the sample the question is in")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--model", default="qwen2.5-coder-1.5b")
    p.add_argument("--config", default="livemind+prewarm+keep")
    p.add_argument("--think-s", type=float, default=1.0)
    p.add_argument("--tail", type=int, default=40, help="how many of the last events")
    asyncio.run(trace(p.parse_args()))


if __name__ == "__main__":
    main()
