"""Server metrics (prometheus_client), and a backend wrapper that feeds them.

:class:`Metrics` keeps one server's metrics in its own ``CollectorRegistry`` (no global
state: several apps can live in one process), with the process, platform and Python GC
collectors beside livemind's own. :class:`MeteredBackend` wraps a backend and counts
engine calls, calls in flight and the prompt tokens the engine evaluated vs took from its
cache, from the engine's own usage reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncGenerator, Iterator

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from livemind.backends.base import Backend, Delta, Request, Usage
from livemind.backends.forwarding import ForwardingBackend
from livemind.backends.scheduling import CallScheduler, Priority

__all__ = ["BUCKETS_S", "CONTENT_TYPE_LATEST", "MeteredBackend", "Metrics"]

BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


def _loop_tasks() -> float:
    """Live tasks of the event loop running in this thread (NaN outside one)."""
    try:
        return len(asyncio.all_tasks())
    except RuntimeError:
        return math.nan


class Metrics:
    """Everything ``/metrics`` reports, in :attr:`registry`.

    Counters are exposed with prometheus_client's ``_total`` suffix (``livemind_calls``
    -> ``livemind_calls_total``); resident memory and CPU come from the process collector
    (``process_resident_memory_bytes``, ``process_cpu_seconds_total``).
    """

    def __init__(self) -> None:
        self._schedulers: _SchedulerCollector | None = None
        self.registry = reg = CollectorRegistry()
        ProcessCollector(registry=reg)
        PlatformCollector(registry=reg)
        GCCollector(registry=reg)
        Gauge(
            "livemind_event_loop_tasks", "Live tasks of the server's event loop", registry=reg
        ).set_function(_loop_tasks)
        self.sessions_active = Gauge("livemind_sessions_active", "Open sessions", registry=reg)
        self.sessions = Counter("livemind_sessions", "Sessions opened", registry=reg)
        self.calls_in_flight = Gauge(
            "livemind_calls_in_flight", "Engine calls running now", registry=reg
        )
        self.calls = Counter("livemind_calls", "Engine calls started", registry=reg)
        self.prompt_tokens_evaluated = Counter(
            "livemind_prompt_tokens_evaluated", "Prompt tokens the engine evaluated", registry=reg
        )
        self.prompt_tokens_cached = Counter(
            "livemind_prompt_tokens_cached", "Prompt tokens taken from the cache", registry=reg
        )
        self.answers = Counter("livemind_answers", "Answers finished", registry=reg)
        self.session_cap = Gauge(
            "livemind_session_cap",
            "Live sessions admitted before new ones are refused as overloaded (learned)",
            registry=reg,
        )
        self.errors = Counter("livemind_errors", "Errors and refusals", ["code"], registry=reg)
        self.answer_latency = Histogram(
            "livemind_answer_latency_seconds",
            "Enter to the answer's end",
            buckets=BUCKETS_S,
            registry=reg,
        )
        self.answer_ttft = Histogram(
            "livemind_answer_ttft_seconds",
            "Enter to the answer's first token",
            buckets=BUCKETS_S,
            registry=reg,
        )

    def watch(self, scheduler: CallScheduler, engine: str) -> None:
        """Report ``scheduler``'s queue and deferrals under the label ``engine``."""
        if self._schedulers is None:  # one collector for every engine: one family each
            self._schedulers = _SchedulerCollector()
            self.registry.register(self._schedulers)
        self._schedulers.engines.append((engine, scheduler))

    def error(self, code: str) -> None:
        self.errors.labels(code=code).inc()

    def answered(self, latency_s: float, ttft_s: float | None) -> None:
        self.answers.inc()
        self.answer_latency.observe(latency_s)
        if ttft_s is not None:
            self.answer_ttft.observe(ttft_s)

    def value(self, name: str, **labels: str) -> float | None:
        """One sample's current value by its exposed name (None: no such sample)."""
        return self.registry.get_sample_value(name, labels)

    def render(self) -> bytes:
        """The exposition of every metric, to serve as :data:`CONTENT_TYPE_LATEST`."""
        return generate_latest(self.registry)


class _SchedulerCollector(Collector):
    """The engines' schedulers as metrics, read at each scrape: calls waiting and running
    per priority, the answer backlog, and background calls deferred (preempted or shed),
    each labelled with its engine (``main``, ``output``)."""

    def __init__(self) -> None:
        self.engines: list[tuple[str, CallScheduler]] = []

    def collect(self) -> Iterator[Metric]:
        waiting = GaugeMetricFamily(
            "livemind_calls_waiting", "Calls waiting for the engine", labels=["engine", "priority"]
        )
        running = GaugeMetricFamily(
            "livemind_calls_admitted_running",
            "Calls the scheduler let run now",
            labels=["engine", "priority"],
        )
        backlog = GaugeMetricFamily(
            "livemind_answer_backlog_seconds",
            "Seconds the answers waiting and running would take to clear",
            labels=["engine"],
        )
        deferred = CounterMetricFamily(
            "livemind_background_deferred",
            "Notes and prefills put behind answers (preempted: stopped; shed: skipped)",
            labels=["engine", "stage", "reason"],
        )
        for engine, sched in self.engines:
            for priority in Priority:
                name = priority.name.lower()
                waiting.add_metric([engine, name], sched.waiting(priority))
                running.add_metric([engine, name], sched.running(priority))
            backlog.add_metric([engine], sched.answer_backlog_s())
            for stage in ("inference", "prewarm"):
                for reason in ("preempted", "shed"):
                    count = sched.counts[f"{stage}.{reason}"]
                    deferred.add_metric([engine, stage, reason], count)
        yield from (waiting, running, backlog, deferred)


class MeteredBackend(ForwardingBackend):
    """Forwards to ``inner`` (which it does not own), counting calls, calls in flight and
    evaluated/cached tokens."""

    def __init__(self, inner: Backend, metrics: Metrics) -> None:
        super().__init__(inner, owns_inner=False)
        self.metrics = metrics

    def _count(self, usage: Usage | None) -> None:
        if usage is None:
            return
        # a counter refuses negative steps: a server's odd report must not break the call
        if usage.evaluated_tokens is not None:
            self.metrics.prompt_tokens_evaluated.inc(max(usage.evaluated_tokens, 0))
        if usage.cached_tokens is not None:
            self.metrics.prompt_tokens_cached.inc(max(usage.cached_tokens, 0))

    async def stream(self, request: Request) -> AsyncGenerator[Delta, None]:
        self.metrics.calls.inc()
        with self.metrics.calls_in_flight.track_inprogress():
            async with contextlib.aclosing(super().stream(request)) as deltas:
                async for delta in deltas:
                    self._count(delta.usage)
                    yield delta

    async def prewarm(self, request: Request) -> Usage | None:
        self.metrics.calls.inc()
        with self.metrics.calls_in_flight.track_inprogress():
            usage = await super().prewarm(request)
        self._count(usage)
        return usage
