"""``livemind demo``: type a question at human speed, think while it arrives, then compare
with the conventional baseline on the same question and model."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livemind.backends.base import Backend
from livemind.config import SessionConfig
from livemind.console import ConsoleView
from livemind.session import LiveSession
from livemind.timeline import Stamped, Timeline, TimelineRecorder, build_timeline
from livemind.typist import TypedAnswer, type_and_commit

DEMO_QUESTION = (
    "A farmer keeps 17 sheep and buys three times as many goats as sheep. "
    "Each goat eats 2 kilograms of hay per day, and each sheep eats 1 kilogram. "
    "Hay costs 4 dollars per kilogram. "
    "How many dollars does the farmer spend on hay per day?"
)
# The benchmark's instruction for numeric problems (eval.datasets), so that the demo's two
# answers are the ones BENCHMARKS measures; an extra "be brief" cut the baseline's
# derivation short and made it wrong on this question.
DEMO_ANSWER_INSTRUCTION = "End your answer with 'The answer is N' where N is the final number."


@dataclass(slots=True)
class DemoOptions:
    question: str = DEMO_QUESTION
    cpm: float = 240.0
    fast: bool = False
    as_json: bool = False
    config: SessionConfig = SessionConfig(answer_instruction=DEMO_ANSWER_INSTRUCTION)
    plot: Path | None = None  # write the timeline picture (PNG) there


async def run_demo(
    backend: Backend, output_backend: Backend | None, opts: DemoOptions
) -> dict[str, Any]:
    """Run LiveMind then the baseline on ``opts.question``; print and return the result
    (with its ``timeline``; drawn to ``opts.plot`` when set)."""
    plot_timeline = _plotter() if opts.plot is not None else None
    view = None if opts.as_json else ConsoleView()
    live = LiveSession(backend, opts.config, output_backend=output_backend)
    recorder = TimelineRecorder(live.clock.now)
    live.on(recorder)
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
    base_recorder = TimelineRecorder(baseline.clock.now)
    baseline.on(base_recorder)
    if view is not None:
        view.show_segments = False  # the baseline sees the complete text at once
        baseline.on(view)
        view.note("Baseline: the complete question at once, step-by-step answer")
    base = await type_and_commit(baseline, opts.question, cpm=opts.cpm, fast=True)
    await baseline.aclose()

    timeline = demo_timeline(typed, recorder.events, base, base_recorder.events)
    result = _result(opts, backend, final_backend, typed, base)
    result["timeline"] = timeline.to_dict()
    if plot_timeline is not None and opts.plot is not None:
        clock = "virtual clock" if opts.fast else "real time"
        title = f"LiveMind vs baseline: one question typed at {opts.cpm:g} characters/minute"
        subtitle = f"model {final_backend.model}, {clock}"
        plot_timeline(timeline, opts.plot, title=title, subtitle=subtitle)
    if opts.as_json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_comparison(result)
        if opts.plot is not None:
            print(f"\n  timeline: {opts.plot}")
    return result


def demo_timeline(
    live: TypedAnswer, events: list[Stamped], base: TypedAnswer, base_events: list[Stamped]
) -> Timeline:
    """The turn's timeline from both runs' stamped events (each on its session's clock)."""
    keys = [(live.started_s + t, len(text)) for t, text in live.keys]
    return build_timeline(
        events, enter=live.enter_s, keys=keys, baseline=base_events, baseline_enter=base.enter_s
    )


def _plotter() -> Any:
    """``plot_timeline``, or a ValueError saying how to get matplotlib."""
    try:
        from livemind.timeline_plot import plot_timeline
    except ImportError as err:
        raise ValueError(f"--plot needs matplotlib ({err}): pip install 'livemind[eval]'") from None
    return plot_timeline


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
        "answer_cache": answer_cache(live, out.model),
    }


def answer_cache(live: TypedAnswer, output_model: str) -> dict[str, Any]:
    """The answering model's cache at Enter: its answer prompt's tokens, how many it found
    cached and evaluated, and the prefill-only calls it got while the text was typed
    (in collaborative mode, the output model's own prewarms)."""
    out = live.answer.output
    warmed = [p for p in live.answer.prewarms if p.model == output_model and not p.cancelled]
    return {
        "model": output_model,
        "prompt_tokens": out.prompt_tokens,
        "cached_tokens_at_enter": out.cached_tokens,
        "evaluated_tokens_at_enter": out.evaluated_tokens,
        "prewarms_before_enter": len(warmed),
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
    cache = r["answer_cache"]
    if cache["evaluated_tokens_at_enter"] is not None:
        print(
            f"  {cache['model']} at Enter: {cache['evaluated_tokens_at_enter']} of "
            f"{cache['prompt_tokens']} prompt tokens still to evaluate "
            f"({cache['prewarms_before_enter']} prefill-only calls while typing)"
        )
