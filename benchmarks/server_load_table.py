"""The records of `server_load.py` (JSON lines) as a Markdown table, one row per arm and
typist count, with each p95 latency and median TTFT also as a multiple of the same arm's
single typist in the same file (the ratio the load targets are stated in); an arm is the
server's scheduling and the options it ran under.

    python benchmarks/server_load_table.py benchmarks/runs/server-load-final.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

COLUMNS = (
    "arm",
    "typists",
    "answers",
    "p50",
    "p95",
    "p95 × 1 typist",
    "median TTFT",
    "TTFT × 1 typist",
    "answer tokens: evaluated / written (medians)",
    "notes / question",
    "note calls (deferred)",
    "prefills deferred",
    "refused",
    "errors",
    "server CPU",
)


def _s(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f} s"


def _n(x: float | None) -> str:
    return "–" if x is None else f"{x:g}"


def _times(x: float | None, base: float | None) -> str:
    return "–" if x is None or not base else f"{x / base:.2f}×"


def arm_of(record: dict) -> str:
    """The arm's name, with the server options it ran under (runs of one file may
    differ in them, e.g. ``--answer-budget``)."""
    return " ".join([record["scheduling"], *record.get("serve_args", [])])


def rows(records: list[dict]) -> list[list[str]]:
    """One table row per record, in the file's order grouped by arm."""
    single = {arm_of(r): r for r in records if r["typists"] == 1}
    out = []
    for arm in dict.fromkeys(arm_of(r) for r in records):
        base = single.get(arm, {})
        for r in (r for r in records if arm_of(r) == arm):
            refused = str(r.get("refused", r.get("refused_overloaded", 0)))
            if r.get("refused_codes"):
                slowest = r.get("max_refusal_s")
                within = "" if slowest is None else f", all within {slowest:.2f} s"
                refused += f" ({', '.join(r['refused_codes'])}{within})"
            out.append(
                [
                    arm,
                    str(r["typists"]),
                    str(r["answers"]),
                    _s(r["p50_latency_s"]),
                    _s(r["p95_latency_s"]),
                    _times(r["p95_latency_s"], base.get("p95_latency_s")),
                    _s(r["median_ttft_s"]),
                    _times(r["median_ttft_s"], base.get("median_ttft_s")),
                    f"{_n(r.get('answer_evaluated_tokens'))} / {_n(r.get('answer_tokens'))}",
                    "–" if r["notes_per_question"] is None else f"{r['notes_per_question']:.2f}",
                    f"{r['inference_calls']} ({r['deferred_calls']})",
                    str(r["deferred_prewarms"]),
                    refused,
                    str(r["errors"]),
                    f"{r.get('server_cpu_percent', 0):.0f} %",
                ]
            )
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("records", type=Path, help="a server_load.py --json file")
    args = p.parse_args()
    records = [json.loads(line) for line in args.records.read_text().splitlines() if line]
    print("| " + " | ".join(COLUMNS) + " |")
    print("|" + " --- |" * len(COLUMNS))
    for row in rows(records):
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
