"""How fast a perfect per-turn answer-mode selector could be, from bench records.

For the questions every named configuration answered, picks with hindsight the fastest
right answer, else the default's (``livemind.eval.oracle``), and prints accuracy and
median latency against the baseline and the default. If this bound misses a latency
target, a selector that leaves the default only for a right answer (whatever it reads:
question shape, agreement with the notes, token probabilities) misses it too.

    .venv/bin/python benchmarks/oracle_selector.py benchmarks/runs/gsm-qwen1.5b-modes.jsonl \\
        --default livemind+prewarm
"""

from __future__ import annotations

import argparse

from livemind.eval.oracle import oracle_choice
from livemind.eval.selection import canonical_config_names, select_records
from livemind.eval.stats import load_records


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="+")
    parser.add_argument("--default", required=True, help="the configuration a selector leaves")
    parser.add_argument(
        "--candidates", default="", help="comma-separated; all livemind/output-only rows if empty"
    )
    parser.add_argument("--baseline", default="baseline")
    args = parser.parse_args()
    records = load_records(args.records)
    present = {str(r["config"]) for r in records}
    (default,) = canonical_config_names(args.default, present)
    candidates = canonical_config_names(args.candidates, present) or sorted(
        c for c in present if c != default and c.startswith(("livemind", "output-only"))
    )
    chosen = select_records(records, configs=[args.baseline, default, *candidates], common=True)
    base = oracle_choice(chosen, default=args.baseline, candidates=[])
    print(f"{base.questions} questions, {len(candidates)} candidates besides {default}")
    print("| selector | right | median latency | × baseline | picks other than the default |")
    print("| --- | --- | --- | --- | --- |")
    rows = [
        ("baseline", base),
        ("the default alone", oracle_choice(chosen, default=default, candidates=[])),
        (
            "hindsight: fastest right answer",
            oracle_choice(chosen, default=default, candidates=candidates),
        ),
    ]
    for label, res in rows:
        picks = "–" if res is base else res.faster_picks
        print(
            f"| {label} | {res.right} | {res.median_latency_s:.2f} s | "
            f"{res.median_latency_s / base.median_latency_s:.2f} | {picks} |"
        )


if __name__ == "__main__":
    main()
