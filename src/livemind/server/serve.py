"""``livemind serve``: arguments, safety checks, and running the app under uvicorn."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from livemind.backends.base import Backend
from livemind.server.guard import is_loopback


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("server")
    g.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    g.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    g.add_argument(
        "--token",
        default=None,
        help="bearer token the clients must send; required when binding a non-loopback "
        "address. Visible to other local users in the process list: prefer --token-file "
        "or $LIVEMIND_TOKEN",
    )
    g.add_argument(
        "--token-file",
        default=None,
        metavar="PATH",
        help="read the bearer token from this file (its first line)",
    )
    g.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also answer requests addressed to this host name (repeatable; '*': any). "
        "Loopback names and IP addresses are always answered",
    )
    g.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let web pages from this origin (scheme://host[:port]) use the API (repeatable; "
        "'*': any). The server's own pages are always allowed",
    )
    g.add_argument("--max-sessions", type=int, default=32, help="live sessions at once (32)")
    g.add_argument(
        "--max-sessions-per-client",
        type=int,
        default=0,
        metavar="N",
        help="sessions and running completions one client address may hold (default: "
        "half of --max-sessions); loopback clients, a reverse proxy on this machine "
        "included, are not limited per client",
    )
    g.add_argument(
        "--max-session-age",
        type=float,
        default=8 * 3600.0,
        metavar="S",
        help="close any session after S seconds, however active (default 8 h)",
    )
    g.add_argument("--max-text", type=int, default=20_000, help="characters per input (20000)")
    g.add_argument(
        "--idle-timeout", type=float, default=900.0, help="close idle sessions after s (900)"
    )
    g = p.add_argument_group("scheduling (answers first; docs/SERVER.md)")
    g.add_argument(
        "--scheduling",
        choices=("priority", "off"),
        default="priority",
        help="priority (default): a user's answer runs before other sessions' notes and "
        "prefills, and stops those running; off: every call goes straight to the engine",
    )
    g.add_argument(
        "--background-calls",
        type=int,
        default=0,
        metavar="N",
        help="notes and prefills running at once per engine (default: half its slots)",
    )
    g.add_argument(
        "--beside-answers",
        type=int,
        default=0,
        metavar="N",
        help="background calls that may go on while an answer runs (default 0; more suits "
        "an engine with compute to spare, e.g. a GPU)",
    )
    g.add_argument(
        "--answer-budget",
        type=float,
        default=20.0,
        metavar="S",
        help="refuse new sessions (error 'overloaded') while the answers queued would take "
        "more than S seconds to clear, or the sessions live reach the cap learned from "
        "answers delayed by more than S (default 20; 0: never)",
    )


def check_exposure(host: str, token: str | None) -> None:
    """ValueError when the server would be reachable from other machines without a token."""
    if not token and not is_loopback(host):
        raise ValueError(
            f"refusing to bind {host} without a token: anyone who can reach it could use the "
            "model. Pass --token (or set LIVEMIND_TOKEN), or bind 127.0.0.1"
        )


def resolve_token(given: str | None, path: str | None, env: str | None) -> str | None:
    """The token from ``--token``, else ``--token-file``, else ``$LIVEMIND_TOKEN``; a
    ValueError names an unreadable or empty token file."""
    if given:
        return given
    if path:
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the token file {path}: {exc}") from None
        token = lines[0].strip() if lines else ""
        if not token:
            raise ValueError(f"the token file {path} is empty")
        return token
    return env or None


def run_serve(
    args: argparse.Namespace, backend: Backend, output_backend: Backend | None, config: Any
) -> int:
    """Serve until interrupted (the caller closes the backends)."""
    import uvicorn

    from livemind.server.app import create_app
    from livemind.server.guard import SitePolicy
    from livemind.server.hub import Limits
    from livemind.server.scheduled import Scheduling

    token = resolve_token(args.token, args.token_file, os.environ.get("LIVEMIND_TOKEN"))
    check_exposure(args.host, token)
    site = SitePolicy.for_bind(args.host, args.allow_host, args.allow_origin)
    limits = Limits(
        max_sessions=args.max_sessions,
        max_sessions_per_client=args.max_sessions_per_client,
        max_age_s=args.max_session_age,
        max_text_chars=args.max_text,
        idle_timeout_s=args.idle_timeout,
    )
    scheduling = Scheduling(
        enabled=args.scheduling == "priority",
        background=args.background_calls,
        beside_answers=args.beside_answers,
        answer_budget_s=args.answer_budget,
    )
    app = create_app(
        backend,
        output_backend=output_backend,
        defaults=config,
        limits=limits,
        token=token,
        site=site,
        scheduling=scheduling,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=args.host,
            port=args.port,
            log_level="warning",
            ws="websockets",
            # a frame larger than any valid message is refused by the WebSocket layer
            # before it is buffered (uvicorn's default is 16 MiB)
            ws_max_size=limits.max_message_bytes + 1024,
        )
    )
    name = backend.model or args.model  # a URL's model is looked up at the first call
    print(f"livemind: serving {name} on http://{args.host}:{args.port}/", flush=True)
    server.run()
    return 0
