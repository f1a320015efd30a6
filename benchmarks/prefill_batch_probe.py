"""Prefill time of one ~590-token prompt at several llama.cpp ``n_batch`` values.

A smaller batch lets a cancelled call (a superseded prewarm) stop sooner, since the engine
checks for cancellation between batches; this measures what it costs in prefill speed.
Usage: .venv/bin/python benchmarks/prefill_batch_probe.py [--model M] 2048 256 128 64 32
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from livemind.backends.base import Request
from livemind.backends.llamacpp import LlamaCppBackend
from livemind.models import resolve_model

TEXT = " ".join(
    f"Sentence number {i} talks about apples, rivers and the year {1900 + i}." for i in range(30)
)


async def probe(model: str, n_batch: int, repeats: int) -> None:
    backend = LlamaCppBackend(resolve_model(model), n_batch=n_batch, n_parallel=1, n_threads=2)
    times, tokens = [], None
    try:
        for k in range(repeats):
            await backend.reset_cache()
            messages = [{"role": "user", "content": f"{k} {TEXT}"}]
            t0 = time.perf_counter()
            usage = await backend.prewarm(Request(messages, max_tokens=1))
            times.append(time.perf_counter() - t0)
            tokens = getattr(usage, "prompt_tokens", None)
    finally:
        await backend.aclose()
    print(f"n_batch {n_batch:5d}: {tokens} prompt tokens, median {statistics.median(times):.3f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_batch", type=int, nargs="+")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    for n_batch in args.n_batch:
        asyncio.run(probe(args.model, n_batch, args.repeats))


if __name__ == "__main__":
    main()
