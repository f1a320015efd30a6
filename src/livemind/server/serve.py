"""``livemind serve``: arguments, safety checks, and running the app under uvicorn."""

from __future__ import annotations

import argparse
import ipaddress
import os
from typing import Any

from livemind.backends.base import Backend

LOOPBACK_NAMES = ("localhost",)


def add_serve_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("server")
    g.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    g.add_argument("--port", type=int, default=8000, help="port (default 8000; 0: any free)")
    g.add_argument(
        "--token",
        default=None,
        help="bearer token the clients must send (default: $LIVEMIND_TOKEN); required when "
        "binding a non-loopback address",
    )
    g.add_argument("--max-sessions", type=int, default=32, help="live sessions at once (32)")
    g.add_argument("--max-text", type=int, default=20_000, help="characters per input (20000)")
    g.add_argument(
        "--idle-timeout", type=float, default=900.0, help="close idle sessions after s (900)"
    )


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None) -> None:
    """ValueError when the server would be reachable from other machines without a token."""
    if not token and not is_loopback(host):
        raise ValueError(
            f"refusing to bind {host} without a token: anyone who can reach it could use the "
            "model. Pass --token (or set LIVEMIND_TOKEN), or bind 127.0.0.1"
        )


def run_serve(
    args: argparse.Namespace, backend: Backend, output_backend: Backend | None, config: Any
) -> int:
    """Serve until interrupted (the caller closes the backends)."""
    import uvicorn

    from livemind.server.app import create_app
    from livemind.server.hub import Limits

    token = args.token or os.environ.get("LIVEMIND_TOKEN") or None
    check_exposure(args.host, token)
    limits = Limits(
        max_sessions=args.max_sessions,
        max_text_chars=args.max_text,
        idle_timeout_s=args.idle_timeout,
    )
    app = create_app(
        backend, output_backend=output_backend, defaults=config, limits=limits, token=token
    )
    server = uvicorn.Server(
        uvicorn.Config(app, host=args.host, port=args.port, log_level="warning", ws="websockets")
    )
    print(f"livemind: serving {backend.model} on http://{args.host}:{args.port}/", flush=True)
    server.run()
    return 0
