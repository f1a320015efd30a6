"""PNG plots of the evaluation report (matplotlib, Agg canvas, no pyplot global state).

Imported lazily by :func:`livemind.eval.report.write_report`; importing this module requires
matplotlib. Every plot takes the summaries in report order and keeps one colour per config.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

from matplotlib import colormaps, ticker
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from livemind.eval.report_tables import pareto_front
from livemind.eval.stats import LENGTH_BINS, ConfigSummary

DPI = 120
WIDE = 10.0  # use a log axis when max / min exceeds this


def _figure() -> tuple[Figure, Axes]:
    fig = Figure(figsize=(9, 6), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _colour(i: int, n: int) -> tuple[float, float, float, float]:
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return cmap(i % cmap.N)


def _wide(values: Sequence[float]) -> bool:
    pos = [v for v in values if v > 0 and math.isfinite(v)]
    return bool(pos) and max(pos) / min(pos) > WIDE


def _plain_log_ticks(axis: Axis) -> None:
    """Plain tick labels (0.5, 1, 2, 5) on a log axis instead of powers of ten."""
    fmt = ticker.FuncFormatter(lambda v, _: f"{v:g}")
    axis.set_major_formatter(fmt)
    axis.set_minor_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}" if _leading(v) else ""))


def _leading(v: float) -> bool:
    """Label minor log ticks whose leading digit is 2 or 5."""
    if v <= 0:
        return False
    return round(v / 10 ** math.floor(math.log10(v))) in (2, 5)


def _save(fig: Figure, path: Path) -> None:
    fig.savefig(path, dpi=DPI, bbox_inches="tight")  # keep a wide legend whole


def plot_accuracy_vs_latency(summaries: Sequence[ConfigSummary], path: Path) -> None:
    """One numbered point per config (the legend names them): x = median latency, y =
    accuracy with 95% Wilson CI; a dashed staircase joins the Pareto front (the best
    accuracy reached within each latency)."""
    fig, ax = _figure()
    xs: list[float] = []
    for i, s in enumerate(summaries):
        if s.median_latency_s is None or s.accuracy is None or s.accuracy_ci is None:
            continue
        x, y = s.median_latency_s, 100 * s.accuracy
        lo, hi = (100 * v for v in s.accuracy_ci)
        xs.append(x)
        number = str(len(xs))  # points carry a number, the legend the names: no overlaps
        ax.errorbar(
            x,
            y,
            yerr=[[max(y - lo, 0.0)], [max(hi - y, 0.0)]],  # rounding can flip the sign
            fmt="*" if s.is_baseline else "o",
            markersize=12 if s.is_baseline else 7,
            capsize=4,
            color=_colour(i, len(summaries)),
            label=f"{number}  {s.config} (n={s.n})",
        )
        ax.annotate(number, (x, y), xytext=(5, 4), textcoords="offset points", fontsize=9)
    # the front holds only configs with both numbers; the filter narrows the types
    front = [
        (lat, 100 * acc)
        for s in pareto_front(summaries)
        if (lat := s.median_latency_s) is not None and (acc := s.accuracy) is not None
    ]
    if len(front) >= 2:
        ax.step(
            [lat for lat, _ in front],
            [acc for _, acc in front],
            where="post",
            linestyle="--",
            color="grey",
            linewidth=1,
            zorder=0,
            label="Pareto front",
        )
    if _wide(xs):
        ax.set_xscale("log")
        _plain_log_ticks(ax.xaxis)
    ax.set_xlabel("median latency after Enter (s)" + (", log scale" if _wide(xs) else ""))
    ax.set_ylabel("accuracy (%), 95% Wilson CI")
    ax.set_title("Accuracy vs latency per configuration")
    if xs:
        fig.legend(fontsize=8, loc="outside lower center", ncols=2)
    ax.grid(True, alpha=0.3, which="both")
    _save(fig, path)


def plot_latency_cdf(summaries: Sequence[ConfigSummary], path: Path) -> None:
    """Empirical CDF of the latency of answered questions, one step line per config."""
    fig, ax = _figure()
    everything: list[float] = []
    for i, s in enumerate(summaries):
        if not s.latencies:
            continue
        xs = list(s.latencies)
        ys = [(k + 1) / len(xs) for k in range(len(xs))]
        everything += xs
        ax.step(
            xs,
            ys,
            where="post",
            label=f"{s.config} (n={s.n})",
            color=_colour(i, len(summaries)),
            linewidth=2.2 if s.is_baseline else 1.5,
        )
    if _wide(everything):
        ax.set_xscale("log")
        _plain_log_ticks(ax.xaxis)
    ax.set_xlabel("latency after Enter (s)" + (", log scale" if _wide(everything) else ""))
    ax.set_ylabel("fraction of questions answered within")
    ax.set_ylim(0, 1.02)
    ax.set_title("Latency CDF (answered questions)")
    ax.grid(True, alpha=0.3, which="both")
    if everything:
        fig.legend(fontsize=8, loc="outside lower center", ncols=2)
    _save(fig, path)


def plot_latency_by_length(summaries: Sequence[ConfigSummary], path: Path) -> None:
    """Median latency per prompt-length bin (sentences), one line per config."""
    fig, ax = _figure()
    bins = [b for b in LENGTH_BINS if any(b in s.by_length for s in summaries)]
    values: list[float] = []
    for i, s in enumerate(summaries):
        ys = [
            v
            if (c := s.by_length.get(b)) is not None and (v := c.median_latency_s) is not None
            else math.nan
            for b in bins
        ]
        if all(math.isnan(y) for y in ys):
            continue
        values += [y for y in ys if not math.isnan(y)]
        ax.plot(
            range(len(bins)),
            ys,
            marker="*" if s.is_baseline else "o",
            label=f"{s.config} (n={s.n})",
            color=_colour(i, len(summaries)),
        )
    ax.set_xticks(range(len(bins)), [f"{b}" for b in bins])
    if _wide(values):
        ax.set_yscale("log")
        _plain_log_ticks(ax.yaxis)
    ax.set_xlabel("prompt length (sentences)")
    ax.set_ylabel("median latency after Enter (s)" + (", log scale" if _wide(values) else ""))
    ax.set_title("Median latency by prompt length")
    ax.grid(True, alpha=0.3, which="both")
    if values:
        fig.legend(fontsize=8, loc="outside lower center", ncols=2)
    _save(fig, path)


PLOTS = (
    (
        "Accuracy vs median latency (95% Wilson CI)",
        "accuracy_vs_latency.png",
        plot_accuracy_vs_latency,
    ),
    ("Latency CDF", "latency_cdf.png", plot_latency_cdf),
    ("Median latency by prompt length", "latency_by_length.png", plot_latency_by_length),
)


def write_plots(summaries: Sequence[ConfigSummary], out_dir: Path) -> list[tuple[str, str]]:
    """Write every plot into ``out_dir``; return (caption, file name relative to out_dir)."""
    written = []
    for caption, name, plot in PLOTS:
        plot(summaries, Path(out_dir) / name)
        written.append((caption, name))
    return written
