"""The physical limit recomputed at each answer's context length (eval.physical_limit)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from livemind.eval.physical_limit import (
    ContextRates,
    context_limit_s,
    last_key_limit_s,
    over_baseline_ratio,
)

PROBE = {
    "calibration": {"prefill": 50.0, "decode": 10.0},
    "points": [
        {"context": 1000, "prefill": 25.0, "decode": 8.0},
        {"context": 0, "prefill": 50.0, "decode": 10.0},
    ],
}


def test_factors_are_relative_to_the_probe_calibration_and_sorted_by_context() -> None:
    rates = ContextRates.from_probe(PROBE)
    assert rates.contexts == (0, 1000)
    assert rates.factors(0) == (1.0, 1.0)
    assert rates.factors(1000) == (0.5, 0.8)


def test_between_sizes_the_time_per_token_is_interpolated_and_outside_held() -> None:
    rates = ContextRates.from_probe(PROBE)
    prefill, _ = rates.factors(500)
    # time per token halfway between 1/1.0 and 1/0.5 is 1.5: a factor of 2/3
    assert prefill == pytest.approx(2 / 3)
    assert rates.factors(5000) == (0.5, 0.8)
    assert rates.factors(-10) == (1.0, 1.0)


def test_context_limit_slows_both_stages_at_their_context() -> None:
    rates = ContextRates.from_probe(PROBE)
    record = {
        "final_prompt_tokens": 1040,
        "final_evaluated_tokens": 80,  # prefilled around context 1000
        "answer_tokens": 20,  # decoded around context 1050
        "prefill_rate": 40.0,
        "decode_rate": 5.0,
    }
    limit = context_limit_s(record, rates)
    assert limit == pytest.approx(80 / (40 * 0.5) + 20 / (5 * 0.8))
    assert limit > 80 / 40 + 20 / 5  # slower than the short-prompt limit


def test_records_without_the_fields_have_no_limit() -> None:
    rates = ContextRates.from_probe(PROBE)
    assert context_limit_s({"final_prompt_tokens": None}, rates) is None
    assert context_limit_s({}, rates) is None


@pytest.mark.parametrize(
    "points",
    [[], [{"context": 0, "prefill": 0.0, "decode": 1.0}]],
)
def test_a_bad_probe_is_refused(points: list[dict[str, float]]) -> None:
    with pytest.raises(ValueError):
        ContextRates.from_probe({"calibration": {"prefill": 1, "decode": 1}, "points": points})


def test_load_reads_the_probe_file(tmp_path: Path) -> None:
    path = tmp_path / "rates.json"
    path.write_text(json.dumps(PROBE))
    assert ContextRates.load(path).contexts == (0, 1000)


def test_from_the_last_key_the_pause_absorbs_part_of_the_burst() -> None:
    record = {
        "last_key_unseen_tokens": 100,  # options + answer instruction, 2 s at 50 tok/s
        "final_prompt_tokens": 1100,
        "answer_tokens": 10,
        "prefill_rate": 50.0,
        "decode_rate": 10.0,
        "think_s": 1.0,
    }
    assert last_key_limit_s(record) == pytest.approx(2.0 - 1.0 + 1.0)
    # a long pause absorbs it all: only the decode is left
    assert last_key_limit_s({**record, "think_s": 5.0}) == pytest.approx(1.0)
    # at 1,000+ tokens of context the prefill takes 4 s and the decode 1.25 s
    rates = ContextRates.from_probe(PROBE)
    assert last_key_limit_s(record, rates) == pytest.approx(4.0 - 1.0 + 1.25)
    assert (
        last_key_limit_s({k: v for k, v in record.items() if k != "last_key_unseen_tokens"}) is None
    )


def test_over_baseline_divides_out_the_baselines_own_ratio_per_question() -> None:
    def limit(r: dict) -> float | None:
        return r.get("lim")

    baseline = [
        {"qid": "a", "latency_s": 30.0, "lim": 20.0},  # the machine ran 1.5x slow here
        {"qid": "b", "latency_s": 10.0, "lim": 10.0},
        {"qid": "c", "latency_s": None, "lim": 10.0},  # no latency: no pair
    ]
    rows = [
        {"qid": "a", "latency_s": 3.0, "lim": 1.0},
        {"qid": "b", "latency_s": 2.0, "lim": 1.0},
        {"qid": "c", "latency_s": 2.0, "lim": 1.0},
        {"qid": "d", "latency_s": 2.0, "lim": 1.0},  # no baseline
        {"qid": "b", "latency_s": 2.0, "lim": None},  # no limit
    ]
    assert over_baseline_ratio(rows, baseline, limit, limit) == [2.0, 2.0]
