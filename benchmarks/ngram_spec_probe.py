"""Does llama.cpp's draft-free (n-gram) speculative decoding speed up `reason` answers here?

For each GSM problem (tuning seed by default, not a reported one) the problem is typed
into a live session (virtual clock, default settings, `reason` answers) on a plain engine,
and the answer call's messages are kept. Then the same messages are answered on engines
that differ only in ``ngram_spec`` (none, and each type given), side by side, alternating
their order, each on a prefilled cache (as at Enter with prewarm), so only decoding is
compared. Prints decode tokens/s per engine, the speed-up against none, the share of
drafted tokens the model accepted (llama.cpp's ``draft_n_accepted / draft_n``), and whether
the answers are identical (lossless in exact arithmetic; batched verification may round
differently).

Usage: .venv/bin/python benchmarks/ngram_spec_probe.py [--n 8] [--seed 1] [ngram-simple ...]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics

from livemind.backends.base import Request, Stage
from livemind.backends.llamacpp import LlamaCppBackend
from livemind.calls import CallRecord, stream_call
from livemind.config import SessionConfig
from livemind.eval.datasets import load_dataset
from livemind.eval.unseen import RecordingBackend
from livemind.models import resolve_model
from livemind.session import LiveSession
from livemind.typist import type_and_commit


async def answer_messages(engine: LlamaCppBackend, stem: str, instruction: str) -> list:
    """The answer call's messages after typing ``stem`` into a default session."""
    await engine.reset_cache()
    log = RecordingBackend(engine)
    cfg = SessionConfig(answer_mode="reason", answer_instruction=instruction)
    session = LiveSession(log, cfg)
    try:
        await type_and_commit(session, stem, fast=True, think_s=1.0)
    finally:
        await session.aclose()
    return log.sent[-1][0]


async def decode(
    engine: LlamaCppBackend, messages: list, budget: int
) -> tuple[float, int, str, tuple]:
    """(decode tokens/s, tokens, text, (drafted, accepted)) of one answer on a prefilled
    cache; the draft counts are (0, 0) on an engine that does not speculate."""
    await engine.reset_cache()
    await engine.prewarm(Request(messages, max_tokens=1))
    record = CallRecord(Stage.OUTPUT, engine.model)
    text = await stream_call(engine, Request(messages, max_tokens=budget), record)
    decode_s = max(record.wall_s - (record.ttft_s or 0.0), 1e-6)
    drafts = (record.extra.get("draft_tokens", 0), record.extra.get("draft_accepted", 0))
    return max(record.completion_tokens - 1, 1) / decode_s, record.completion_tokens, text, drafts


async def main(args: argparse.Namespace) -> None:
    path = resolve_model(args.model)
    kinds = [None, *args.types]
    engines = {
        k: LlamaCppBackend(path, n_parallel=1, n_threads=2, host_cache_mib=0, ngram_spec=k)
        for k in kinds
    }
    rates: dict[str | None, list[float]] = {k: [] for k in kinds}
    same = dict.fromkeys(args.types, 0)
    drafted = {k: [0, 0] for k in args.types}
    try:
        questions = load_dataset("gsm", n=args.n, seed=args.seed, min_sentences=4)
        for i, q in enumerate(questions):
            messages = await answer_messages(engines[None], q.stem, q.answer_instruction())
            texts = {}
            for k in kinds[i % len(kinds) :] + kinds[: i % len(kinds)]:
                rate, tokens, texts[k], drafts = await decode(engines[k], messages, args.budget)
                rates[k].append(rate)
                if k is not None:
                    drafted[k][0] += drafts[0] or 0
                    drafted[k][1] += drafts[1] or 0
            for k in args.types:
                same[k] += texts[k] == texts[None]
            print(
                f"{q.qid}: {tokens} tokens, "
                + ", ".join(f"{k or 'none'} {rates[k][-1]:.1f} tok/s" for k in kinds)
            )
    finally:
        for engine in engines.values():
            await engine.aclose()
    base = statistics.median(rates[None])
    print(f"\nmedian decode rate over {args.n} answers (model {args.model}):")
    print(f"  none: {base:.1f} tokens/s")
    for k in args.types:
        med = statistics.median(rates[k])
        n_draft, n_ok = drafted[k]
        accepted = f"{n_ok}/{n_draft} drafted tokens accepted" if n_draft else "no drafts"
        print(
            f"  {k}: {med:.1f} tokens/s ({med / base:.2f}x), {accepted}, "
            f"identical answers {same[k]}/{args.n}"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("types", nargs="*", default=["ngram-simple", "ngram-mod"])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1, help="GSM seed (1: the tuning sample)")
    parser.add_argument("--budget", type=int, default=192)
    asyncio.run(main(parser.parse_args()))
