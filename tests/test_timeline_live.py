"""``livemind demo --plot``: the timeline of a real run (smollm2-135m) as JSON and PNG."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.model


def test_demo_draws_the_timeline_and_puts_it_in_the_json(cli, tmp_path: Path) -> None:
    from matplotlib.image import imread

    png = tmp_path / "timeline.png"
    proc = cli(
        "demo", "--json", "--model", "smollm2-135m", "--fast", "--max-tokens", "96",
        "--plot", str(png),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)  # the plot wrote nothing to stdout
    tl = result["timeline"]
    enter = tl["enter"]
    keys = tl["keys"]
    assert keys[0][0] == 0.0 and keys[-1][1] == len(result["question"])
    assert enter == pytest.approx(keys[-1][0], abs=1e-3)  # Enter with the last key (--fast)
    # 240 characters/minute: the typing takes about a quarter second per character
    assert enter == pytest.approx(0.25 * (len(result["question"]) - 1), rel=0.01)
    thinking = [s for s in tl["spans"] if s["lane"] == "thinking"]
    inference = [s for s in thinking if s["kind"] == "inference"]
    assert len(inference) == result["inference_calls"] >= 1
    assert all(s["start"] > 0 for s in inference)
    assert any(s["end"] <= enter for s in inference)  # the model read while typing
    assert any(s["kind"] == "prewarm" and s["end"] <= enter for s in thinking)
    assert any(m["kind"] == "segment" and m["at"] < enter for m in tl["marks"])
    (answer,) = [s for s in tl["spans"] if s["kind"] == "answer"]
    assert enter <= answer["start"] < answer["first_token"] <= answer["end"]
    (base,) = [s for s in tl["spans"] if s["kind"] == "baseline"]
    assert enter <= base["start"] < base["first_token"] <= base["end"]
    # the picture's numbers are the demo's (same clock, up to a few milliseconds)
    assert tl["latency"]["latency_s"] == pytest.approx(result["latency_s"], abs=0.03)
    assert tl["latency"]["baseline_latency_s"] == pytest.approx(
        result["baseline_latency_s"], abs=0.03
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = imread(png).shape
    assert 1200 <= width <= 2000 and 450 <= height <= 900
