"""Real data from ../shared: the seed article, the 800 HTML pages and the full OrangeSum corpus."""

from __future__ import annotations

import gzip
import json

import pytest

from newsearch.errors import ParseError
from newsearch.indexer import Indexer
from newsearch.parse import parse_file
from newsearch.search import Engine, SearchRequest
from newsearch.store import IndexStore

pytestmark = pytest.mark.shared


def _normal(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").split())


def test_seed_article_parses_exactly(shared_dir):
    parsed = parse_file(shared_dir / "seed" / "000_b5ea961965dfe768.txt")
    assert len(parsed.articles) == 1 and not parsed.errors
    article = parsed.articles[0]
    assert article.title == (
        "Soldats nord-coréens sur le front en Ukraine : Poutine qualifie leur engagement "
        "d’« héroïque », implications géopolitiques"
    )
    assert article.date == ""  # the only dates in the file belong to the related-articles block
    paragraphs = article.body.split("\n\n")
    assert paragraphs[0] == "Une présence nord-coréenne confirmée sur le théâtre ukrainien"
    assert paragraphs[-1].startswith("Pour la Corée du Nord, cette intervention")
    assert len(paragraphs) == 12
    for furniture in ("Accéder au contenu principal", "Pin It", "image.jpg", "VOUS POUVEZ AUSSI AIMER", "\u00a0"):
        assert furniture not in article.body
    for other_article in ("L’OTAN face au vide américain", "11 janvier 2026", "OTAN-Lite", "28 décembre 2025"):
        assert other_article not in article.body
    assert article.title not in article.body


@pytest.fixture(scope="module")
def html_reference(shared_dir):
    pages = sorted((shared_dir / "corpus" / "orangesum-html").glob("*.html"))
    wanted = {p.stem for p in pages}
    with gzip.open(shared_dir / "corpus" / "orangesum.jsonl.gz", "rt", encoding="utf-8") as fh:
        reference = {r["id"]: r for r in map(json.loads, fh) if r["id"] in wanted}
    return [(page, reference[page.stem]) for page in pages]


def test_html_pages_give_title_and_date_and_no_navigation(html_reference):
    assert len(html_reference) == 800
    titles = dates = 0
    for page, ref in html_reference:
        article = parse_file(page).articles[0]
        expected_title = ref["title"].replace(" : actualité automobile, infos, scoop", "")
        titles += _normal(article.title) == _normal(expected_title)
        dates += article.date[:10] == ref["date"][:10]
        lowered, original = article.body.lower(), (ref["body"] + ref["summary"]).lower()
        for navigation in ("se connecter", "mon compte", "accueil actualités", "politique de cookies", "publicité"):
            assert navigation not in lowered or navigation in original, (page.name, navigation)
        assert "<" not in article.body or "<" in ref["body"], page.name
    assert titles / len(html_reference) >= 0.98
    assert dates / len(html_reference) >= 0.98


def test_html_bodies_are_mostly_the_reference_text(html_reference):
    precision = []
    for page, ref in html_reference[::8]:
        words = set(parse_file(page).articles[0].body.lower().split())
        reference = set((ref["body"] + " " + ref["summary"]).lower().split())
        precision.append(len(words & reference) / len(words))
    assert sum(precision) / len(precision) >= 0.95


def test_full_corpus_parses_without_a_crash(shared_dir):
    parsed = parse_file(shared_dir / "corpus" / "orangesum.jsonl.gz")
    assert len(parsed.articles) == 33954
    assert parsed.errors == []
    assert len({a.id for a in parsed.articles}) == 33954


@pytest.mark.slow
def test_full_corpus_indexes_and_answers(shared_dir, tmp_path):
    store = IndexStore(tmp_path / "index")
    report = Indexer(store).run([shared_dir / "corpus" / "orangesum.jsonl.gz"])
    assert (report.added, report.skipped, report.documents) == (33954, [], 33954)
    engine = Engine(tmp_path / "index")
    results = engine.search(SearchRequest(q="gilets jaunes", tags=["Politique"]))
    assert results.total > 0
    assert all("politique" in [t.lower() for t in hit["tags"]] for hit in results.hits)
    # Totals count every match: Whoosh's default collector prunes union branches once its top hits are out
    # of their reach (on this corpus 'macron' counted 2,001 of 5,034 matches before the fix).
    from newsearch.query import parse_query

    searcher, cache = engine.refresh()
    for q in ("macron", "france", "gilets jaunes"):
        expected = set(searcher.docs_for_query(parse_query(q, searcher.schema))) & cache.articles
        assert engine.search(SearchRequest(q=q, collapse=False, synonyms=False)).total == len(expected), q
    # "santé" and "Sante" are one facet value, shown in their most frequent spelling.
    labels = {f["value"]: f["label"] for f in engine.search(SearchRequest(q="hôpital")).facets["tags"]}
    assert labels["sante"] == "santé"


def test_unreadable_shared_file_is_a_parse_error(shared_dir, tmp_path):
    broken = tmp_path / "cut.jsonl.gz"
    broken.write_bytes((shared_dir / "corpus" / "orangesum.jsonl.gz").read_bytes()[:5000])
    with pytest.raises(ParseError, match="cannot read"):
        parse_file(broken)
