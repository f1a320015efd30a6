"""Prompt-length bins up to 40+ sentences: the bins, the report's by-length table and the
latency-by-length plot, on hand-made records."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from livemind.eval.report import render_markdown
from livemind.eval.stats import LENGTH_BINS, length_bin, summarize

LIVE = "livemind/ua-spi/sentence/10/v2"


def rec(config: str, qid: str, correct: bool, latency: float, sentences: int) -> dict:
    """An answered record with what the by-length statistics read."""
    return {
        "config": config,
        "dataset": "toy",
        "qid": qid,
        "correct": correct,
        "latency_s": latency,
        "prompt_sentences": sentences,
        "error": None,
    }


def test_long_prompt_bins() -> None:
    assert LENGTH_BINS == ("1", "2", "3", "4-5", "6-9", "10-19", "20-29", "30-39", "40+")
    edges = {0: "1", 1: "1", 3: "3", 4: "4-5", 5: "4-5", 6: "6-9", 9: "6-9", 10: "10-19"}
    edges |= {19: "10-19", 20: "20-29", 29: "20-29", 30: "30-39", 39: "30-39", 40: "40+"}
    assert {n: length_bin(n) for n in edges} == edges
    assert length_bin(250) == "40+" and length_bin(29.0) == "20-29"
    assert length_bin(None) is None and length_bin(True) is None and length_bin("20") is None


@pytest.fixture
def long_runs() -> list[dict]:
    """baseline and live on prompts of 2, 12, 21, 25, 33 and 47 sentences (q4 wrong)."""
    lengths = [2, 12, 21, 25, 33, 47]
    return [
        rec(config, f"q{i}", i != 4, latency * (1 + i), n)
        for config, latency in (("baseline", 1.0), (LIVE, 0.5))
        for i, n in enumerate(lengths)
    ]


def test_long_prompts_in_the_by_length_table(long_runs: list[dict]) -> None:
    base, live = summarize(long_runs)
    assert list(live.by_length) == ["2", "10-19", "20-29", "30-39", "40+"]
    twenties = base.by_length["20-29"]
    assert (twenties.n, twenties.accuracy, twenties.median_latency_s) == (2, 1.0, 3.5)
    assert base.by_length["30-39"].accuracy == 0.0
    md = render_markdown([base, live])
    head = "| config | 2 sent. | 10-19 sent. | 20-29 sent. | 30-39 sent. | 40+ sent. |"
    assert head in md
    assert "| `baseline` | 1.00 s · 100.0% (n=1) | 2.00 s · 100.0% (n=1) | 3.50 s" in md
    assert "| 5.00 s · 0.0% (n=1) | 6.00 s · 100.0% (n=1) |" in md  # baseline, 30-39 and 40+


def test_latency_by_length_plot_shows_every_non_empty_bin(
    long_runs: list[dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("matplotlib")
    from livemind.eval import plots

    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig))
    only_long = [r for r in long_runs if r["prompt_sentences"] >= 20 or r["config"] == LIVE]
    plots.plot_latency_by_length(summarize(only_long), tmp_path / "x.png")
    (ax,) = figures[0].axes
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["2", "10-19", "20-29", "30-39", "40+"]
    base, live = (line.get_ydata() for line in ax.get_lines())
    assert [math.isnan(y) for y in base] == [True, True, False, False, False]
    assert list(live) == pytest.approx([0.5, 1.0, 1.75, 2.5, 3.0])
