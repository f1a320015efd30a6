"""``livemind demo``: type a question at human speed, think while it arrives, then compare
with the conventional baseline on the same question and model."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from livemind.backends.base import Backend
from livemind.config import SessionConfig
from livemind.console import ConsoleView
from livemind.eval.typing import TypedAnswer, type_and_commit
from livemind.session import LiveSession

DEMO_QUESTION = (
    "A farmer keeps 17 sheep and buys three times as many goats as sheep. "
    "Each goat eats 2 kilograms of hay per day, and each sheep eats 1 kilogram. "
    "Hay costs 4 dollars per kilogram. "
    "How many dollars does the farmer spend on hay per day?"
)
DEMO_ANSWER_INSTRUCTION = (
    "Be brief. Finish with the sentence 'The answer is' followed by the number."
)


@dataclass(slots=True)
class DemoOptions:
    question: str = DEMO_QUESTION
    cpm: float = 240.0
    fast: bool = False
    as_json: bool = False
    config: SessionConfig = SessionConfig(answer_instruction=DEMO_ANSWER_INSTRUCTION)


async def run_demo(backend: Backend, output_backend: Backend | None, opts: DemoOptions) -> dict:
    """Run LiveMind then the baseline on ``opts.question``; print and return the result."""
    view = None if opts.as_json else ConsoleView()
    live = LiveSession(backend, opts.config, output_backend=output_backend)
    if view is not None:
        live.on(view)
        clock = "virtual clock, no real waiting" if opts.fast else "real time"
        view.note(f"LiveMind: typing the question at {opts.cpm:g} characters/minute ({clock})")
    typed = await type_and_commit(
        live,
        opts.question,
        cpm=opts.cpm,
        fast=opts.fast,
        on_text=None if view is None else view.status,
    )
    await live.aclose()

    base_cfg = opts.config.conventional_baseline()
    final_backend = output_backend or backend
    baseline = LiveSession(final_backend, base_cfg)
    if view is not None:
        view.show_segments = False  # the baseline sees the complete text at once
        baseline.on(view)
        view.note("Baseline: the complete question at once, step-by-step answer")
    base = await type_and_commit(baseline, opts.question, cpm=opts.cpm, fast=True)
    await baseline.aclose()

    result = _result(opts, backend, final_backend, typed, base)
    if opts.as_json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_comparison(result)
    return result


def _result(
    opts: DemoOptions, backend: Backend, out: Backend, live: TypedAnswer, base: TypedAnswer
) -> dict[str, Any]:
    cfg = opts.config
    return {
        "question": opts.question,
        "answer": live.answer.text,
        "answer_mode": live.answer.answer_mode,
        "baseline_answer": base.answer.text,
        "latency_s": round(live.latency_s, 3),
        "ttft_s": None if live.ttft_s is None else round(live.ttft_s, 3),
        "overhead_s": round(live.overhead_s, 3),
        "baseline_latency_s": round(base.latency_s, 3),
        "baseline_ttft_s": None if base.ttft_s is None else round(base.ttft_s, 3),
        "inference_calls": len(live.answer.calls),
        "actions": live.answer.actions,
        "model": backend.model,
        "output_model": out.model,
        "format": cfg.format,
        "granularity": cfg.granularity,
        "min_len": cfg.min_len,
        "cpm": opts.cpm,
        "fast": opts.fast,
        "answer_usage": live.answer.output.to_dict(),
        "baseline_usage": base.answer.output.to_dict(),
    }


def _print_comparison(r: dict[str, Any]) -> None:
    def fmt(x: float | None) -> str:
        return "-" if x is None else f"{x:.2f} s"

    rows = [
        ("", "LiveMind", "baseline"),
        ("answer", f"{r['answer_mode']} mode", "step by step"),
        ("end of input → first token", fmt(r["ttft_s"]), fmt(r["baseline_ttft_s"])),
        ("end of input → full answer", fmt(r["latency_s"]), fmt(r["baseline_latency_s"])),
        (
            "answer tokens",
            str(r["answer_usage"]["completion_tokens"]),
            str(r["baseline_usage"]["completion_tokens"]),
        ),
    ]
    print()
    for label, a, b in rows:
        print(f"  {label:<28} {a:>10}   {b:>10}")
    if r["baseline_latency_s"] > 0:
        cut = 100 * (1 - r["latency_s"] / r["baseline_latency_s"])
        word = "lower" if cut >= 0 else "higher"
        print(
            f"\n  latency to the full answer: {abs(cut):.0f}% {word} than the baseline "
            f"({r['inference_calls']} inference calls while typing; model {r['model']}"
            + (f", answers by {r['output_model']}" if r["output_model"] != r["model"] else "")
            + ")"
        )
