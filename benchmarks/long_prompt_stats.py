"""What happens as prompts grow: per configuration and prompt-length bin, the typing-phase
work (inference calls, calls per minute of typing, prewarm calls), whether the cache kept
up (answer-prompt tokens evaluated at Enter against those never sent, the wait for a call
still running at Enter) and the answer's latency against its physical limit; then
accuracy per source dataset; then how far back the notes reach (``eval.note_reach``),
with the farthest-reaching notes as examples.

    .venv/bin/python benchmarks/long_prompt_stats.py benchmarks/runs/long-qwen1.5b.jsonl --common
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence

from livemind.eval.by_length import LENGTH_BINS, length_bin
from livemind.eval.note_reach import Reach, note_reaches
from livemind.eval.record_reading import Record, median_or_none, nums
from livemind.eval.selection import add_selection_arguments, answered_by_config


def _fmt(x: float | None, spec: str = ".1f", suffix: str = "") -> str:
    return "–" if x is None else f"{x:{spec}}{suffix}"


def calls_per_minute(recs: Sequence[Record]) -> float | None:
    """Inference calls per minute of typing, over all of ``recs`` (records with typing_s)."""
    timed = [r for r in recs if r.get("typing_s")]
    minutes = sum(float(r["typing_s"]) for r in timed) / 60
    return sum(int(r.get("inference_calls") or 0) for r in timed) / minutes if minutes else None


def evaluated_over_unseen(recs: Sequence[Record]) -> float | None:
    pairs = [
        (float(r["final_evaluated_tokens"]), float(r["final_unseen_tokens"]))
        for r in recs
        if r.get("final_evaluated_tokens") is not None and r.get("final_unseen_tokens")
    ]
    unseen = sum(u for _, u in pairs)
    return sum(e for e, _ in pairs) / unseen if unseen else None


def row(config: str, label: str, recs: Sequence[Record]) -> str:
    ratio = [
        float(r["latency_s"]) / float(r["limit_s"])
        for r in recs
        if r.get("latency_s") is not None and r.get("limit_s")
    ]
    cells = [
        f"`{config}`",
        label,
        str(len(recs)),
        _fmt(median_or_none(nums(recs, "latency_s")), ".2f", " s"),
        _fmt(median_or_none(ratio), ".2f", "×"),
        _fmt(median_or_none(nums(recs, "inference_calls")), ".0f"),
        _fmt(calls_per_minute(recs)),
        _fmt(median_or_none(nums(recs, "prewarm_calls")), ".0f"),
        _fmt(median_or_none(nums(recs, "final_evaluated_tokens")), ".0f"),
        _fmt(evaluated_over_unseen(recs), ".2f", "×"),
        _fmt(median_or_none(nums(recs, "overhead_s")), ".2f", " s"),
    ]
    return "| " + " | ".join(cells) + " |"


def by_bin(recs: Sequence[Record]) -> dict[str, list[Record]]:
    bins: dict[str, list[Record]] = defaultdict(list)
    for r in recs:
        if (b := length_bin(r.get("prompt_sentences"))) is not None:
            bins[b].append(r)
    return {b: bins[b] for b in sorted(bins, key=LENGTH_BINS.index)}


def reach_table(by_config: dict[str, list[Record]], examples: int = 3) -> None:
    """Per configuration with notes and length bin: how far back the notes reach; then
    the farthest-reaching notes."""
    print("| config | sentences | notes | reaching back | ≥ 5 back | median reach | farthest |")
    print("| --- " * 7 + "|")
    farthest: list[tuple[Reach, str]] = []
    for config, recs in by_config.items():
        for b, rs in by_bin(recs).items():
            pairs = [(x, str(r.get("qid"))) for r in rs for x in note_reaches(r["actions"] or [])]
            reaches = [x for x, _ in pairs]
            if not reaches:
                continue
            back = [x.reach for x in reaches if x.reach > 0]
            far = sum(x.reach >= 5 for x in reaches)
            cells = [f"`{config}`", b, str(len(reaches)), f"{100 * len(back) / len(reaches):.0f} %"]
            cells += [f"{100 * far / len(reaches):.0f} %", _fmt(median_or_none(back), ".0f")]
            cells.append(str(max(back, default=0)))
            print("| " + " | ".join(cells) + " |")
            farthest += pairs
    farthest.sort(key=lambda pair: -pair[0].reach)
    distinct = {qid: (x, qid) for x, qid in reversed(farthest)}  # a question's farthest
    for x, qid in sorted(distinct.values(), key=lambda pair: -pair[0].reach)[:examples]:
        print(f"\n- {qid}, note on sentence {x.at + 1}, reaching {x.reach} back ({x.word!r}):")
        print(f"  note: {x.note[:200]!r}")
        print(f"  sentence {x.at + 1 - x.reach}: {x.source[:200]!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_selection_arguments(parser)
    args = parser.parse_args()
    by_config = answered_by_config(args.records, args.configs, args.common)
    print(
        "| config | sentences | n | median latency | latency / limit | inference calls | "
        "calls per typing minute | prewarm calls | evaluated at Enter | evaluated ÷ unseen | "
        "wait at Enter |"
    )
    print("| --- " * 11 + "|")
    for config, recs in by_config.items():
        for b, rs in by_bin(recs).items():
            print(row(config, b, rs))
        print(row(config, "all", recs))
    print()
    print("| config | source | n | accuracy |")
    print("| --- | --- | --- | --- |")
    for config, recs in by_config.items():
        sources: dict[str, list[Record]] = defaultdict(list)
        for r in recs:
            sources[str(r.get("dataset"))].append(r)
        for source, rs in sorted(sources.items()):
            right = sum(bool(r.get("correct")) for r in rs)
            print(f"| `{config}` | {source} | {len(rs)} | {100 * right / len(rs):.1f} % |")
    print()
    reach_table(by_config)


if __name__ == "__main__":
    main()
