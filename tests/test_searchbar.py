"""A browser's search bar: the OpenSearch description, its link on every page, and /api/suggest."""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

import lxml.etree
import lxml.html
import pytest

from newsearch.indexer import Indexer
from newsearch.search import Engine, SearchRequest
from newsearch.store import IndexStore
from newsearch.suggest import MAX_SUGGESTIONS, Suggester, typed_key
from newsearch.web import create_app
from newsroom import build_newsroom_index

OS = {"os": "http://a9.com/-/spec/opensearch/1.1/"}


@pytest.fixture(scope="module")
def client(sample_index):
    return create_app({"INDEX_DIR": str(sample_index)}).test_client()


def description(client):
    response = client.get("/opensearch.xml")
    assert response.headers["Content-Type"] == "application/opensearchdescription+xml; charset=utf-8"
    return lxml.etree.fromstring(response.data)


def template(root, kind):
    (url,) = root.xpath(f"os:Url[@type='{kind}']", namespaces=OS)
    return url.get("template")


def test_the_description_names_newsearch_and_absolute_templates(client):
    root = description(client)
    assert root.tag == "{http://a9.com/-/spec/opensearch/1.1/}OpenSearchDescription"
    assert root.findtext("os:ShortName", namespaces=OS) == "newsearch"
    assert root.findtext("os:InputEncoding", namespaces=OS) == "UTF-8"
    assert template(root, "text/html") == "http://localhost/?q={searchTerms}"
    assert template(root, "application/x-suggestions+json") == "http://localhost/api/suggest?q={searchTerms}"
    assert template(root, "application/opensearchdescription+xml") == "http://localhost/opensearch.xml"


@pytest.mark.parametrize("kind", ["text/html", "application/x-suggestions+json", "application/atom+xml"])
def test_every_template_answers_once_filled_in_as_a_browser_does(client, kind):
    url = urlsplit(template(description(client), kind).replace("{searchTerms}", quote("grève SNCF")))
    response = client.get(f"{url.path}?{url.query}")
    assert response.status_code == 200
    assert response.content_type.startswith(kind)


@pytest.mark.parametrize("path", ["/", "/?q=grève", "/?q=grève&since=hier", "/article/lpq-2026-0210", "/nulle-part"])
def test_every_page_links_the_description(client, path):
    page = lxml.html.fromstring(client.get(path).data)
    (link,) = page.xpath('//head/link[@rel="search"]')
    assert link.get("type") == "application/opensearchdescription+xml"
    assert link.get("href") == "/opensearch.xml"
    assert link.get("title") == "newsearch"


def suggest(client, typed):
    response = client.get("/api/suggest", query_string={"q": typed})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/x-suggestions+json; charset=utf-8"
    return json.loads(response.data)


def test_suggestions_are_the_opensearch_array_of_four(client):
    typed, texts, descriptions, urls = suggest(client, "gr")
    assert typed == "gr"
    assert 0 < len(texts) == len(descriptions) == len(urls) <= MAX_SUGGESTIONS
    assert all(typed_key(t).startswith("gr") for t in texts)
    assert all(u.startswith("http://localhost/") for u in urls)


def test_titles_come_first_newest_first_and_lead_to_their_article(client, engine):
    typed, texts, descriptions, urls = suggest(client, "grève")
    titles = [(t, d, u) for t, d, u in zip(texts, descriptions, urls, strict=True) if "/article/" in u]
    assert titles and texts[: len(titles)] == [t for t, _, _ in titles]
    assert [d for _, d, _ in titles] == sorted((d for _, d, _ in titles), reverse=True)
    for title, _, url in titles:
        article = engine.article(url.rsplit("/", 1)[1])
        assert article["title"] == title and typed_key(title).startswith("greve")


def test_the_last_word_is_completed_after_the_words_already_typed(client, engine):
    typed, texts, descriptions, urls = suggest(client, "réforme des retr")
    assert "réforme des retraites" in texts
    i = texts.index("réforme des retraites")
    assert urls[i] == "http://localhost/?q=r%C3%A9forme+des+retraites"
    assert engine.search(SearchRequest(q=texts[i])).total > 0


def test_words_rank_by_how_many_articles_hold_them(client, engine):
    _, texts, descriptions, urls = suggest(client, "é")
    counts = [int(d.split()[0]) for d, u in zip(descriptions, urls, strict=True) if "/article/" not in u]
    assert counts == sorted(counts, reverse=True) and counts[0] > 1
    for text, count in zip(texts[-len(counts) :], counts, strict=True):
        found = engine.search(SearchRequest(q=text, synonyms=False, read_dates=False)).total
        assert found >= 1  # a completion always finds what it promises
        assert count >= 1


@pytest.mark.parametrize("typed", ["", "   ", "zzzqx", "«»"])
def test_nothing_to_complete_gives_empty_lists(client, typed):
    assert suggest(client, typed) == [typed, [], [], []]


def test_accents_and_case_are_ignored_and_the_words_typed_are_kept(client):
    assert suggest(client, "GREVE")[1] == suggest(client, "grève")[1]
    words = [t for t, u in zip(*suggest(client, "la réf")[1::2], strict=True) if "/article/" not in u]
    assert words and all(t.startswith("la ") and typed_key(t[3:]).startswith("ref") for t in words)


def test_an_elided_article_stays_in_front_of_the_completed_word(client):
    texts = suggest(client, "l’éc")[1]
    assert "l’école" in texts


def test_elision_is_ignored_in_titles_too():
    assert typed_key("L’État et l'école") == typed_key("état et école") == "etat et ecole"


def test_new_articles_are_suggested_after_a_commit(tmp_path):
    build_newsroom_index(tmp_path / "articles", tmp_path / "index", count=12)
    suggester = Suggester(Engine(tmp_path / "index"))
    assert [s.text for s in suggester.suggest("zygomatique")] == []
    (tmp_path / "articles" / "new.json").write_text(
        json.dumps(
            {"id": "z1", "title": "Zygomatiques : le rire au travail", "body": "Le rire.", "date": "2026-01-02"}
        ),
        encoding="utf-8",
    )
    Indexer(IndexStore(tmp_path / "index")).run([tmp_path / "articles"])
    assert [s.text for s in suggester.suggest("zygomatique")] == ["Zygomatiques : le rire au travail", "zygomatiques"]
    assert [s.text for s in suggester.suggest("zygomatiques ")] == ["Zygomatiques : le rire au travail"]


def test_in_the_background_the_old_lexicon_answers_until_the_new_one_is_built(tmp_path):
    build_newsroom_index(tmp_path / "articles", tmp_path / "index", count=12)
    suggester = Suggester(Engine(tmp_path / "index"), background=True)
    suggester.builder.join()  # the build started with the app
    assert suggester.suggest("zygomatique") == []
    (tmp_path / "articles" / "new.json").write_text(
        json.dumps({"id": "z1", "title": "Zygomatiques : le rire", "body": "Le rire.", "date": "2026-01-02"}),
        encoding="utf-8",
    )
    Indexer(IndexStore(tmp_path / "index")).run([tmp_path / "articles"])
    stale = suggester.suggest("zygomatique")
    suggester.builder.join()
    assert [s.text for s in suggester.suggest("zygomatique")] == ["Zygomatiques : le rire", "zygomatiques"]
    assert stale == [] or stale == suggester.suggest("zygomatique")  # the build may already be done
