"""`livemind bench` and `livemind report` end to end with the real smollm2-135m model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from livemind.backends.priority import PriorityBackend
from livemind.backends.scheduling import CallScheduler, SchedulingPolicy
from livemind.eval.configs import parse_configs
from livemind.eval.datasets import load_dataset
from livemind.eval.runner import BenchOptions, run_bench
from livemind.formats import DEFAULT_FORMAT
from scripted_backend import ScriptedBackend, is_inference_request

FIELDS = {
    "config",
    "dataset",
    "qid",
    "subject",
    "prompt_chars",
    "prompt_sentences",
    "gold",
    "extracted",
    "correct",
    "answer",
    "actions",
    "latency_s",
    "ttft_s",
    "overhead_s",
    "busy_s",
    "inference_calls",
    "final_prompt_tokens",
    "final_cached_tokens",
    "final_evaluated_tokens",
    "answer_tokens",
    "prefill_rate",
    "decode_rate",
    "limit_s",
    "edited",
    "error",
    "model",
    "output_model",
}
CONFIGS = "baseline,baseline-prewarm,output-only,livemind"


@pytest.mark.model
def test_bench_and_report_end_to_end(tmp_path: Path, cli) -> None:
    out = tmp_path / "run.jsonl"
    args = [
        "bench",
        "--model",
        "smollm2-135m",
        "--dataset",
        "mmlu",
        "--n",
        "3",
        "--min-sentences",
        "2",
        "--configs",
        CONFIGS,
        "--out",
        str(out),
        "--answer-max-tokens",
        "48",
        "--typo-rate",
        "0.5",
        "--quiet",
    ]
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 12
    live_name = f"livemind/{DEFAULT_FORMAT}/sentence/10/v2+auto+notes-auto"  # the defaults
    assert {r["config"] for r in records} == {
        "baseline",
        "baseline-prewarm",
        f"output-only/{DEFAULT_FORMAT}+auto+notes-auto",
        live_name,
    }
    for r in records:
        assert set(r) >= FIELDS, FIELDS - set(r)
        assert r["error"] is None and r["latency_s"] > 0 and r["limit_s"] > 0
        assert r["prompt_sentences"] >= 2 and r["busy_s"] > 0
    live = [r for r in records if r["config"].startswith("livemind")]
    assert all(r["inference_calls"] >= 1 and r["actions"] for r in live)
    assert all(r["answer_mode"] == "short" for r in live)  # multiple choice: auto -> short
    warm = [r for r in records if r["config"] == "baseline-prewarm"]
    assert all(r["final_cached_tokens"] > 0 for r in warm)  # prefilled while typed
    cold = [r for r in records if r["config"] == "baseline"]
    assert all(r["final_cached_tokens"] == 0 for r in cold)  # caches reset between runs
    # Resumable: a second run finds everything done.
    again = cli(*args)
    assert again.returncode == 0 and "0 new records" in again.stdout
    # The report renders the table and the plots.
    rep = cli("report", str(out), "--out", str(tmp_path / "rep"))
    assert rep.returncode == 0, rep.stderr
    md = (tmp_path / "rep" / "report.md").read_text()
    assert f"`{live_name}`" in md and "speed-up" in md and "## Answers and notes" in md
    assert (tmp_path / "rep" / "latency_cdf.png").stat().st_size > 1000


async def test_runner_interleaves_and_resumes_with_scripted_backend(tmp_path: Path) -> None:
    """Pure runner logic (order, resume, GSM records) with the scripted test double."""
    questions = load_dataset("gsm", n=3, seed=1, min_sentences=3)
    backend = ScriptedBackend(
        lambda r: "INFERENCE: ok" if is_inference_request(r) else "The answer is 7"
    )
    configs = parse_configs("baseline,livemind/u-pi/sentence/3+short+notes-free")
    out = tmp_path / "r.jsonl"
    seen: list[str] = []
    n = await run_bench(
        questions,
        configs,
        lambda m: backend,
        out,
        BenchOptions(),
        on_record=lambda r: seen.append(r["config"]),
    )
    assert n == 6
    assert seen[:2] == ["baseline", "livemind/u-pi/sentence/3/v2"]
    assert seen[2:4] == ["livemind/u-pi/sentence/3/v2", "baseline"]  # rotated per question
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert all(r["dataset"] == "gsm" and r["extracted"] == "7" for r in records)
    live = [r for r in records if r["config"].startswith("livemind")]
    assert all(r["answer_mode"] == "short" and r["notes_checked"] >= 0 for r in live)
    assert {r["answer_mode"] for r in records if r["config"] == "baseline"} == {"baseline"}
    assert await run_bench(questions, configs, lambda m: backend, out, BenchOptions()) == 0


async def test_sessions_at_once_share_the_scheduled_engine(tmp_path: Path) -> None:
    """``sessions=3``: questions overlap on one engine behind the priority scheduler,
    every record is written once, and no session erases the shared cache."""
    questions = load_dataset("gsm", n=3, seed=1, min_sentences=3)

    class Counting(ScriptedBackend):
        def __init__(self) -> None:
            super().__init__(
                lambda r: "INFERENCE: ok" if is_inference_request(r) else "The answer is 7",
                delay=0.01,
            )
            self.keys: set[str | None] = set()
            self.peak = self.resets = 0

        async def stream(self, request):  # type: ignore[no-untyped-def,override]
            self.keys.add(request.session_key)
            self.peak = max(self.peak, len(self.keys))
            try:
                async for delta in super().stream(request):
                    yield delta
            finally:
                self.keys.discard(request.session_key)

        async def reset_cache(self) -> None:  # the rate calibration's count too
            self.resets += 1

    engine = Counting()
    shared = PriorityBackend(engine, CallScheduler(SchedulingPolicy(slots=3, background=2)))
    configs = parse_configs("baseline,livemind/u-pi/sentence/3+short+notes-free")
    out = tmp_path / "r.jsonl"
    opts = BenchOptions(sessions=3)
    assert await run_bench(questions, configs, lambda m: shared, out, opts) == 6
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((r["config"], r["qid"]) for r in records) == sorted(
        {(c.name, q.qid) for c in configs for q in questions}
    )
    assert all(r["error"] is None and r["extracted"] == "7" for r in records)
    assert engine.peak > 1 and engine.resets == 2  # the calibration's two runs only
    assert shared.scheduler.counts["answer.admitted"] >= 6


def test_a_torn_last_record_is_dropped_and_a_bad_line_is_named(tmp_path: Path) -> None:
    from livemind.eval.runner import done_keys, drop_torn_tail

    out = tmp_path / "runs.jsonl"
    whole = '{"config": "a", "qid": "q1", "think_s": 1.0}\n'
    out.write_text(whole + '{"config": "a", "qid": "q2", "thi')  # the run was killed
    assert drop_torn_tail(out) == 2
    assert out.read_text() == whole and done_keys(out, 1.0) == {("a", "q1")}
    assert drop_torn_tail(out) is None  # nothing left to cut
    out.write_text(whole.rstrip("\n"))  # whole, only the newline missing: kept
    assert drop_torn_tail(out) is None and out.read_text() == whole
    out.write_text(whole + "garbage\n" + whole)
    with pytest.raises(ValueError, match=r"runs.jsonl:2: not a benchmark record"):
        done_keys(out)
