"""Prefill and decode speed of the embedded engine as the context grows.

For each context size N: a prefix of about N tokens is prefilled once, then a few calls
each add a different ~64-token text after it and decode 16 tokens; their prefill rate
(tokens evaluated ÷ time to first token) and decode rate are printed per N, with the
benchmark's own calibration (``eval.runner.measure_rates``, a short prompt) for
comparison. The physical limit (BENCHMARKS, DESIGN §2) uses that short-prompt
calibration; this shows how far the long-prompt benchmark's answers (1,000–2,000 tokens
of context) are from it.

    .venv/bin/python benchmarks/context_rate_probe.py --model qwen2.5-coder-1.5b \
        --out benchmarks/runs/context-rates-qwen1.5b.json 0 500 1000 2000 3000

``--out`` keeps the numbers for ``long_prompt_stats.py --context-rates``
(``livemind.eval.physical_limit``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from pathlib import Path
from typing import Any

from livemind.backends.base import Request, Stage
from livemind.backends.llamacpp import LlamaCppBackend
from livemind.calls import CallRecord, stream_call
from livemind.eval.runner import measure_rates
from livemind.models import resolve_model

SENTENCE = "Line {i} of the ledger says the {w} barge carried {n} crates of tin upriver."
WORDS = ["red", "slow", "old", "long", "grey", "small", "new", "wide"]


def prefix_text(tokens: int) -> str:
    """About ``tokens`` tokens of plain text (one line is ~19 tokens)."""
    lines = max(0, round(tokens / 19))
    return " ".join(SENTENCE.format(i=i, w=WORDS[i % 8], n=i * 13) for i in range(lines))


def tail_text(k: int) -> str:
    """About 64 tokens that differ from the first word on for each ``k``."""
    return f"Question {k}: " + " ".join(
        f"option {c} names the {WORDS[(k + j) % 8]} barge number {k * 31 + j}."
        for j, c in enumerate("ABCD")
    )


async def probe(model: str, sizes: list[int], repeats: int) -> dict[str, Any]:
    backend = LlamaCppBackend(resolve_model(model), n_parallel=1, n_threads=2, n_ctx=8192)
    try:
        rates = await measure_rates(backend)
        print(f"calibration: prefill {rates.prefill:.1f} tok/s, decode {rates.decode:.1f} tok/s")
        print("| context | prefill tok/s | decode tok/s | evaluated |")
        print("| --- | --- | --- | --- |")
        points = []
        for n in sizes:
            await backend.reset_cache()
            prefix = prefix_text(n)
            if prefix:
                head = {"role": "user", "content": prefix}
                await backend.prewarm(Request([head], max_tokens=1, stage=Stage.PREWARM))
            prefills, decodes, context, evaluated = [], [], 0, 0
            for k in range(repeats):
                content = f"{prefix} {tail_text(k)}" if prefix else tail_text(k)
                record = CallRecord(Stage.INFERENCE, backend.model)
                request = Request(
                    [{"role": "user", "content": content}],
                    max_tokens=16,
                    extra={"ignore_eos": True},
                    stage=Stage.INFERENCE,
                )
                await stream_call(backend, request, record)
                ttft = record.ttft_s or record.wall_s
                evaluated = record.evaluated_tokens or record.prompt_tokens
                context = record.prompt_tokens
                prefills.append(evaluated / ttft)
                decodes.append((record.completion_tokens - 1) / max(record.wall_s - ttft, 1e-6))
            point = {
                "context": context,
                "prefill": round(statistics.median(prefills), 2),
                "decode": round(statistics.median(decodes), 2),
            }
            points.append(point)
            print(f"| {context} | {point['prefill']} | {point['decode']} | {evaluated} |")
    finally:
        await backend.aclose()
    calibration = {"prefill": round(rates.prefill, 2), "decode": round(rates.decode, 2)}
    return {"model": model, "calibration": calibration, "points": points}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", type=int, nargs="+", help="context sizes in tokens")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="write the numbers here (JSON)")
    args = parser.parse_args()
    result = asyncio.run(probe(args.model, args.sizes, args.repeats))
    if args.out is not None:
        args.out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
