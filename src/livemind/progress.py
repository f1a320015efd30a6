"""A tqdm byte bar fed by ``progress(done, total)`` calls (assembling and verifying models).

:mod:`livemind.models` reports progress as ``(done_bytes, total_bytes)`` per chunk; this
turns those calls into tqdm bars, one per hashing pass.
"""

from __future__ import annotations

import sys
from typing import Never, TextIO

from tqdm import tqdm


class ByteProgress:
    """Callable ``(done_bytes, total_bytes)`` that draws a tqdm bar on ``out`` (stderr).

    On a terminal the bar is live; elsewhere (a log, a pipe) each pass writes one line
    when it finishes. A pass ends when ``done`` reaches ``total``; a call with a smaller
    ``done`` or another ``total`` starts a new bar.
    """

    def __init__(self, label: str, out: TextIO = sys.stderr) -> None:
        self.label = label
        self.out = out
        self._bar: tqdm[Never] | None = None

    def __call__(self, done: int, total: int) -> None:
        bar = self._bar
        if bar is None or done < bar.n or total != bar.total:
            if bar is not None:
                bar.close()
            bar = self._bar = self._new_bar(total)
        bar.update(done - bar.n)
        if done >= total:
            if not self._live():
                self.out.write(f"{bar}\n")  # the one line a log gets
                self.out.flush()
            bar.close()
            self._bar = None

    def _live(self) -> bool:
        return bool(getattr(self.out, "isatty", lambda: False)())

    def _new_bar(self, total: int) -> tqdm[Never]:
        live = self._live()
        return tqdm(
            total=total,
            desc=self.label,
            unit="B",
            unit_scale=True,
            file=self.out,
            ascii=not live,
            dynamic_ncols=live,
            # off a terminal, draw nothing until the final line above
            delay=0 if live else float("inf"),
        )
