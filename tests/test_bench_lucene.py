"""bench/bench_lucene.py's helpers: the known-item subset, and the file format LuceneBench.java reads."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        yield importlib.import_module("bench_lucene")
    finally:
        sys.path.remove(str(ROOT / "bench"))


def records(n):
    return [{"id": f"a{i}", "title": f"t{i}", "summary": f"s{i}", "tags": []} for i in range(n)]


def test_the_subset_is_the_first_articles_plus_later_answers_without_summaries(bench):
    corpus = records(6)
    subset = bench.build_subset(corpus, {"a1", "a4"}, first=3)
    assert [r["id"] for r in subset] == ["a0", "a1", "a2", "a4"]
    assert all("summary" not in r for r in subset)
    assert corpus[4]["summary"] == "s4"  # the corpus itself is left alone


@pytest.mark.parametrize("text", ["", "plain", "a\tb", "two\nlines\r\n", "back\\slash", "literal \\n and \\t", "\\"])
def test_escaped_fields_hold_no_separator_and_read_back(bench, text):
    escaped = bench.escape(text)
    assert "\t" not in escaped and "\n" not in escaped and "\r" not in escaped
    assert bench.unescape(escaped) == text


def test_an_article_line_has_five_columns_in_order(bench):
    line = bench.article_line({"id": "x", "title": "Le\ttitre", "body": "a\nb", "tags": ["Sport", "foot"]})
    assert line.endswith("\n") and line.count("\n") == 1
    assert line[:-1].split("\t") == ["x", "Le\\ttitre", "a\\nb", "Sport\x1ffoot", ""]


def test_ranking_scores_the_answer_within_the_top_ten(bench):
    ranked = [["x", "a"], ["b"], [str(i) for i in range(10)] + ["c"]]
    scores = bench.ranking(ranked, ["a", "b", "c"])
    assert scores == {"MRR@10": pytest.approx((1 / 2 + 1) / 3), "R@10": pytest.approx(2 / 3)}


@pytest.mark.slow
def test_lucene_reads_what_the_driver_writes(bench, tmp_path):
    if not shutil.which("java") or not list(bench.JAVA_DIR.glob("lucene-core-8*.jar")):
        pytest.skip("no Java or no liblucene8-java (make lucene)")
    cp = bench.compile_java()
    docs = [
        {"id": "d1", "title": "Réforme", "body": "Les assurances\tdes salariés\nsur deux lignes", "tags": ["a"]},
        {
            "id": "d2",
            "title": "Sport",
            "body": "Un match de football \\ rien d'autre",
            "tags": [],
            "date": "2020-01-02",
        },
    ]
    articles = tmp_path / "articles.tsv"
    articles.write_text("".join(bench.article_line(d) for d in docs), encoding="utf-8")

    def run(*args):
        argv = ["java", "-cp", cp, "LuceneBench", *map(str, args)]
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout

    assert json.loads(run("index", articles, tmp_path / "ix"))["documents"] == 2
    queries = tmp_path / "queries.txt"
    # Elision and the light stemmer: "l'assurance" finds "assurances"; stop words alone find nothing.
    queries.write_text("l'assurance\nfootball\nde la\n", encoding="utf-8")
    _, *lines = [json.loads(line) for line in run("query", tmp_path / "ix", queries, 1).splitlines()]
    assert [line["ids"] for line in lines] == [["d1"], ["d2"], []]
