"""Seeded synthetic run records (the runner's schema, :class:`~livemind.eval.records.BenchRecord`,
as its first version wrote it), for tests and demos."""

from __future__ import annotations

import random
from typing import Any

from livemind.eval.records import NOT_RECORDED, BenchRecord


def synthetic_records(
    configs: dict[str, tuple[float, float]] | None = None,
    *,
    n_questions: int = 20,
    seed: int = 0,
    error_rate: float = 0.0,
) -> list[dict[str, Any]]:
    """Seeded fake runner records (full schema) for tests and demos. ``configs`` maps a name
    to (latency factor vs the baseline, probability of a correct answer)."""
    configs = configs or {
        "baseline": (1.0, 0.6),
        "baseline-prewarm": (0.8, 0.6),
        "output-only": (0.5, 0.55),
        "livemind/ua-spi/sentence/10/v2": (0.35, 0.6),
        "livemind/ua-spi/sentence/10/v2@qwen2.5-coder-0.5b": (0.2, 0.5),
    }
    rng = random.Random(seed)
    out = []
    for i in range(n_questions):
        sentences = rng.choice([1, 2, 3, 4, 5, 6, 8])
        base = rng.uniform(1.0, 3.0) * (1 + 0.4 * sentences)
        for name, (factor, p) in configs.items():
            live, output = name.startswith("livemind"), name.partition("@")[2]
            lat = base * factor * rng.uniform(0.8, 1.25)
            evaluated = rng.randint(5, 40) if live else 40 * sentences
            error = "timeout" if rng.random() < error_rate else None
            correct = error is None and rng.random() < p
            record = BenchRecord(
                config=name,
                dataset="synthetic",
                qid=f"q{i}",
                subject=rng.choice(["math", "physics"]),
                prompt_chars=60 * sentences,
                prompt_sentences=sentences,
                gold="A",
                extracted=None if error else ("A" if correct else "B"),
                correct=correct,
                answer="" if error else "The answer is A." if correct else "B.",
                actions=[{"segments": ["s"], "action": "infer", "content": "note"}] if live else [],
                latency_s=lat,
                ttft_s=lat * 0.3,
                overhead_s=rng.uniform(0, 0.3) if live else 0.0,
                busy_s=lat + (sentences * base * 0.5 if live else 0.0),
                inference_calls=sentences + 1 if live else 1,
                final_prompt_tokens=40 * sentences + 50,
                final_cached_tokens=40 * sentences + 50 - evaluated,
                final_evaluated_tokens=evaluated,
                answer_tokens=30,
                prefill_rate=400.0,
                decode_rate=40.0,
                limit_s=evaluated / 400.0 + 30 / 40.0,
                edited=rng.random() < 0.1,
                error=error,
                model="qwen2.5-1.5b",
                output_model=output or "qwen2.5-1.5b",
                # the schema before cache accounting and speculation were recorded
                final_unseen_tokens=NOT_RECORDED,
                speculative=NOT_RECORDED,
            )
            out.append(record.to_dict())
    return out
