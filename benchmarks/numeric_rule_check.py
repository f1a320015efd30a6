"""How many questions read as a numeric word problem under the rule before aacbd23 (two
numbers, no options) and under today's ``looks_numeric`` (numbers also in a third of
the sentences), checked at each sentence end as the text is typed. The counts in
BENCHMARKS §10 and docs/METHOD.md come from here.

Usage: .venv/bin/python benchmarks/numeric_rule_check.py   (the long set takes minutes)
"""

from __future__ import annotations

import re

from livemind.answer_modes import NUMBER, OPTION_LINE, looks_numeric
from livemind.eval.datasets import load_dataset

SENTENCE_END = re.compile(r"[.?!](\s|$)")


def old_rule(text: str) -> bool:
    return len(NUMBER.findall(text)) >= 2 and len(OPTION_LINE.findall(text)) < 2


def main() -> None:
    samples = [("gsm", {"n": 200}), ("mmlu", {"n": 200, "seed": 7}), ("long", {"n": 100})]
    for name, kwargs in samples:
        questions = load_dataset(name, **kwargs)
        paused_old = paused_new = changed = 0
        for q in questions:
            cuts = [q.stem[: m.end()] for m in SENTENCE_END.finditer(q.stem)] or [q.stem]
            old = [old_rule(c) for c in cuts]
            new = [looks_numeric(c) for c in cuts]
            paused_old, paused_new = paused_old + any(old), paused_new + any(new)
            changed += old != new
        print(
            f"{name}: {len(questions)} questions; ever numeric while typed: "
            f"{paused_old} before, {paused_new} now; "
            f"read differently at some sentence end: {changed}"
        )


if __name__ == "__main__":
    main()
