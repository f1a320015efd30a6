"""Evaluation report: statistics on hand-made records, markdown, plots and the CLI."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import pytest

import livemind.eval
from livemind.eval.report import add_report_arguments, render_markdown, run_report, write_report
from livemind.eval.stats import ReportError, load_records, summarize, wilson_ci
from livemind.eval.synthetic import synthetic_records

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PLOT_FILES = ("accuracy_vs_latency.png", "latency_cdf.png", "latency_by_length.png")
LIVE = "livemind/ua-spi/sentence/10/v2"


def rec(config: str, qid: str, correct: bool, latency: float, sentences: int, **kw) -> dict:
    """A minimal record; busy_s and limit_s default to latency and latency / 2."""
    r = {
        "config": config,
        "dataset": "toy",
        "qid": qid,
        "correct": correct,
        "latency_s": latency,
        "ttft_s": latency / 4,
        "busy_s": latency,
        "limit_s": latency / 2,
        "overhead_s": 0.0,
        "inference_calls": 1,
        "final_evaluated_tokens": 100,
        "final_cached_tokens": 0,
        "prompt_sentences": sentences,
        "error": None,
        "model": "m",
        "output_model": "m",
    }
    return r | kw


@pytest.fixture
def toy() -> list[dict]:
    """baseline: q1..q4 answered (3/4 correct), q5 failed.
    live: q1..q6 answered (5/6 correct); pairs with the baseline on q1..q4 only."""
    return [
        rec("baseline", "q1", True, 1.0, 1),
        rec("baseline", "q2", True, 2.0, 2),
        rec("baseline", "q3", False, 3.0, 3),
        rec("baseline", "q4", True, 4.0, 4),
        rec("baseline", "q5", False, 99.0, 6, error="timeout"),
        rec(LIVE, "q1", True, 0.5, 1, busy_s=3.0, inference_calls=3, final_cached_tokens=90),
        rec(LIVE, "q2", False, 1.0, 2, busy_s=3.0, inference_calls=3, final_cached_tokens=90),
        rec(LIVE, "q3", True, 1.5, 3, busy_s=3.0, inference_calls=4, final_cached_tokens=90),
        rec(LIVE, "q4", True, 2.0, 4, busy_s=3.0, inference_calls=4, final_cached_tokens=90),
        rec(LIVE, "q5", True, 0.5, 6, busy_s=3.0, inference_calls=5, final_cached_tokens=90),
        rec(LIVE, "q6", True, 1.0, 7, busy_s=3.0, inference_calls=5, final_cached_tokens=90),
    ]


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def test_wilson_reference_values() -> None:
    lo, hi = wilson_ci(3, 4)
    assert lo == pytest.approx(0.3006, abs=1e-4) and hi == pytest.approx(0.9544, abs=1e-4)
    lo, hi = wilson_ci(0, 10)
    assert lo == 0.0 and hi == pytest.approx(3.8415 / 13.8415, abs=1e-4)
    assert wilson_ci(0, 0) is None


def test_summary_numbers_by_hand(toy: list[dict]) -> None:
    base, live = summarize(toy)
    assert (base.config, live.config) == ("baseline", LIVE)
    assert base.is_baseline and not live.is_baseline
    # errors: excluded and counted
    assert (base.n, base.n_errors, live.n, live.n_errors) == (4, 1, 6, 0)
    assert base.accuracy == 0.75 and live.accuracy == pytest.approx(5 / 6)
    assert base.accuracy_ci == pytest.approx((0.3006, 0.9544), abs=1e-4)
    # latency: baseline [1, 2, 3, 4]; live [0.5, 0.5, 1, 1, 1.5, 2]
    assert base.median_latency_s == 2.5 and base.mean_latency_s == 2.5
    assert base.p90_latency_s == pytest.approx(3.7)  # 3 + 0.7 * (4 - 3)
    assert live.median_latency_s == 1.0 and live.mean_latency_s == pytest.approx(6.5 / 6)
    assert live.speedup == pytest.approx(2.5) and live.latency_change == pytest.approx(-0.6)
    assert base.speedup == 1.0 and base.latency_change == 0.0
    assert live.median_ttft_s == 0.25 and live.median_limit_ratio == 2.0
    # compute: median busy 2.5 (baseline) vs 3.0 (live)
    assert live.median_busy_s == 3.0 and live.busy_ratio == pytest.approx(1.2)
    assert live.median_calls == 4.0 and base.median_calls == 1.0
    assert live.mean_evaluated_tokens == 100 and live.mean_cached_tokens == 90
    # pairs: q1..q4 (q5 failed on the baseline, q6 absent); diffs 0, -1, +1, 0
    assert live.n_pairs == 4 and live.paired_diff == 0.0
    half = 1.959964 * math.sqrt(2 / 3) / 2
    assert live.paired_ci == pytest.approx((-half, half), abs=1e-5)
    assert base.n_pairs == 4 and base.paired_diff == 0.0
    # by length: the failed q5 leaves the baseline without a 6-9 bin
    assert list(base.by_length) == ["1", "2", "3", "4-5"]
    assert list(live.by_length) == ["1", "2", "3", "4-5", "6-9"]
    six = live.by_length["6-9"]
    assert (six.n, six.accuracy, six.median_latency_s) == (2, 1.0, 0.75)
    assert live.latencies == (0.5, 0.5, 1.0, 1.0, 1.5, 2.0)


def test_pairing_uses_qid_not_order(toy: list[dict]) -> None:
    shuffled = toy[:5] + list(reversed(toy[5:]))
    live = summarize(shuffled)[1]
    assert (live.n_pairs, live.paired_diff) == (4, 0.0)
    flipped = [r | {"correct": True} if r["config"] == LIVE else r for r in toy]
    live = summarize(flipped)[1]
    assert live.paired_diff == pytest.approx(0.25)  # the one wrong baseline answer, q3


def test_order_and_duplicates() -> None:
    records = [
        rec("zeta", "q1", True, 0.5, 1),
        rec("output-only", "q1", True, 3.0, 1),
        rec("alpha", "q1", True, 2.0, 1),
        rec("baseline-prewarm", "q1", True, 4.0, 1),
        rec("baseline", "q1", True, 5.0, 1),
        rec("failed", "q1", True, 1.0, 1, error="boom"),
        rec("zeta", "q1", False, 0.7, 1),  # a retry: the last one wins
    ]
    summaries = summarize(records)
    order = [s.config for s in summaries]
    assert order == ["baseline", "baseline-prewarm", "output-only", "zeta", "alpha", "failed"]
    zeta = summaries[3]
    assert (zeta.n, zeta.n_duplicates, zeta.accuracy, zeta.median_latency_s) == (1, 1, 0.0, 0.7)
    failed = summaries[-1]
    assert (failed.n, failed.n_errors, failed.accuracy, failed.speedup) == (0, 1, None, None)
    assert "| `failed` | 0 | – | – | – | – (pairs=0) |" in render_markdown(summaries)


def test_render_markdown(toy: list[dict]) -> None:
    md = render_markdown(summarize(toy), title="Toy run")
    assert md.startswith("# Toy run\n")
    assert "| config | n | median latency | speed-up | accuracy [95% CI] |" in md
    assert "| `baseline` | 4 | 2.50 s | 1.00× | 75.0% [30.1, 95.4] | (baseline) |" in md
    assert f"| `{LIVE}` | 6 | 1.00 s | 2.50× | 83.3% [" in md
    assert "+0.0 pp [-80.0, +80.0] (pairs=4)" in md
    assert "| `baseline` | m | 4 | 1 |" in md  # details: models, n, errors
    assert "-60.0%" in md and "1.20×" in md
    assert "## By prompt length" in md and "| 4-5 sent. | 6-9 sent. |" in md
    assert "| `baseline` | 1.00 s · 100.0% (n=1) |" in md
    assert "0.75 s · 100.0% (n=2) |" in md  # live, 6-9
    assert "How to read this" in md
    assert "By prompt length" not in render_markdown(summarize(toy), by_length=False)
    assert "No records." in render_markdown([])


def test_missing_baseline(toy: list[dict], tmp_path: Path) -> None:
    summaries = summarize(toy, baseline="nope")
    assert not any(s.is_baseline for s in summaries)
    assert all(s.speedup is None and s.paired_diff is None and s.n_pairs == 0 for s in summaries)
    md = render_markdown(summaries)
    assert "Baseline `nope` not found" in md
    assert "speed-up" not in md and "Δ accuracy vs" not in md
    assert "| `baseline` | 4 | 2.50 s | 75.0% [30.1, 95.4] |" in md
    warnings: list[str] = []
    path = write_report(
        [write_jsonl(tmp_path / "run.jsonl", toy)],
        tmp_path / "out",
        baseline="nope",
        on_warning=warnings.append,
    )
    assert path.is_file() and any("'nope' not found" in w for w in warnings)


def test_load_records_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text('{"config": "a", "qid": "1"}\n\n  \n{"config": "b", "qid": "2"}\n')
    assert [r["config"] for r in load_records([good, good])] == ["a", "b", "a", "b"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"config": "a", "qid": "1"}\n\n{"config": "a", "qid": \n')
    with pytest.raises(ReportError, match=r"bad\.jsonl:3: malformed JSON"):
        load_records([good, bad])
    bad.write_text("[1, 2]\n")
    with pytest.raises(ReportError, match=r"bad\.jsonl:1: not a record"):
        load_records([bad])
    with pytest.raises(ReportError, match=r"missing\.jsonl: no such file"):
        load_records([tmp_path / "missing.jsonl"])


def test_write_report_files(tmp_path: Path) -> None:
    records = synthetic_records(n_questions=15, seed=3, error_rate=0.1)
    assert records == synthetic_records(n_questions=15, seed=3, error_rate=0.1)
    run = write_jsonl(tmp_path / "run.jsonl", records)
    path = write_report([run], tmp_path / "out")
    assert path == tmp_path / "out" / "report.md"
    md = path.read_text(encoding="utf-8")
    for name in PLOT_FILES:
        png = tmp_path / "out" / name
        assert png.stat().st_size > 10_000 and png.read_bytes()[:8] == PNG_MAGIC
        assert f"]({name})" in md
    assert "`output-only`" in md and "(baseline)" in md


def test_write_report_without_matplotlib(
    toy: list[dict], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.delitem(sys.modules, "livemind.eval.plots", raising=False)
    monkeypatch.delattr(livemind.eval, "plots", raising=False)
    warnings: list[str] = []
    run = write_jsonl(tmp_path / "run.jsonl", toy)
    md = write_report([run], tmp_path, on_warning=warnings.append).read_text(encoding="utf-8")
    assert "matplotlib is not installed" in md and "## Plots" not in md
    assert warnings and not list(tmp_path.glob("*.png"))


def cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="livemind report")
    add_report_arguments(parser)
    return run_report(parser.parse_args(argv))


def test_cli(toy: list[dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = write_jsonl(tmp_path / "run.jsonl", toy)
    assert cli([str(run), "--out", str(tmp_path / "r"), "--baseline", "nope"]) == 0
    out, err = capsys.readouterr()
    assert "wrote" in out and "warning: baseline 'nope' not found" in err
    assert (tmp_path / "r" / "report.md").is_file()

    assert cli([str(tmp_path / "missing.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "error:" in err and "no such file" in err and "Traceback" not in err

    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    assert cli([str(empty)]) == 1
    assert "no records" in capsys.readouterr().err


def test_cache_and_speculation_table() -> None:
    def rec(qid: str, config: str, evaluated: int, unseen: int, spec: bool) -> dict:
        return {
            "config": config,
            "qid": qid,
            "correct": True,
            "latency_s": 1.0,
            "error": None,
            "final_evaluated_tokens": evaluated,
            "final_unseen_tokens": unseen,
            "speculative": spec,
            "speculation_saved_s": 0.5 if spec else 0.0,
            "speculations_wasted": 0 if spec else 1,
            "prewarm_calls": 3,
        }

    records = [rec("q1", "baseline", 100, 100, False), rec("q2", "baseline", 120, 120, False)]
    records += [rec("q1", "livemind", 22, 20, True), rec("q2", "livemind", 22, 20, False)]
    by_name = {s.config: s for s in summarize(records)}
    live = by_name["livemind"]
    assert live.evaluated_over_unseen == 1.1 and live.speculation_used == 0.5
    assert live.wasted_per_question == 0.5 and live.median_saved_s == 0.5
    text = render_markdown(list(by_name.values()))
    assert "## Cache and speculation" in text and "1.10×" in text and "50.0%" in text


def test_select_configs_and_common_questions(toy: list[dict], tmp_path: Path) -> None:
    from livemind.eval.selection import canonical_config_names, select_records

    names = "livemind/ua-spi+short+notes-free, baseline,livemind/ua-spi/sentence+short+notes-free"
    assert canonical_config_names(names) == [
        LIVE,
        "baseline",
    ]
    assert canonical_config_names("not a config") == ["not a config"]
    only_live = select_records(toy, configs=[LIVE])
    assert {r["config"] for r in only_live} == {LIVE} and len(only_live) == 6
    common = select_records(toy, common=True)
    # baseline has q1..q5 (q5 failed, still a record); live has q1..q6: q6 is dropped
    assert sorted({r["qid"] for r in common}) == ["q1", "q2", "q3", "q4", "q5"]
    assert len(common) == 10
    with pytest.raises(ReportError, match="no records for nope"):
        select_records(toy, configs=["nope"])
    lonely = [rec("a", "x", True, 1.0, 1), rec("b", "y", True, 1.0, 1)]
    with pytest.raises(ReportError, match="no question in common"):
        select_records(lonely, common=True)

    run = write_jsonl(tmp_path / "run.jsonl", toy)
    args = [
        "--out",
        str(tmp_path / "r"),
        "--configs",
        "livemind/ua-spi+short+notes-free",
        "--common",
    ]
    assert cli([str(run), *args]) == 0
    text = (tmp_path / "r" / "report.md").read_text()
    assert LIVE in text and "| `baseline`" not in text
    assert cli([str(run), "--out", str(tmp_path / "r2"), "--configs", "nope"]) == 1


def test_report_commands_written_before_answer_modes_select_the_same_records() -> None:
    from livemind.eval.selection import canonical_config_names

    legacy = "livemind/ua-spi/sentence/10/v2"  # a record name from before answer modes
    new = "livemind/ua-spi/sentence/10/v2+auto+notes-auto"
    assert canonical_config_names("livemind/ua-spi", {legacy, "baseline"}) == [legacy]
    assert canonical_config_names("livemind/ua-spi", {legacy, new}) == [new]  # newer wins
    assert canonical_config_names(["output-only", "baseline"], {"output-only"}) == [
        "output-only",
        "baseline",
    ]
    assert canonical_config_names("livemind/ua-spi") == [new]  # no records: today's meaning


def test_pareto_front_keeps_only_unbeaten_configs() -> None:
    """fast (1 s, 1/4) and accurate (4 s, 4/4) are on the front; slow-and-worse (3 s, 1/4)
    is beaten by fast; middle (2 s, 3/4) is on it; a config without answers is skipped."""
    from livemind.eval.report_tables import pareto_front

    def config(name: str, latency: float, right: int) -> list[dict]:
        return [rec(name, f"q{i}", i < right, latency, 2) for i in range(4)]

    records = (
        config("baseline", 4.0, 4)
        + config("fast", 1.0, 1)
        + config("slow-and-worse", 3.0, 1)
        + config("middle", 2.0, 3)
        + [rec("broken", "q0", False, 1.0, 2, error="timeout")]
    )
    summaries = summarize(records)
    front = [s.config for s in pareto_front(summaries)]
    assert front == ["fast", "middle", "baseline"]
    md = render_markdown(summaries)
    front_line = md.split("Pareto front")[1].split("\n")[0]
    assert "`middle`" in front_line and "`slow-and-worse`" not in front_line
