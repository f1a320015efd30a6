"""Sentence counts remembered on disk (the length filter of `livemind bench`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from livemind.eval import sentence_cache
from livemind.eval.questions import sentence_count
from livemind.eval.sentence_cache import SentenceCounts, counts_path

TEXTS = ["Tom has three apples. He buys four more. How many now?", "Just one?", "no stop at all"]


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEMIND_CACHE_DIR", str(tmp_path / "models"))


def test_counts_equal_the_segmenters_and_are_read_back_without_segmenting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = [sentence_count(t) for t in TEXTS]
    first = SentenceCounts.open()
    assert [first.count(t) for t in TEXTS] == expected
    first.save()
    assert counts_path().is_file()

    def never(text: str) -> int:
        raise AssertionError(f"segmented again: {text!r}")

    monkeypatch.setattr(sentence_cache, "sentence_count", never)
    again = SentenceCounts.open()
    assert [again.count(t) for t in TEXTS] == expected


def test_an_unreadable_cache_is_ignored_and_replaced() -> None:
    path = counts_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    counts = SentenceCounts.open()
    assert counts.count(TEXTS[0]) == sentence_count(TEXTS[0])
    counts.save()
    assert SentenceCounts.open().count(TEXTS[0]) == sentence_count(TEXTS[0])


def test_the_file_names_the_segmenter_it_counted_with() -> None:
    name = counts_path().name
    assert name.startswith("sentence-counts-") and "pysbd" in name
