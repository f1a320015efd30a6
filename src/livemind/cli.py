"""Command line: ``livemind demo | chat | serve | models | bench | report``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from livemind.answering import SessionError
from livemind.backends import open_backend
from livemind.backends.base import Backend, BackendError
from livemind.models import DEFAULT_MODEL, ModelError
from livemind.progress import ByteProgress
from livemind.settings_schema import add_session_arguments, config_from_args


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
        help="model for the answer stage (collaborative mode); default: --model. With "
        "another model, demo and chat default to --notes candidate (the notes state the "
        "answer for it to repeat)",
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
    g.add_argument(
        "--engine-priority",
        choices=("vllm", "sglang"),
        default=None,
        help="URL model: send each request's priority (answers first) to a vLLM server "
        "started with --scheduling-policy priority, or an SGLang server with "
        "--enable-priority-scheduling (default: none)",
    )
    _add_url_options(g)
    _add_ngram_option(g)


def _add_url_options(g: argparse._ArgumentGroup) -> None:
    from livemind.backends.openai_http import PREWARM_MODES

    g.add_argument(
        "--model-name",
        default=None,
        metavar="NAME",
        help="URL model: the model name to send (default: the first id of GET /v1/models; "
        "name it behind a router whose list does not pass the workers' on)",
    )
    g.add_argument(
        "--prewarm-mode",
        default="auto",
        choices=PREWARM_MODES,
        help="URL model: how to fill the server's prefix cache without generating "
        "(default auto: llama.cpp, vLLM and SGLang are recognised; see docs/DEPLOY.md)",
    )
    g.add_argument(
        "--affinity-header",
        default="X-Session-ID",
        metavar="NAME",
        help="URL model: the header carrying each conversation's id, for a router that keeps "
        "a conversation on one replica (default %(default)s; sglang-router's manual policy: "
        "X-SMG-Routing-Key; 'none': no header)",
    )


def _url_options(args: argparse.Namespace) -> dict[str, Any]:
    """The URL-model options of ``args`` as :func:`open_backend` keywords."""
    name = str(args.affinity_header).strip()
    header = None if name.lower() in ("", "none") else name
    return {
        "affinity_header": header,
        "model_name": args.model_name,
        "prewarm_mode": args.prewarm_mode,
    }


def _add_session_options(p: argparse.ArgumentParser) -> None:
    add_session_arguments(p.add_argument_group("simultaneous inference"))


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
    demo.set_defaults(notes=None)  # config_from_args: by --output-model
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
    chat.set_defaults(notes=None)  # config_from_args: by --output-model
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
    _add_url_options(g)
    _add_ngram_option(g)
    add_bench_arguments(bench)

    report = sub.add_parser("report", help="tables and plots from bench records")
    add_report_arguments(report)
    return parser


def _open(args: argparse.Namespace) -> tuple[Backend, Backend | None]:
    quiet = getattr(args, "json", False)
    progress = None if quiet else ByteProgress("preparing model")
    engine = {"n_ctx": args.ctx, "n_parallel": args.parallel, "api_key": args.api_key}
    engine["engine_priority"] = args.engine_priority
    engine.update(_ngram(args), host_cache_mib=args.host_cache_mib)
    engine.update(_url_options(args))
    backend = open_backend(args.model, progress=progress, **engine)
    out = None
    if args.output_model and args.output_model != args.model:
        out = open_backend(args.output_model, progress=progress, **engine)
    from livemind.backends.openai_http import OpenAIBackend

    for b in (backend, out):
        if isinstance(b, OpenAIBackend):  # learn prewarm support and slots up front
            asyncio.run(b.probe())
    return backend, out


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
            engine.update(_url_options(args))
            return run_bench_command(args, engine)
        instruction = ""
        if args.command == "demo" and not args.question:
            from livemind.demo import DEMO_ANSWER_INSTRUCTION

            instruction = DEMO_ANSWER_INSTRUCTION  # the built-in question's answer format
        config = config_from_args(args, answer_instruction=instruction)  # before any model
        backend, out = _open(args)
        try:
            if args.command == "demo":
                from livemind.demo import DEMO_QUESTION, DemoOptions, run_demo

                opts = DemoOptions(
                    question=args.question or DEMO_QUESTION,
                    cpm=args.cpm,
                    fast=args.fast,
                    as_json=args.json,
                    config=config,
                    plot=args.plot,
                )
                asyncio.run(run_demo(backend, out, opts))
            elif args.command == "serve":
                from livemind.server.serve import run_serve

                run_serve(args, backend, out, config)
            elif args.lines or not (sys.stdin.isatty() and sys.stdout.isatty()):
                from livemind.chat import chat_loop

                asyncio.run(chat_loop(backend, out, config))
            else:
                from livemind.chat_tui import live_chat

                asyncio.run(live_chat(backend, out, config))
        finally:
            asyncio.run(_close(backend, out))
        return 0
    except (ModelError, BackendError, SessionError, ValueError) as err:
        print(f"livemind: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
