"""The known-item benchmark's subset of the corpus (bench/known_item.py --subset)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench" / "known_item.py"


def _known_item():
    spec = importlib.util.spec_from_file_location("known_item", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_subset_is_the_first_articles_plus_the_answers_in_corpus_order():
    known_item = _known_item()
    corpus = {f"a{n}": {"id": f"a{n}", "body": str(n)} for n in range(10)}
    subset = known_item.subset_of(corpus, ["a7", "a1", "a9"], first=3)
    assert list(subset) == ["a0", "a1", "a2", "a7", "a9"]
    assert subset["a7"] is corpus["a7"]
    assert list(known_item.subset_of(corpus, [], first=20)) == list(corpus)
