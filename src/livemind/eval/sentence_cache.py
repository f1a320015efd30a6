"""Sentence counts of dataset texts, kept on disk between runs.

Filtering MMLU by length (``--min-sentences``) segments all 14,042 stems with pysbd, about
30 s on one core, before the first question runs. The counts depend only on the text and
on the segmenter, so they are stored in a JSON file next to the model cache whose name
holds a hash of ``segment.py`` and pysbd's version: a changed segmenter starts a new file,
never reads stale counts. A cache that cannot be read or written is simply not used.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import pysbd

from livemind import segment
from livemind.eval.questions import sentence_count
from livemind.model_files import cache_dir


def counts_path() -> Path:
    """Where the counts of the current segmenter live."""
    code = hashlib.sha256(Path(segment.__file__).read_bytes()).hexdigest()[:12]
    version = getattr(pysbd, "__version__", "unknown")
    return cache_dir().parent / f"sentence-counts-{code}-pysbd{version}.json"


class SentenceCounts:
    """``count(text)`` as :func:`~livemind.eval.questions.sentence_count`, remembered;
    :meth:`save` writes the new ones back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._counts: dict[str, int] = {}
        self._new = 0
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                self._counts = {k: v for k, v in loaded.items() if isinstance(v, int)}

    @classmethod
    def open(cls) -> SentenceCounts:
        return cls(counts_path())

    def count(self, text: str) -> int:
        key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:24]
        found = self._counts.get(key)
        if found is None:
            found = self._counts[key] = sentence_count(text)
            self._new += 1
        return found

    def save(self) -> None:
        """Write the counts if any are new (atomically; a failure leaves no cache)."""
        if not self._new:
            return
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self._counts), encoding="utf-8")
            tmp.replace(self.path)
            self._new = 0
        except OSError:
            tmp.unlink(missing_ok=True)
