"""Two bench runs of the same configurations (e.g. the code before and after a change),
side by side per configuration on the questions both answered: accuracy with the paired
difference and its 95 % CI, median latency, median TTFT and median latency / physical
limit (the ratio is what compares across runs: absolute times drift between runs), the
median prompt tokens evaluated at Enter, answers with no answer found in them, and on
how many questions the engine did exactly the same work (the same inference and prewarm
calls, the same prompt tokens evaluated and cached at Enter): timing noise cannot change
those, a change of behaviour does.

    python benchmarks/compare_runs.py BEFORE.jsonl AFTER.jsonl
"""

from __future__ import annotations

import argparse
import statistics

from livemind.eval.intervals import paired_difference
from livemind.eval.record_reading import Record, load_records, median_or_none, num, question_key


def by_config(records: list[Record]) -> dict[str, dict[tuple[str, str], Record]]:
    """config -> question -> its answered record (errors left out)."""
    out: dict[str, dict[tuple[str, str], Record]] = {}
    for r in records:
        if r.get("error") is None:
            out.setdefault(str(r["config"]), {})[question_key(r)] = r
    return out


SAME_WORK = ("inference_calls", "prewarm_calls", "final_evaluated_tokens", "final_cached_tokens")


def same_work(a: Record, b: Record) -> bool:
    return all(a.get(k) == b.get(k) for k in SAME_WORK)


def median_of(records: list[Record], key: str) -> str:
    median = median_or_none([v for r in records if (v := num(r.get(key))) is not None])
    return "–" if median is None else f"{median:.2f}"


EVALUATED = "final_evaluated_tokens"  # prompt tokens the answer call evaluated at Enter


def unextracted(records: list[Record]) -> int:
    """Answers from which no answer could be extracted (e.g. no option letter)."""
    return sum(r.get("extracted") is None and r.get("error") is None for r in records)


def ratio_median(records: list[Record]) -> str:
    ratios = [
        lat / lim
        for r in records
        if (lat := num(r.get("latency_s"))) is not None and (lim := num(r.get("limit_s")))
    ]
    return f"{statistics.median(ratios):.2f}×" if ratios else "–"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("before")
    p.add_argument("after")
    args = p.parse_args()
    before, after = by_config(load_records([args.before])), by_config(load_records([args.after]))
    print(
        "| config | n | accuracy before → after | paired diff [95 % CI] "
        "| median latency s | median TTFT s | latency / limit | evaluated at Enter "
        "| no answer found | same work |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for config in sorted(set(before) & set(after)):
        shared = sorted(set(before[config]) & set(after[config]))
        b = [before[config][q] for q in shared]
        a = [after[config][q] for q in shared]
        diff, ci, n = paired_difference(
            {q: after[config][q] for q in shared}, {q: before[config][q] for q in shared}
        )
        acc_b = sum(bool(r.get("correct")) for r in b) / len(b)
        acc_a = sum(bool(r.get("correct")) for r in a) / len(a)
        ci_text = "–" if ci is None else f"[{ci[0] * 100:+.1f}, {ci[1] * 100:+.1f}]"
        diff_text = "–" if diff is None else f"{diff * 100:+.1f} pp {ci_text}"
        print(
            f"| {config} | {n} | {acc_b:.1%} → {acc_a:.1%} | {diff_text} "
            f"| {median_of(b, 'latency_s')} → {median_of(a, 'latency_s')} "
            f"| {median_of(b, 'ttft_s')} → {median_of(a, 'ttft_s')} "
            f"| {ratio_median(b)} → {ratio_median(a)} "
            f"| {median_of(b, EVALUATED)} → {median_of(a, EVALUATED)} "
            f"| {unextracted(b)} → {unextracted(a)} "
            f"| {sum(same_work(x, y) for x, y in zip(b, a, strict=True))}/{n} |"
        )


if __name__ == "__main__":
    main()
