"""Two refinements of a record's physical limit (``limit_s``: the tokens evaluated at
Enter at the prefill rate plus the answer tokens at the decode rate, both rates measured
on a short calibration prompt by ``runner.measure_rates``).

- **At the context's length** (:func:`context_limit_s`): on a CPU, attention makes each
  token slower the longer the context before it, so at 1,000-2,000 tokens of transcript
  the short-prompt rates are too fast. :class:`ContextRates` holds how much slower,
  measured once (``benchmarks/context_rate_probe.py --out``), as factors relative to that
  probe's own calibration, and applies them to a record's rates: machines and runs of
  different absolute speed can share one probe.
- **From the last key** (:func:`last_key_limit_s`): the answer options arrive at once with
  the last key, so what no call had been sent before the last key
  (``last_key_unseen_tokens``) could be prefilled from then on and no earlier; the pause
  before Enter absorbs part of it. ``limit_s`` counts only what was never sent at Enter,
  and so charges nothing for a prefill that began in the pause and was still running at
  Enter, which the answer then waits for.

Both still take the machine's speed from the run's start. A machine that slows down
during a long run (another tenant, heat) puts every row above its limit; the baseline
shows by how much, as its latency over its own limit on the same question, run next to
the others. :func:`over_baseline_ratio` divides that out, question by question.
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class ContextRates:
    """Prefill and decode speed as fractions of the calibration's, at context sizes
    ``contexts`` (tokens, increasing)."""

    contexts: tuple[int, ...]
    prefill: tuple[float, ...]
    decode: tuple[float, ...]

    def __post_init__(self) -> None:
        n = len(self.contexts)
        if n == 0 or len(self.prefill) != n or len(self.decode) != n:
            raise ValueError("context rates need one prefill and one decode factor per size")
        if list(self.contexts) != sorted(set(self.contexts)):
            raise ValueError("context sizes must be distinct and increasing")
        if min(self.prefill + self.decode) <= 0:
            raise ValueError("speed factors must be positive")

    @classmethod
    def from_probe(cls, data: dict[str, Any]) -> ContextRates:
        """From the probe's JSON: ``calibration`` {prefill, decode} and ``points``, a
        list of {context, prefill, decode} in tokens per second."""
        cal = data["calibration"]
        points = sorted(data["points"], key=lambda p: p["context"])
        return cls(
            tuple(int(p["context"]) for p in points),
            tuple(float(p["prefill"]) / float(cal["prefill"]) for p in points),
            tuple(float(p["decode"]) / float(cal["decode"]) for p in points),
        )

    @classmethod
    def load(cls, path: Path) -> ContextRates:
        return cls.from_probe(json.loads(path.read_text()))

    def factors(self, context: float) -> tuple[float, float]:
        """(prefill, decode) factors at ``context`` tokens: linear in the time per token
        between measured sizes, the nearest size's outside them."""
        return (
            _interpolate(self.contexts, self.prefill, context),
            _interpolate(self.contexts, self.decode, context),
        )


def _interpolate(xs: tuple[int, ...], factors: tuple[float, ...], x: float) -> float:
    i = bisect_left(xs, x)
    if i == 0:
        return factors[0]
    if i == len(xs):
        return factors[-1]
    x0, x1 = xs[i - 1], xs[i]
    w = (x - x0) / (x1 - x0)
    per_token = (1 - w) / factors[i - 1] + w / factors[i]
    return 1 / per_token


@dataclass(frozen=True, slots=True)
class _Answer:
    """What a limit needs from one record: the answer prompt's length, the tokens to
    prefill after the point the limit counts from, the answer's length, the rates."""

    prompt: float
    to_prefill: float
    answer: float
    prefill: float
    decode: float

    @classmethod
    def read(cls, record: dict[str, Any], to_prefill_key: str) -> _Answer | None:
        """None when a field is missing or a rate is not positive."""
        try:
            values = [
                float(record[key])
                for key in (
                    "final_prompt_tokens",
                    to_prefill_key,
                    "answer_tokens",
                    "prefill_rate",
                    "decode_rate",
                )
            ]
        except (KeyError, TypeError, ValueError):
            return None
        answer = cls(*values)
        return answer if answer.prefill > 0 and answer.decode > 0 else None

    def seconds(self, rates: ContextRates | None, head_start_s: float = 0.0) -> float:
        """Prefill (less ``head_start_s``, never below zero) at the rate for the middle of
        the prefilled tokens, then the decode at the rate for the middle of the answer."""
        fp = fd = 1.0
        if rates is not None:
            fp = rates.factors(self.prompt - self.to_prefill / 2)[0]
            fd = rates.factors(self.prompt + self.answer / 2)[1]
        prefill_s = self.to_prefill / (self.prefill * fp)
        return max(0.0, prefill_s - head_start_s) + self.answer / (self.decode * fd)


def context_limit_s(record: dict[str, Any], rates: ContextRates) -> float | None:
    """The record's physical limit with its rates slowed to its context: the answer
    prompt's evaluated tokens prefilled at the rate for that prompt's length, the answer
    decoded at the rate halfway through it. None when a field is missing."""
    answer = _Answer.read(record, "final_evaluated_tokens")
    return None if answer is None else answer.seconds(rates)


def last_key_limit_s(record: dict[str, Any], rates: ContextRates | None = None) -> float | None:
    """The time from Enter that even a system which prefilled every token as soon as it
    arrived would need: the answer prompt's tokens not sent before the last key, minus
    what the pause before Enter prefilled of them, then the answer's decode (at the
    context's speed with ``rates``). None for records without ``last_key_unseen_tokens``."""
    answer = _Answer.read(record, "last_key_unseen_tokens")
    if answer is None:
        return None
    return answer.seconds(rates, head_start_s=float(record.get("think_s") or 0.0))


Limit = Callable[[dict[str, Any]], float | None]


def over_baseline_ratio(
    records: Iterable[dict[str, Any]],
    baseline: Iterable[dict[str, Any]],
    limit: Limit,
    baseline_limit: Limit,
) -> list[float]:
    """For each question in both: (latency ÷ ``limit``) ÷ (the baseline record's latency ÷
    ``baseline_limit``), matched by ``qid``; questions missing a latency or a limit on
    either side are left out. 1.0: as close to its limit as the baseline was to its own."""
    base: dict[str, float] = {}
    for b in baseline:
        lim = baseline_limit(b)
        if b.get("latency_s") is not None and lim:
            base[str(b["qid"])] = float(b["latency_s"]) / lim
    ratios = []
    for r in records:
        lim = limit(r)
        ref = base.get(str(r.get("qid")))
        if ref and r.get("latency_s") is not None and lim:
            ratios.append(float(r["latency_s"]) / lim / ref)
    return ratios
