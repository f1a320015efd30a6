"""Per configuration: how often it thinks ahead and how its answers start.

Reads bench records (``livemind report``'s selection flags apply) and prints, per
configuration: questions, one-sentence stems, mean inference calls, one-sentence stems
that got an inference call, and answers that open with "The answer is".

    .venv/bin/python benchmarks/answer_shape.py benchmarks/runs/mmlu-qwen1.5b.jsonl \\
        benchmarks/runs/mmlu-qwen1.5b-formats.jsonl --configs livemind,livemind/u-pi --common
"""

from __future__ import annotations

import argparse

from livemind.eval.selection import add_selection_arguments, answered_by_config


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "–"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_selection_arguments(parser)
    args = parser.parse_args()
    by_config = answered_by_config(args.records, args.configs, args.common)
    print(
        "| config | n | one-sentence stems | inference calls (mean) | "
        'one-sentence stems with a call | answers opening with "The answer is" |'
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for config, recs in by_config.items():
        one = [r for r in recs if r.get("prompt_sentences") == 1]
        calls = sum(r.get("inference_calls") or 0 for r in recs) / len(recs)
        with_call = sum(1 for r in one if r.get("inference_calls"))
        answers = (str(r.get("answer", "")).lstrip() for r in recs)
        first = sum(1 for a in answers if a.startswith("The answer is"))
        print(
            f"| `{config}` | {len(recs)} | {_share(len(one), len(recs))} | {calls:.2f} | "
            f"{_share(with_call, len(one))} | {_share(first, len(recs))} |"
        )


if __name__ == "__main__":
    main()
