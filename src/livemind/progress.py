"""A tiny progress bar for long byte-level work (assembling and verifying model files)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class ByteProgress:
    """Callable ``(done_bytes, total_bytes)`` that draws a bar on stderr.

    Draws at most ~10 times a second; on a non-terminal it prints one line at the end.
    """

    def __init__(self, label: str, out: TextIO = sys.stderr) -> None:
        self.label = label
        self.out = out
        self._last = 0.0
        self._t0 = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        now = time.perf_counter()
        finished = total > 0 and done >= total
        if not finished and now - self._last < 0.1:
            return
        self._last = now
        frac = done / total if total else 1.0
        mb, total_mb = done / 1e6, total / 1e6
        rate = mb / max(now - self._t0, 1e-9)
        if self.out.isatty():
            bar = "#" * int(frac * 30)
            self.out.write(
                f"\r{self.label} [{bar:<30}] {mb:7.0f}/{total_mb:.0f} MB {rate:5.0f} MB/s"
            )
            if finished:
                self.out.write("\n")
        elif finished:
            self.out.write(f"{self.label}: {total_mb:.0f} MB done ({rate:.0f} MB/s)\n")
        self.out.flush()
