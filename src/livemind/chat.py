"""``livemind chat --lines``: the line-by-line chat, for pipes and scripts (the default
when input or output is not a terminal; on a terminal ``livemind.chat_tui`` reads every
keystroke).

Each line you enter is streamed into the prompt (the model starts thinking on it at
once); an empty line sends the prompt; the answer streams; the conversation keeps its
history. ``/reset`` forgets the conversation, ``/quit`` (or Ctrl-D) leaves.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import TextIO

from livemind.backends.base import Backend, BackendError
from livemind.config import SessionConfig
from livemind.console import ConsoleView
from livemind.session import LiveSession, SessionError

HELP = (
    "Type your message line by line; the model reads each line as it arrives.\n"
    "An empty line sends it. /reset forgets the conversation, /quit leaves."
)


async def chat_loop(
    backend: Backend,
    output_backend: Backend | None,
    config: SessionConfig,
    *,
    read_line: Callable[[], str] | None = None,
    out: TextIO = sys.stdout,
) -> int:
    """Run the chat until EOF or /quit. ``read_line`` returns '' at EOF (like readline)."""
    read = read_line or sys.stdin.readline
    view = ConsoleView(out)
    session = LiveSession(backend, config, output_backend=output_backend)
    session.on(view)
    out.write(HELP + "\n")
    try:
        while True:
            out.write("you> " if not session.text else "...> ")
            out.flush()
            raw = await asyncio.to_thread(read)
            if raw == "":  # EOF
                break
            line = raw.rstrip("\n")
            if line.strip() == "/quit":
                break
            if line.strip() == "/reset":
                session.reset()
                view.note("conversation forgotten")
                continue
            if line.strip():
                joiner = "\n" if session.text else ""
                session.append(joiner + line)
                continue
            if not session.text.strip():
                continue
            try:
                answer = await session.commit()
            except (BackendError, SessionError) as err:
                view.note(f"no answer: {err}")
                continue
            ttft = "-" if answer.ttft_s is None else f"{answer.ttft_s:.2f}s"
            view.note(
                f"(Enter → first token {ttft}, → complete {answer.latency_s:.2f}s; "
                f"{len(answer.calls)} inference calls while you typed)"
            )
    finally:
        await session.aclose()
    return 0
