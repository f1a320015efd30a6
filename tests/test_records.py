"""BenchRecord, the one schema of benchmark records: the runner (answered and failed
turns) and the synthetic records write the keys they always wrote, in the same order, and
every committed run file reads back into it unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from livemind.backends.base import BackendError, Request, Stage
from livemind.eval.configs import parse_configs
from livemind.eval.datasets import load_dataset
from livemind.eval.records import NOT_RECORDED, OPTIONAL_KEYS, BenchRecord
from livemind.eval.runner import BenchOptions, run_bench
from livemind.eval.synthetic import synthetic_records
from scripted_backend import ScriptedBackend

RUNS = Path(__file__).resolve().parent.parent / "benchmarks" / "runs"
HEAD = [
    "config",
    "dataset",
    "qid",
    "subject",
    "prompt_chars",
    "prompt_sentences",
    "gold",
    "edited",
    "model",
    "output_model",
    "prefill_rate",
    "decode_rate",
]
ANSWER = [
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
    "limit_s",
    "final_unseen_tokens",
]
TURN = ["answer_mode", "answer_finish", "think_s", "typing_s", "prewarm_calls", "prewarm_s"]
SPECULATION = ["speculative", "speculation_saved_s", "speculations_wasted"]
# the keys as the runner wrote them before BenchRecord, in their order (typing_s since
# issue 16; last_key_unseen_tokens, answered turns only, since its long-prompt analysis)
ANSWERED_GSM = [
    *HEAD,
    "notes_checked",
    "notes_right",
    *ANSWER,
    "last_key_unseen_tokens",
    *TURN,
    *SPECULATION,
    "error",
]
FAILED = [*HEAD, *ANSWER, "speculative", "error"]


async def runner_records(tmp_path: Path, fail: bool) -> list[dict]:
    def script(request: Request) -> str | BackendError:
        if request.stage == Stage.INFERENCE:
            return "INFERENCE: ok"
        if fail and request.stage == Stage.OUTPUT:
            return BackendError("server_error", "boom")
        return "The answer is 7"

    out = tmp_path / f"{fail}.jsonl"
    questions = load_dataset("gsm", n=1, seed=1, min_sentences=3)
    configs = parse_configs("livemind/u-pi/sentence/3+short+notes-free")
    await run_bench(questions, configs, lambda m: ScriptedBackend(script), out, BenchOptions())
    return [json.loads(line) for line in out.read_text().splitlines()]


async def test_the_runner_writes_the_keys_it_always_wrote(tmp_path: Path) -> None:
    (answered,) = await runner_records(tmp_path, fail=False)
    assert list(answered) == ANSWERED_GSM and answered["error"] is None
    (failed,) = await runner_records(tmp_path, fail=True)
    assert list(failed) == FAILED and failed["error"] == "boom"
    assert failed["answer"] == "" and failed["correct"] is False and failed["actions"] == []


def test_synthetic_records_have_the_first_schema() -> None:
    for record in synthetic_records(n_questions=3, error_rate=0.5):
        assert list(record) == [*HEAD, *ANSWER[:-1], "error"]


def test_every_committed_run_reads_back_unchanged() -> None:
    seen = 0
    for path in sorted(RUNS.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            data = json.loads(line)
            if "config" not in data:
                break  # not a bench run (a lab or load-test file)
            record = BenchRecord.from_dict(data)
            assert json.dumps(record.to_dict()) == json.dumps(data), path.name
            seen += 1
    assert seen > 1000


def test_missing_keys() -> None:
    (data,) = synthetic_records(n_questions=1, configs={"baseline": (1.0, 1.0)})
    record = BenchRecord.from_dict(data)
    assert record.think_s is NOT_RECORDED and record.speculative is NOT_RECORDED
    assert "speculative" in OPTIONAL_KEYS and "error" not in OPTIONAL_KEYS
    with pytest.raises(ValueError, match="no 'latency_s'"):
        BenchRecord.from_dict({k: v for k, v in data.items() if k != "latency_s"})
