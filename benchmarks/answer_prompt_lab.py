"""Answer prompts on GSM-style problems, tried on one tuning sample (not a reported one).

Each problem is typed once per note policy into a live session (virtual clock, 1 s pause,
prewarm); then several answer prompts are tried on the same transcript, each on the same
engine, so the only difference between rows is the answer prompt (and, between note
policies, the notes). Rows:

- ``notes-facts/short``: the paper's short answer over ``facts`` notes;
- ``notes-facts/reason``: the ``reason`` tail (a brief derivation, told to check notes);
- ``notes-facts/reread``: a tail telling it to read every number from the message again;
- ``notes-facts/started``: the reread tail with the answer's first words written for it
  (llama.cpp continues a final assistant message);
- ``notes-steps/reason``, ``notes-free/reason``: the ``reason`` tail over other notes;
- ``plain/brief``: no notes: the plain layout with the ``reason`` directive (what
  ``notes="auto"`` does on a word problem);
- ``plain/equations``: no notes, the derivation as named equations only
  (``EQUATIONS``: fewer tokens for the same steps);
- ``plain/assignments``: no notes, the derivation as code-like assignments with their
  values (``ASSIGNMENTS``; the models are code models);
- ``plain/baseline``: the conventional step-by-step prompt.

``--rows plain/`` runs only the rows whose name starts with one of the given prefixes.

Usage: .venv/bin/python benchmarks/answer_prompt_lab.py --n 12 --out FILE.jsonl
(resumable; prints accuracy and median answer tokens per row at the end)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from livemind.answer_modes import answer_directive, solve_directive
from livemind.backends.base import Message, Request, Stage
from livemind.backends.llamacpp import LlamaCppBackend
from livemind.calls import CallRecord, stream_call
from livemind.config import SessionConfig
from livemind.eval.answers import extract_answer, is_correct
from livemind.eval.datasets import Question, load_dataset
from livemind.eval.unseen import RecordingBackend
from livemind.formats import DONE_MARK, baseline_messages, solve_messages
from livemind.models import resolve_model
from livemind.session import LiveSession
from livemind.typist import type_and_commit

REREAD = (
    "Solve it now as a few short equations, one per line, reading every number from the "
    "message again (your earlier lines may be wrong)."
)


EQUATIONS = (
    "Solve it with a few named equations, one per line (name = expression = value), "
    "taking every number from the text; no other words."
)
ASSIGNMENTS = (
    "Work it out as short assignments, one per line, each with its value worked out "
    "(e.g. total_cost = 3 * 4 = 12); no prose, no code block."
)


async def transcript(engine: LlamaCppBackend, q: Question, notes: str) -> list[Message]:
    """The short-mode answer messages after typing ``q`` with a note policy."""
    await engine.reset_cache()
    log = RecordingBackend(engine)
    cfg = SessionConfig(answer_mode="short", notes=notes, answer_instruction=q.answer_instruction())
    session = LiveSession(log, cfg)
    try:
        await type_and_commit(session, q.stem, fast=True, think_s=1.0)
    finally:
        await session.aclose()
    return log.sent[-1][0]


def with_tail(messages: list[Message], tail: str) -> list[Message]:
    """``messages`` with the final turn's instruction (after the done mark) replaced."""
    last = messages[-1]["content"]
    text = last[: last.index(DONE_MARK)]
    return [*messages[:-1], {"role": "user", "content": f"{text}{DONE_MARK}\n\n{tail}"}]


async def rows(
    engine: LlamaCppBackend, q: Question, wanted: tuple[str, ...] = ("",)
) -> dict[str, list[Message]]:
    instr = q.answer_instruction()
    out = {
        "plain/brief": solve_messages(q.stem, f"{solve_directive('reason', 0)} {instr}"),
        "plain/equations": solve_messages(q.stem, f"{EQUATIONS} {instr}"),
        "plain/assignments": solve_messages(q.stem, f"{ASSIGNMENTS} {instr}"),
        "plain/baseline": baseline_messages(q.stem, instr),
    }
    if any("notes-".startswith(w) or w.startswith("notes-") for w in wanted):
        out |= await note_rows(engine, q, instr)
    return {k: v for k, v in out.items() if k.startswith(wanted)}


async def note_rows(engine: LlamaCppBackend, q: Question, instr: str) -> dict[str, list[Message]]:
    """The rows over notes (each note policy's problem typed into a live session)."""
    reason = f"{answer_directive('reason', 0)} {instr}"
    facts = await transcript(engine, q, "facts")
    out = {
        "notes-facts/short": facts,
        "notes-facts/reason": with_tail(facts, reason),
        "notes-facts/reread": with_tail(facts, f"{REREAD} {instr}"),
        "notes-facts/started": [
            *with_tail(facts, f"{REREAD} {instr}"),
            {"role": "assistant", "content": "Solution from the message:\n"},
        ],
    }
    for notes in ("steps", "free"):
        out[f"notes-{notes}/reason"] = with_tail(await transcript(engine, q, notes), reason)
    return out


async def answer(engine: LlamaCppBackend, messages: list[Message]) -> tuple[str, CallRecord]:
    await engine.reset_cache()
    await engine.prewarm(Request(messages, max_tokens=1))  # as at Enter with prewarm
    record = CallRecord(Stage.OUTPUT, engine.model)
    text = await stream_call(engine, Request(messages, max_tokens=512), record)
    if messages[-1]["role"] == "assistant":
        text = messages[-1]["content"] + text
    return text, record


def summary(path: Path) -> None:
    acc: dict[str, list[bool]] = defaultdict(list)
    tokens: dict[str, list[int]] = defaultdict(list)
    for line in path.read_text().splitlines():
        r = json.loads(line)
        acc[r["row"]].append(r["correct"])
        tokens[r["row"]].append(r["tokens"])
    print(f"\n{'row':22} {'n':>3} {'right':>5} {'median tokens':>14}")
    for row in acc:
        n = len(acc[row])
        med = statistics.median(tokens[row])
        print(f"{row:22} {n:3d} {sum(acc[row]):5d} {med:14.0f}")


async def main(args: argparse.Namespace) -> None:
    out = Path(args.out)
    done = set()
    if out.exists():
        done = {json.loads(line)["qid"] for line in out.read_text().splitlines()}
    engine = LlamaCppBackend(resolve_model(args.model), n_parallel=1, n_threads=2, host_cache_mib=0)
    try:
        for q in load_dataset("gsm", n=args.n, seed=args.seed, min_sentences=4):
            if q.qid in done:
                continue
            records: list[dict[str, Any]] = []
            for row, messages in (await rows(engine, q, tuple(args.rows))).items():
                text, rec = await answer(engine, messages)
                got = extract_answer(text, "number")
                records.append(
                    {
                        "qid": q.qid,
                        "row": row,
                        "gold": q.gold,
                        "extracted": got,
                        "correct": is_correct(got, q.gold, "number"),
                        "tokens": rec.completion_tokens,
                        "answer": text,
                        "prompt": messages,
                    }
                )
                print(q.qid, row, records[-1]["correct"], rec.completion_tokens, flush=True)
            with out.open("a") as f:  # a problem's rows land together (resumable)
                f.writelines(json.dumps(r) + "\n" for r in records)
    finally:
        await engine.aclose()
    summary(out)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1, help="GSM seed (1: the tuning sample)")
    parser.add_argument("--out", required=True)
    parser.add_argument(
        "--rows", nargs="*", default=[""], help="row name prefixes to run (default: all)"
    )
    asyncio.run(main(parser.parse_args()))
