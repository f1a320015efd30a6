"""``livemind chat`` on a terminal: the model reads every keystroke.

Built on prompt_toolkit. Every change of the input line (a key, a backspace, a paste, an
edit in the middle, a line recalled with ↑) goes to the session as a snapshot of the whole
text, so the model reads your message while you write it. Under the input a status line
shows the segments read, the notes kept and the note being written; each finished note is
printed above the input.

Keys: Enter sends; Alt-Enter (or Esc then Enter) starts a new line; ↑/↓ recall earlier
messages; Ctrl-C clears the input, or cancels an answer while it streams (your text comes
back in the input); Ctrl-D on an empty input, or ``/quit``, leaves; ``/reset`` forgets
the conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.patch_stdout import patch_stdout

from livemind.backends.base import Backend, BackendError
from livemind.chat_status import ChatStatus
from livemind.config import SessionConfig
from livemind.events import Event
from livemind.events import EventName as E
from livemind.session import LiveSession, SessionError

HELP = (
    "The model reads as you type. Enter sends, Alt-Enter adds a line, ↑ recalls, "
    "Ctrl-C clears or cancels, Ctrl-D or /quit leaves, /reset forgets the conversation."
)
_STYLE = {"note": "\033[33m", "dim": "\033[2m", "error": "\033[31m", "answer": "\033[32m"}
_RESET = "\033[0m"


def _key_bindings() -> KeyBindings:
    kb = KeyBindings()

    @kb.add("escape", "enter")
    def _newline(event: Any) -> None:
        event.current_buffer.insert_text("\n")

    return kb


class LiveChat:
    """One terminal conversation: a prompt_toolkit input feeding a :class:`LiveSession`.

    ``pt_input`` / ``pt_output``: prompt_toolkit's input and output (the terminal when
    None; tests pass a pipe input); ``out``: where log lines and answers are printed
    (``sys.stdout`` at the time of writing when None: while the input is shown
    prompt_toolkit puts a proxy there that prints above the input).
    """

    def __init__(
        self,
        session: LiveSession,
        *,
        pt_input: Any = None,
        pt_output: Any = None,
        out: TextIO | None = None,
        color: bool | None = None,
    ) -> None:
        self.session = session
        self.status = ChatStatus()
        self._out = out
        self.color = (out or sys.stdout).isatty() if color is None else color
        self.prompt: PromptSession[str] = PromptSession(
            history=InMemoryHistory(),
            key_bindings=_key_bindings(),
            bottom_toolbar=self.status.line,
            prompt_continuation="... ",
            input=pt_input,
            output=pt_output,
        )
        self.prompt.default_buffer.on_text_changed += self._text_changed
        session.on(self._on_event)

    # ----- session side ---------------------------------------------------------------
    def _text_changed(self, buffer: Any) -> None:
        with contextlib.suppress(SessionError):  # only while an answer runs (input hidden)
            self.session.set_text(buffer.text)

    def _on_event(self, event: Event) -> None:
        self.status(event)
        if event.type == E.RESPONSE_CREATED:
            self._write(self._paint("dim", "livemind ▸ "))
        elif event.type == E.RESPONSE_OUTPUT_TEXT_DELTA:
            self._write(self._paint("answer", event.data["delta"]))
        for kind, text in self.status.take_log():
            self._print(kind, ("note ▸ " if kind == "note" else "") + text)
        app = self.prompt.app
        if app.is_running:
            app.invalidate()

    def _paint(self, kind: str, text: str) -> str:
        return f"{_STYLE[kind]}{text}{_RESET}" if self.color else text

    def _write(self, text: str) -> None:
        out = self._out or sys.stdout
        out.write(text)
        out.flush()

    def _print(self, kind: str, text: str) -> None:
        self._write(self._paint(kind, text) + "\n")

    # ----- the loop -------------------------------------------------------------------
    async def run(self) -> int:
        """Converse until Ctrl-D or ``/quit``."""
        self._print("dim", HELP)
        default = ""
        while True:
            try:
                with patch_stdout(raw=True):
                    text = await self.prompt.prompt_async("you> ", default=default)
            except KeyboardInterrupt:  # Ctrl-C at the input: start over
                default = ""
                self.session.set_text("")
                continue
            except EOFError:  # Ctrl-D on an empty input
                return 0
            default = ""
            command = text.strip()
            if command == "/quit":
                return 0
            if command == "/reset":
                self.session.reset()
                self.status.new_turn()
                self._print("dim", "conversation forgotten")
                continue
            if not command:
                continue
            self.session.set_text(text)  # the same text the buffer last sent, normally
            default = await self._answer()

    async def _answer(self) -> str:
        """Answer the current text; what goes back into the input afterwards ('' unless
        the answer was cancelled or failed, when your text comes back to be sent again)."""
        self.status.entered = True
        task = asyncio.ensure_future(self.session.commit())
        try:
            with _cancel_on_ctrl_c(task):
                answer = await task
        except asyncio.CancelledError:
            self.status.entered = False
            if not task.cancelled():
                raise  # we were cancelled ourselves, not the answer
            self._print("dim", "\n(answer cancelled; your text is back in the input)")
            return self.session.text
        except (BackendError, SessionError) as err:
            self.status.entered = False
            self._print("error", f"\nno answer: {err}")
            return self.session.text
        ttft = "-" if answer.ttft_s is None else f"{answer.ttft_s:.2f} s"
        self._print(
            "dim",
            f"\n(Enter → first token {ttft}, complete {answer.latency_s:.2f} s; "
            f"{len(answer.calls)} notes written while you typed, {answer.answer_mode} answer)",
        )
        self.status.new_turn()
        return ""


@contextlib.contextmanager
def _cancel_on_ctrl_c(task: asyncio.Future[Any]) -> Iterator[None]:
    """While the answer streams the terminal is not in prompt_toolkit's hands: Ctrl-C
    arrives as SIGINT, and it cancels the answer instead of ending the program."""
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, task.cancel)
    except (NotImplementedError, RuntimeError, ValueError):  # no signals here (not main)
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


async def live_chat(
    backend: Backend, output_backend: Backend | None, config: SessionConfig, **kw: Any
) -> int:
    """Run the keystroke-level chat (keyword arguments: :class:`LiveChat`'s)."""
    session = LiveSession(backend, config, output_backend=output_backend)
    try:
        return await LiveChat(session, **kw).run()
    finally:
        await session.aclose()
