"""Decode throughput of the embedded engine with 1, 2, 4, ... answers written at once.

llama.cpp decodes its busy slots in one batch. Whether several users' answers running side
by side cost less than running them one after the other decides how many answers the
scheduler should admit at once (issue 18): this writes ``--tokens`` tokens in each of k
concurrent calls (short, distinct prompts, ``ignore_eos``) and reports the wall time,
the tokens per second summed over the calls, and the time per call relative to k = 1.

Usage: .venv/bin/python benchmarks/decode_batch_probe.py [--model M] [--tokens 96] 1 2 4 8
"""

from __future__ import annotations

import argparse
import asyncio
import time

from livemind.backends.base import Request, Stage
from livemind.backends.llamacpp import LlamaCppBackend
from livemind.models import resolve_model


def request(k: int, tokens: int) -> Request:
    messages = [{"role": "user", "content": f"Write a short story about lighthouse {k}."}]
    extra = {"ignore_eos": True}
    return Request(messages, max_tokens=tokens, stage=Stage.OUTPUT, extra=extra)


async def run(backend: LlamaCppBackend, k: int, tokens: int) -> tuple[float, int]:
    """Wall seconds and tokens written for k calls at once."""
    t0 = time.perf_counter()
    results = await asyncio.gather(*(backend.complete(request(i, tokens)) for i in range(k)))
    wall = time.perf_counter() - t0
    return wall, sum(usage.completion_tokens for _, usage in results)


async def probe(model: str, ks: list[int], tokens: int, ctx_per_slot: int) -> None:
    slots = max(ks)
    backend = LlamaCppBackend(
        resolve_model(model), n_parallel=slots, n_ctx=ctx_per_slot * slots, n_threads=2
    )
    try:
        await run(backend, 1, 8)  # warm-up
        base = None
        for k in ks:
            wall, written = await run(backend, k, tokens)
            base = base or wall
            print(
                f"{k} at once: {wall:6.2f} s, {written / wall:6.1f} tokens/s in all, "
                f"{wall / base:4.2f}x the time of one call ({k / (wall / base):4.2f}x throughput)",
                flush=True,
            )
    finally:
        await backend.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("k", type=int, nargs="+")
    parser.add_argument("--model", default="qwen2.5-coder-0.5b")
    parser.add_argument("--tokens", type=int, default=96)
    parser.add_argument("--ctx-per-slot", type=int, default=1024)
    args = parser.parse_args()
    asyncio.run(probe(args.model, args.k, args.tokens, args.ctx_per_slot))


if __name__ == "__main__":
    main()
