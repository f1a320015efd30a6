"""Draw a :class:`~livemind.timeline.Timeline` as a PNG (matplotlib, Agg canvas, no pyplot
global state).

Imported lazily by ``livemind demo --plot``; importing this module requires matplotlib
(the ``eval`` extra). Two panels show the same lanes: the whole turn, and a close-up from
shortly before Enter to the last answer token; the close-up's right side states the
latencies.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from livemind.timeline import LANES, Span, Timeline

DPI = 120
CLOSE_UP_S = 10.0  # answers that end within this after Enter are shown whole in the close-up
ROW = {lane: len(LANES) - 1 - i for i, lane in enumerate(LANES)}  # typing on top
NAMES = {
    "typing": "text typed",
    "thinking": "model calls\nwhile typing",
    "answer": "LiveMind\nanswer",
    "baseline": "baseline\nanswer",
}
CALL_COLOURS = {
    ("inference", "note"): ("#2e7d32", "inference call: note kept"),
    ("inference", "wait"): ("#8fa3ad", "inference call: model waits"),
    ("inference", "partial"): ("#f2a900", "cancelled at Enter, note so far kept"),
    ("inference", "cancelled"): ("#c62828", "inference call cancelled"),
    ("inference", "deferred"): ("#a1887f", "inference call deferred for another user's answer"),
    ("inference", "running"): ("#6d4c41", "inference call (no end seen)"),
    ("prewarm", "done"): ("#8e6fd1", "prefill-only call (prewarm)"),
    ("prewarm", "cancelled"): ("#d5c8f0", "prewarm cancelled"),
    ("prewarm", "deferred"): ("#d7ccc8", "prewarm deferred for another user's answer"),
    ("prewarm", "running"): ("#8e6fd1", "prefill-only call (prewarm)"),
    ("speculation", "cancelled"): ("#ef9a9a", "early answer discarded"),
}
ANSWER_COLOURS = {  # (before the first token, streaming)
    "answer": ("#9cc3f0", "#1565c0"),
    "baseline": ("#c9c9c9", "#555555"),
}
ENTER = "#d32f2f"
TYPED = "#64b5f6"


def plot_timeline(timeline: Timeline, path: Path, *, title: str, subtitle: str = "") -> None:
    """Write ``timeline`` to ``path`` as a PNG: lanes (typing, thinking, answer, baseline)
    over seconds since the first key, whole turn on the left, Enter close-up on the right."""
    fig = Figure(figsize=(13, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    whole, close = fig.subplots(1, 2, width_ratios=[2.1, 1])
    end = timeline.end
    for ax, (lo, hi) in ((whole, (-0.02 * end, end * 1.03)), (close, _close_up(timeline))):
        ax.set_xlim(lo, hi)
        _draw(ax, timeline, min_width=(hi - lo) / 600)
        for s in timeline.spans:
            if s.kind in ANSWER_COLOURS and s.end > hi and timeline.enter is not None:
                y, full = ROW[s.lane], s.end - timeline.enter
                ax.text(hi, y, f"on to {full:.1f} s \u2192 ", color="white", fontsize=8,
                        ha="right", va="center", fontweight="bold")  # fmt: skip
    whole.set_yticks([ROW[lane] for lane in LANES], [NAMES[lane] for lane in LANES])
    close.set_yticks([ROW[lane] for lane in LANES], _summaries(timeline))
    close.yaxis.tick_right()
    whole.set_xlabel("seconds since the first key")
    _from_enter(close, timeline.enter)
    whole.set_title("the whole turn", fontsize=10)
    close.set_title("around Enter", fontsize=10)
    fig.suptitle(title + (f"\n{subtitle}" if subtitle else ""), fontsize=11)
    fig.legend(handles=_legend(timeline), loc="outside lower center", ncols=4, fontsize=8)
    fig.savefig(path, dpi=DPI)


def _close_up(tl: Timeline) -> tuple[float, float]:
    """From shortly before Enter to the last answer token, or, when the answers stream for
    long (past ``CLOSE_UP_S`` and 4× the later first token), to a while after the later
    first token (the bars then run on past the edge)."""
    enter = tl.enter if tl.enter is not None else tl.end
    answers = [s for s in tl.spans if s.kind in ANSWER_COLOURS]
    post = max([s.end for s in answers], default=tl.end) - enter
    firsts = [s.first_token - enter for s in answers if s.first_token is not None]
    if firsts and post > max(CLOSE_UP_S, 4 * max(firsts)):
        post = max(3.0, 2.5 * max(firsts))
    post = max(post, 0.2)
    return enter - 0.6 * post, enter + 1.03 * post


def _from_enter(ax: Axes, enter: float | None) -> None:
    """Label the close-up's axis in seconds from Enter."""
    if enter is None:
        return
    lo, hi = ax.get_xlim()
    ticks = [
        t
        for t in MaxNLocator(nbins=7, steps=[1, 2, 5, 10]).tick_values(lo - enter, hi - enter)
        if lo <= t + enter <= hi
    ]
    ax.set_xticks([enter + t for t in ticks], [f"{t:g}" for t in ticks])
    ax.set_xlabel("seconds from Enter")


def _draw(ax: Axes, tl: Timeline, min_width: float) -> None:
    ax.set_ylim(-0.6, len(LANES) - 0.4)
    ax.grid(True, axis="x", alpha=0.3)
    for y in range(len(LANES) - 1):
        ax.axhline(y + 0.5, color="#e0e0e0", linewidth=0.8)
    _typing(ax, tl)
    for span in tl.spans:
        _span(ax, span, tl.enter, min_width)
    for mark in tl.marks:
        y = ROW[mark.lane]
        if mark.kind == "first_token":
            ax.plot([mark.at] * 2, [y - 0.3, y + 0.3], color="black", linewidth=1.2)
        elif mark.kind == "notes_paused":
            ax.plot(mark.at, y + 0.32, marker="v", color="#555555", markersize=5)
    if tl.enter is not None:
        ax.axvline(tl.enter, color=ENTER, linestyle="--", linewidth=1.3, zorder=5)
        ax.text(tl.enter, -0.55, "Enter ", color=ENTER, fontsize=8, ha="right", clip_on=True)


def _typing(ax: Axes, tl: Timeline) -> None:
    """Characters in the box over time, filling the typing lane; segment numbers above."""
    y = ROW["typing"]
    if tl.keys:
        total = max(n for _, n in tl.keys) or 1
        xs = [0.0] + [t for t, _ in tl.keys]
        ys = [y - 0.35] + [y - 0.35 + 0.7 * n / total for _, n in tl.keys]
        ax.fill_between(xs, y - 0.35, ys, step="post", color=TYPED, alpha=0.45, linewidth=0)
    for mark in tl.marks:
        if mark.kind == "segment":
            ax.plot([mark.at] * 2, [y - 0.38, y + 0.38], color="#1e4f8a", linewidth=0.9)
            ax.text(mark.at, y + 0.4, mark.label, fontsize=7, ha="center", clip_on=True)


def _span(ax: Axes, s: Span, enter: float | None, min_width: float) -> None:
    y = ROW[s.lane]
    width = max(s.end - s.start, min_width)
    if s.kind in ANSWER_COLOURS:
        before, streaming = ANSWER_COLOURS[s.kind]
        first = s.first_token if s.first_token is not None else s.end
        ax.barh(y, max(first - s.start, 0), left=s.start, height=0.5, color=before)
        ax.barh(y, max(s.end - first, min_width), left=first, height=0.5, color=streaming)
        return
    if s.kind == "wait":
        ax.barh(y, width, left=s.start, height=0.5, color="white", edgecolor="#888888",
                hatch="////", linewidth=0.6)  # fmt: skip
        return
    colour, _ = CALL_COLOURS.get((s.kind, s.outcome), ("#999999", ""))
    height = 0.22 if s.kind == "prewarm" else 0.5
    offset = -0.25 if s.kind == "prewarm" else 0.1  # prewarm: a thin bar below the calls
    ax.barh(y + offset, width, left=s.start, height=height, color=colour, linewidth=0)
    if enter is not None and s.end > enter > s.start:  # the part after Enter, hatched
        ax.barh(y + offset, s.end - enter, left=enter, height=height, color="none",
                edgecolor="black", hatch="xxx", linewidth=0)  # fmt: skip


def _summaries(tl: Timeline) -> list[str]:
    """Right-hand labels of the close-up, lane by lane (LANES order)."""
    lat = tl.latencies()
    typed = f"{tl.keys[-1][1]} characters in {tl.keys[-1][0]:.1f} s" if tl.keys else ""
    calls = tl.lane("thinking")
    n_inf = sum(s.kind == "inference" for s in calls)
    n_pre = sum(s.kind == "prewarm" for s in calls)
    thinking = f"{_count(n_inf, 'inference call')}\n{_count(n_pre, 'prefill call')}"
    return [typed, thinking, _latency(lat["ttft_s"], lat["latency_s"])] + [
        _latency(lat["baseline_ttft_s"], lat["baseline_latency_s"])
    ]


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'s' * (n != 1)}"


def _latency(ttft: float | None, total: float | None) -> str:
    if total is None:
        return "no answer"
    first = "–" if ttft is None else f"{ttft:.2f} s"
    return f"first token {first}\nfull answer {total:.2f} s\nafter Enter"


def _legend(tl: Timeline) -> list[Patch | Line2D]:
    """Entries for what this timeline shows, in a fixed order."""
    shown = {(s.kind, s.outcome) for s in tl.spans}
    handles: list[Patch | Line2D] = [Patch(color=TYPED, alpha=0.45, label="characters typed")]
    handles.append(Line2D([], [], color="#1e4f8a", label="segment n read by the model"))
    seen: set[str] = set()
    for key, (colour, label) in CALL_COLOURS.items():
        if key in shown and label not in seen:
            seen.add(label)
            handles.append(Patch(color=colour, label=label))
    if any(s.lane == "thinking" and tl.enter is not None and s.end > tl.enter for s in tl.spans):
        handles.append(Patch(facecolor="white", edgecolor="black", hatch="xxx",
                             label="still running after Enter"))  # fmt: skip
    if any(s.kind == "wait" for s in tl.spans):
        handles.append(Patch(facecolor="white", edgecolor="#888888", hatch="////",
                             label="answer waits for a running call"))  # fmt: skip
    for kind, name in (("answer", "LiveMind"), ("baseline", "baseline")):
        if tl.first(kind) is not None:
            before, streaming = ANSWER_COLOURS[kind]
            handles.append(Patch(color=before, label=f"{name}: before the first token"))
            handles.append(Patch(color=streaming, label=f"{name}: answer streaming"))
    handles.append(Line2D([], [], color="black", label="first answer token"))
    if any(m.kind == "notes_paused" for m in tl.marks):
        handles.append(Line2D([], [], marker="v", linestyle="", color="#555555",
                              label="notes paused (word problem)"))  # fmt: skip
    handles.append(Line2D([], [], color=ENTER, linestyle="--", label="Enter"))
    return handles
