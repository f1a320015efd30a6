"""Run records as the report reads them: loading, keys, and numeric fields that may be absent.

A record is one (configuration, question) result as written by the runner: a JSON object
whose fields vary across versions, so every reader here checks what it gets. Missing,
boolean or non-finite values are skipped, and an empty statistic is None, not an error.
Quantiles use linear interpolation between order statistics (numpy's default).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

# One run record: a JSON object as the runner wrote it (values of any JSON type).
Record = dict[str, Any]


class ReportError(Exception):
    """A user-facing problem with the input (missing file, malformed line, no records)."""


def load_records(paths: Sequence[str | Path]) -> list[Record]:
    """Read JSONL files in order; blank lines are skipped. Raises :class:`ReportError` naming
    ``file:line`` for a line that is not a JSON object with ``config`` and ``qid``."""
    records: list[Record] = []
    for path in map(Path, paths):
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ReportError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ReportError(f"{path}: cannot read: {e}") from None
        for lineno, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise ReportError(f"{path}:{lineno}: malformed JSON: {e.msg}") from None
            if not isinstance(rec, dict) or "config" not in rec or "qid" not in rec:
                raise ReportError(f"{path}:{lineno}: not a record (needs 'config' and 'qid')")
            records.append(rec)
    return records


def question_key(r: Record) -> tuple[str, str]:
    """The question a record answers: (dataset, qid)."""
    return (str(r.get("dataset", "")), str(r["qid"]))


def num(v: object) -> float | None:
    """``v`` as a float if it is a finite int or float (not a bool), else None."""
    if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    return None


def nums(recs: Iterable[Record], key: str) -> list[float]:
    """The numeric values of field ``key`` over ``recs``, skipping records without one."""
    return [v for r in recs if (v := num(r.get(key))) is not None]


def median_or_none(xs: Sequence[float]) -> float | None:
    """Median of ``xs``; None when empty."""
    return statistics.median(xs) if xs else None


def mean_or_none(xs: Sequence[float]) -> float | None:
    """Mean of ``xs``; None when empty."""
    return statistics.fmean(xs) if xs else None


def quantile(xs: Sequence[float], q: float) -> float | None:
    """Linear-interpolation quantile of ``xs`` (need not be sorted); None when empty."""
    if not xs:
        return None
    s = sorted(xs)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)
