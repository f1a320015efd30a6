"""Markdown building blocks of the report: number formats, tables, and the optional
sections (cache and speculation; answers and notes) that only newer records can fill."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from livemind.eval.stats import DASH, ConfigSummary


def secs(x: float | None) -> str:
    if x is None:
        return DASH
    return f"{x:.2f} s" if x < 10 else f"{x:.1f} s" if x < 100 else f"{x:.0f} s"


def pct(x: float | None, signed: bool = False) -> str:
    return DASH if x is None else f"{100 * x:+.1f}%" if signed else f"{100 * x:.1f}%"


def num(x: float | None, fmt: str = ".2f", suffix: str = "") -> str:
    return DASH if x is None else f"{x:{fmt}}{suffix}"


def md_table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows), ""]


def cache_table(summaries: Sequence[ConfigSummary]) -> list[str]:
    head = ["config", "answer prompt: evaluated", "never seen", "evaluated / never seen"]
    head += ["prewarm calls", "speculation used", "wasted per question", "head start"]
    rows = [
        [
            f"`{s.config}`",
            num(s.median_final_evaluated, ".0f"),
            num(s.median_unseen_tokens, ".0f"),
            num(s.evaluated_over_unseen, ".2f", "×"),
            num(s.median_prewarm_calls, "g"),
            pct(s.speculation_used),
            num(s.wasted_per_question, ".2f"),
            secs(s.median_saved_s),
        ]
        for s in summaries
    ]
    return [
        "",
        "## Cache and speculation",
        "",
        "Tokens of the answer call's prompt (medians): evaluated by the engine after Enter "
        "vs never sent to it before in that run (tokenized with the engine's own template); "
        "the ratio is over all questions (1.00× = nothing re-evaluated). Speculation: "
        "share of answers started before Enter and adopted, speculative answers discarded "
        "per question, and the median head start of the adopted ones.",
        "",
        *md_table(head, rows),
    ]


def answers_table(summaries: Sequence[ConfigSummary]) -> list[str]:
    head = ["config", "answer tokens", "reason answers", "cut off by the limit"]
    head += ["notes with numbers", "notes right"]
    stated = any(s.stated for s in summaries)
    if stated:
        head += ["answer stated in a note", "final answer = stated", "stated right"]
    rows = [
        [
            f"`{s.config}`",
            num(s.median_answer_tokens, ".0f"),
            pct(s.reason_share),
            pct(s.truncated_share),
            str(s.notes_checked) if s.notes_checked else DASH,
            pct(s.notes_right),
            *(
                [
                    str(s.stated) if s.stated else DASH,
                    pct(s.agrees_with_stated),
                    pct(s.stated_right),
                ]
                if stated
                else []
            ),
        ]
        for s in summaries
    ]
    return [
        "",
        "## Answers and notes",
        "",
        "Answer tokens (median); share of answers written in the `reason` mode (`auto` picks "
        "per question) and of answers that hit their token limit. Notes (GSM only): "
        "inference notes that hold a number, and the share of them whose every number is "
        "one the problem states or its worked solution reaches (`eval/notes_check.py`). "
        "Stated answers (`candidate` notes): questions where a note written while the text "
        "was typed states an answer, how often the final answer repeats it (in "
        "collaborative mode: the small model follows the large one), and how often it is "
        "right.",
        "",
        *md_table(head, rows),
    ]


def pareto_front(summaries: Sequence[ConfigSummary]) -> list[ConfigSummary]:
    """The configs that no other config beats on both axes: none is at least as fast
    (median latency) and at least as accurate, and better on one. Sorted by latency;
    configs without both numbers are left out. Ties on both axes all stay."""
    known = [
        (lat, acc, s)
        for s in summaries
        if (lat := s.median_latency_s) is not None and (acc := s.accuracy) is not None
    ]

    def beaten(lat: float, acc: float) -> bool:
        return any(
            o_lat <= lat and o_acc >= acc and (o_lat < lat or o_acc > acc)
            for o_lat, o_acc, _ in known
        )

    return [s for lat, acc, s in sorted(known, key=lambda k: k[0]) if not beaten(lat, acc)]


def pareto_lines(summaries: Sequence[ConfigSummary]) -> list[str]:
    """One paragraph naming the Pareto front, fastest first (empty under two configs)."""
    front = pareto_front(summaries)
    if len(summaries) < 2 or not front:
        return []
    steps = " → ".join(
        f"`{s.config}` ({secs(s.median_latency_s)}, {pct(s.accuracy)})" for s in front
    )
    return [
        f"Pareto front (no other configuration is both as fast and as accurate), fastest "
        f"first: {steps}. Point estimates; the CIs above say how firm each step is.",
        "",
    ]
