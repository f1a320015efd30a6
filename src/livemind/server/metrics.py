"""Server metrics in the Prometheus text format, and a backend wrapper that feeds them.

:class:`Metrics` holds counters, gauges and latency histograms for one server (no global
state). :class:`MeteredBackend` wraps a backend and counts calls in flight and the prompt
tokens the engine evaluated vs took from its cache, from the engine's own usage reports.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from livemind.backends.base import Backend, Capabilities, Delta, Request, Usage

BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


@dataclass(slots=True)
class Histogram:
    """Cumulative-bucket histogram of seconds."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS_S) + 1))
    total: float = 0.0
    n: int = 0

    def observe(self, seconds: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS_S, seconds)] += 1
        self.total += seconds
        self.n += 1

    def lines(self, name: str) -> list[str]:
        out, running = [], 0
        for bound, count in zip((*BUCKETS_S, float("inf")), self.counts, strict=True):
            running += count
            le = "+Inf" if bound == float("inf") else f"{bound:g}"
            out.append(f'{name}_bucket{{le="{le}"}} {running}')
        return [*out, f"{name}_sum {self.total:.6f}", f"{name}_count {self.n}"]


@dataclass(slots=True)
class Metrics:
    """Everything ``/metrics`` reports."""

    sessions_active: int = 0
    sessions_total: int = 0
    calls_in_flight: int = 0
    calls_total: int = 0
    prompt_tokens_evaluated: int = 0
    prompt_tokens_cached: int = 0
    answers_total: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    answer_latency: Histogram = field(default_factory=Histogram)
    answer_ttft: Histogram = field(default_factory=Histogram)

    def error(self, code: str) -> None:
        self.errors[code] = self.errors.get(code, 0) + 1

    def answered(self, latency_s: float, ttft_s: float | None) -> None:
        self.answers_total += 1
        self.answer_latency.observe(latency_s)
        if ttft_s is not None:
            self.answer_ttft.observe(ttft_s)

    def render(self, loop_tasks: int | None = None) -> str:
        """The Prometheus text exposition of every metric; ``loop_tasks``: the event
        loop's live tasks, and the process's resident memory when /proc tells it."""
        p = "livemind_"
        lines = []
        if loop_tasks is not None:
            lines += [f"# TYPE {p}event_loop_tasks gauge", f"{p}event_loop_tasks {loop_tasks}"]
        rss = resident_bytes()
        if rss is not None:
            lines += [f"# TYPE {p}process_resident_bytes gauge", f"{p}process_resident_bytes {rss}"]
        lines += [
            f"# TYPE {p}sessions_active gauge",
            f"{p}sessions_active {self.sessions_active}",
            f"# TYPE {p}sessions_total counter",
            f"{p}sessions_total {self.sessions_total}",
            f"# TYPE {p}calls_in_flight gauge",
            f"{p}calls_in_flight {self.calls_in_flight}",
            f"# TYPE {p}calls_total counter",
            f"{p}calls_total {self.calls_total}",
            f"# TYPE {p}prompt_tokens_evaluated_total counter",
            f"{p}prompt_tokens_evaluated_total {self.prompt_tokens_evaluated}",
            f"# TYPE {p}prompt_tokens_cached_total counter",
            f"{p}prompt_tokens_cached_total {self.prompt_tokens_cached}",
            f"# TYPE {p}answers_total counter",
            f"{p}answers_total {self.answers_total}",
            f"# TYPE {p}errors_total counter",
        ]
        lines += [f'{p}errors_total{{code="{c}"}} {n}' for c, n in sorted(self.errors.items())]
        lines += [f"# TYPE {p}answer_latency_seconds histogram"]
        lines += self.answer_latency.lines(f"{p}answer_latency_seconds")
        lines += [f"# TYPE {p}answer_ttft_seconds histogram"]
        lines += self.answer_ttft.lines(f"{p}answer_ttft_seconds")
        return "\n".join(lines) + "\n"


def resident_bytes() -> int | None:
    """This process's resident memory (Linux /proc), or None elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


class MeteredBackend(Backend):
    """Forwards to ``inner``, counting calls in flight and evaluated/cached tokens."""

    def __init__(self, inner: Backend, metrics: Metrics) -> None:
        self.inner = inner
        self.metrics = metrics
        self.name = inner.name
        self.model = inner.model
        self.context_size = inner.context_size

    @property
    def capabilities(self) -> Capabilities:  # type: ignore[override]
        return self.inner.capabilities

    def _count(self, usage: Usage | None) -> None:
        if usage is None:
            return
        if usage.evaluated_tokens is not None:
            self.metrics.prompt_tokens_evaluated += usage.evaluated_tokens
        if usage.cached_tokens is not None:
            self.metrics.prompt_tokens_cached += usage.cached_tokens

    async def stream(self, request: Request) -> AsyncIterator[Delta]:
        self.metrics.calls_in_flight += 1
        self.metrics.calls_total += 1
        try:
            async for delta in self.inner.stream(request):
                self._count(delta.usage)
                yield delta
        finally:
            self.metrics.calls_in_flight -= 1

    async def prewarm(self, request: Request) -> Usage | None:
        self.metrics.calls_in_flight += 1
        self.metrics.calls_total += 1
        try:
            usage = await self.inner.prewarm(request)
        finally:
            self.metrics.calls_in_flight -= 1
        self._count(usage)
        return usage

    async def reset_cache(self) -> None:
        await self.inner.reset_cache()
