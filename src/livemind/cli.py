"""Command line: ``livemind demo | chat | serve | models | bench | report``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from livemind.answer_modes import ANSWER_MODES, NOTE_POLICIES
from livemind.backends import open_backend
from livemind.backends.base import Backend, BackendError
from livemind.config import COMMIT_POLICIES, GRANULARITIES, SessionConfig
from livemind.formats import DEFAULT_FORMAT, FORMATS
from livemind.models import DEFAULT_MODEL, ModelError
from livemind.progress import ByteProgress


def _add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help="preset name, path to a .gguf file, or an OpenAI-compatible URL "
        f"(default: {DEFAULT_MODEL}; see `livemind models`)",
    )
    g.add_argument(
        "--output-model",
        default=None,
        help="model for the answer stage (collaborative mode); default: --model",
    )
    g.add_argument(
        "--ctx",
        type=int,
        default=8192,
        help="embedded engine: total context in tokens, split over the slots (default %(default)s)",
    )
    g.add_argument(
        "--parallel",
        type=int,
        default=2,
        help="embedded engine: parallel sequences (slots) (default %(default)s)",
    )
    g.add_argument(
        "--host-cache-mib",
        type=int,
        default=None,
        metavar="MIB",
        help="embedded engine: host memory for prompts evicted from its slots, so that a "
        "returning conversation skips their prefill (default: llama.cpp's 8192; `serve`: "
        "1024, or a long-running server grows by 8 GiB; 0: off)",
    )
    g.add_argument(
        "--api-key",
        default=None,
        help="API key for a URL model (default: $LIVEMIND_API_KEY or $OPENAI_API_KEY)",
    )
    _add_ngram_option(g)


def _add_session_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("simultaneous inference")
    g.add_argument(
        "--format",
        default=DEFAULT_FORMAT,
        choices=FORMATS,
        help=f"prompt layout (default {DEFAULT_FORMAT})",
    )
    g.add_argument(
        "--granularity",
        default="sentence",
        choices=GRANULARITIES,
        help="segment size (default sentence)",
    )
    g.add_argument(
        "--min-len",
        type=int,
        default=10,
        help="merge pieces until they have this many characters (default 10)",
    )
    g.add_argument(
        "--actions",
        default="v2",
        choices=("v1", "v2"),
        help="v2: inference/wait; v1 adds background/hypothesize (default v2)",
    )
    g.add_argument("--max-tokens", type=int, default=512, help="answer token limit")
    g.add_argument(
        "--prewarm",
        action=argparse.BooleanOptionalAction,
        default=SessionConfig().prewarm,
        help="prefill unread text into the cache while typing, where the backend can (default on)",
    )
    g.add_argument(
        "--speculate",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="start the answer in the pause before Enter (default off)",
    )
    g.add_argument(
        "--commit-policy",
        default=SessionConfig().commit_policy,
        choices=COMMIT_POLICIES,
        help="on Enter, wait for a running inference call, cancel it, or cancel it but "
        f"keep its note so far (default {SessionConfig().commit_policy})",
    )
    g.add_argument(
        "--answer-mode",
        default=SessionConfig().answer_mode,
        choices=ANSWER_MODES,
        help="short: answer at once from the notes; reason: a brief derivation first "
        "(over the text alone with --notes auto); "
        f"auto: reason for numeric word problems (default {SessionConfig().answer_mode})",
    )
    g.add_argument(
        "--reason-budget",
        type=int,
        default=SessionConfig().reason_budget,
        help="token budget of a reason answer, 0 for none "
        f"(default {SessionConfig().reason_budget})",
    )
    g.add_argument(
        "--notes",
        default=SessionConfig().notes,
        choices=NOTE_POLICIES,
        help="what notes hold: auto (free notes, but none on a numeric word problem or "
        "with --answer-mode reason: the answer then solves it from the text), facts "
        "(named values), steps (a running solution), free (any intermediate result) "
        f"(default {SessionConfig().notes})",
    )


def _add_ngram_option(g: argparse._ArgumentGroup) -> None:
    from livemind.backends.llamacpp import NGRAM_SPEC_TYPES

    g.add_argument(
        "--ngram-spec",
        default=None,
        choices=NGRAM_SPEC_TYPES,
        help="embedded engine: draft-free speculative decoding from the prompt (default off)",
    )


def _ngram(args: argparse.Namespace) -> dict[str, str]:
    """The engine option of ``--ngram-spec`` (nothing when it is off)."""
    return {"ngram_spec": args.ngram_spec} if args.ngram_spec else {}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="livemind", description="An LLM that thinks while you are still typing."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="type a question at human speed; compare with the baseline")
    _add_model_options(demo)
    _add_session_options(demo)
    demo.add_argument("--question", default=None, help="your own question text")
    demo.add_argument(
        "--cpm",
        type=float,
        default=240.0,
        help="typing speed in characters per minute (default 240)",
    )
    demo.add_argument(
        "--fast",
        action="store_true",
        help="do not wait for the typing in real time (virtual clock)",
    )
    demo.add_argument("--json", action="store_true", help="print one JSON object")
    demo.add_argument(
        "--plot",
        type=Path,
        default=None,
        metavar="PNG",
        help="draw the timeline (typing, model calls, Enter, answers) to this PNG "
        "(needs matplotlib: the eval extra)",
    )

    chat = sub.add_parser(
        "chat", help="interactive multi-turn chat in the terminal; the model reads every key"
    )
    _add_model_options(chat)
    _add_session_options(chat)
    chat.add_argument(
        "--lines",
        action="store_true",
        help="read whole lines instead of keystrokes (an empty line sends; the default "
        "when input or output is not a terminal)",
    )

    serve = sub.add_parser("serve", help="the live protocol server and browser playground")
    _add_model_options(serve)
    _add_session_options(serve)
    from livemind.server.serve import add_serve_arguments

    add_serve_arguments(serve)
    serve.set_defaults(parallel=4, ctx=16384, host_cache_mib=1024)  # several people at once

    sub.add_parser("models", help="list model presets and what is installed")

    from livemind.eval.bench_cli import add_bench_arguments
    from livemind.eval.report import add_report_arguments

    bench = sub.add_parser("bench", help="evaluate configurations on a dataset (JSONL records)")
    g = bench.add_argument_group("model")
    g.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help="model of the inference stage (and of the answer stage unless a "
        "config names one with @MODEL)",
    )
    g.add_argument("--ctx", type=int, default=8192, help="embedded engine context (default 8192)")
    g.add_argument(
        "--parallel",
        type=int,
        default=1,
        help="embedded engine slots (default 1: one question at a time)",
    )
    _add_ngram_option(g)
    add_bench_arguments(bench)

    report = sub.add_parser("report", help="tables and plots from bench records")
    add_report_arguments(report)
    return parser


def _open(args: argparse.Namespace) -> tuple[Backend, Backend | None]:
    quiet = getattr(args, "json", False)
    progress = None if quiet else ByteProgress("preparing model")
    engine = {"n_ctx": args.ctx, "n_parallel": args.parallel, "api_key": args.api_key}
    engine.update(_ngram(args), host_cache_mib=args.host_cache_mib)
    backend = open_backend(args.model, progress=progress, **engine)
    out = None
    if args.output_model and args.output_model != args.model:
        out = open_backend(args.output_model, progress=progress, **engine)
    from livemind.backends.openai_http import OpenAIBackend

    for b in (backend, out):
        if isinstance(b, OpenAIBackend):  # learn prewarm support and slots up front
            asyncio.run(b.probe())
    return backend, out


def _session_config(args: argparse.Namespace, answer_instruction: str = "") -> SessionConfig:
    return SessionConfig(
        format=args.format,
        granularity=args.granularity,
        min_len=args.min_len,
        action_set=args.actions,
        answer_max_tokens=args.max_tokens,
        answer_instruction=answer_instruction,
        prewarm=args.prewarm,
        speculate=args.speculate,
        commit_policy=args.commit_policy,
        answer_mode=args.answer_mode,
        reason_budget=args.reason_budget,
        notes=args.notes,
    ).validated()


async def _close(*backends: Backend | None) -> None:
    for b in backends:
        if b is not None:
            await b.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "models":
            from livemind.models import format_model_table, list_models

            print(format_model_table(list_models()))
            return 0
        if args.command == "report":
            from livemind.eval.report import run_report

            return run_report(args)
        if args.command == "bench":
            from livemind.eval.bench_cli import run_bench_command

            engine = {"n_ctx": args.ctx, "n_parallel": args.parallel, **_ngram(args)}
            return run_bench_command(args, engine)
        if getattr(args, "min_len", 1) < 1:
            raise ValueError("--min-len must be at least 1")
        backend, out = _open(args)
        try:
            if args.command == "demo":
                from livemind.demo import (
                    DEMO_ANSWER_INSTRUCTION,
                    DEMO_QUESTION,
                    DemoOptions,
                    run_demo,
                )

                opts = DemoOptions(
                    question=args.question or DEMO_QUESTION,
                    cpm=args.cpm,
                    fast=args.fast,
                    as_json=args.json,
                    # the answer format is the built-in question's (a number)
                    config=_session_config(args, "" if args.question else DEMO_ANSWER_INSTRUCTION),
                    plot=args.plot,
                )
                asyncio.run(run_demo(backend, out, opts))
            elif args.command == "serve":
                from livemind.server.serve import run_serve

                run_serve(args, backend, out, _session_config(args))
            elif args.lines or not (sys.stdin.isatty() and sys.stdout.isatty()):
                from livemind.chat import chat_loop

                asyncio.run(chat_loop(backend, out, _session_config(args)))
            else:
                from livemind.chat_tui import live_chat

                asyncio.run(live_chat(backend, out, _session_config(args)))
        finally:
            asyncio.run(_close(backend, out))
        return 0
    except (ModelError, BackendError, ValueError) as err:
        print(f"livemind: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
