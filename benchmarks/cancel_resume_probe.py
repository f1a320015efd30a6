"""What a call cancelled in the middle of its prefill leaves to the next call.

A ~660-token prompt is cached; a call adds ~110 tokens to it and is cancelled after
0.4 s (while the engine prefills them); the next call extends that prompt by two words.
Printed per ``n_batch``: how many of its tokens the next call had to evaluate and when
its first token came. With one 2,048-token batch the engine finishes the cancelled
prefill before it stops and keeps it (the next call evaluates only its own words, but
waits for that prefill); smaller batches stop sooner but leave the rest to the next call.

    .venv/bin/python benchmarks/cancel_resume_probe.py --model qwen2.5-coder-1.5b 2048 64
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from livemind.backends.base import Request, Stage
from livemind.backends.llamacpp import LlamaCppBackend
from livemind.calls import CallRecord, stream_call
from livemind.models import resolve_model

PASSAGE = " ".join(f"Sentence {i} is about apples and the year {1900 + i}." for i in range(40))
OPTIONS = " ".join(
    f"Option {c}: the river number {i} flows east past {c} town." for i, c in enumerate("ABCDEFGH")
)


async def call(backend: LlamaCppBackend, content: str, cancel_after: float | None) -> CallRecord:
    record = CallRecord(Stage.INFERENCE, backend.model)
    request = Request([{"role": "user", "content": content}], max_tokens=2, stage=Stage.INFERENCE)
    task = asyncio.create_task(stream_call(backend, request, record))
    if cancel_after is None:
        await task
    else:
        await asyncio.sleep(cancel_after)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return record


async def probe(model: str, n_batch: int, repeats: int) -> None:
    backend = LlamaCppBackend(resolve_model(model), n_batch=n_batch, n_parallel=1, n_threads=2)
    try:
        for _ in range(repeats):
            await backend.reset_cache()
            await call(backend, PASSAGE, None)
            await call(backend, f"{PASSAGE}\n{OPTIONS}", cancel_after=0.4)
            nxt = await call(backend, f"{PASSAGE}\n{OPTIONS}\nWhich one?", None)
            print(
                f"n_batch {n_batch:5d}: next call {nxt.prompt_tokens} prompt tokens, "
                f"{nxt.evaluated_tokens} evaluated, first token after {nxt.ttft_s:.2f} s"
            )
    finally:
        await backend.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n_batch", type=int, nargs="+")
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    for n_batch in args.n_batch:
        asyncio.run(probe(args.model, n_batch, args.repeats))


if __name__ == "__main__":
    main()
