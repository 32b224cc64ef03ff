"""In headless Chromium: the export links download, and the feed and search-bar links are found as a browser finds them."""

from __future__ import annotations

import csv
import io
import re

import feedparser
import pytest

from newsearch.export import Export
from newsearch.search import SearchRequest
from test_browser import browser, site, tab  # noqa: F401  (the browser tests' own fixtures)

pytestmark = pytest.mark.browser


def test_the_csv_link_downloads_the_whole_result_set(tab, site, engine):  # noqa: F811
    page = tab.page
    page.goto(f"{site}/?q=santé")
    with page.expect_download() as info:
        page.get_by_role("link", name="CSV").click()
    download = info.value
    assert download.suggested_filename == "newsearch.csv"
    rows = list(csv.DictReader(io.StringIO(open(download.path(), encoding="utf-8").read(), newline="")))
    assert [r["id"] for r in rows] == [h["id"] for h in Export(engine, SearchRequest(q="santé")).hits()]
    tab.assert_clean()


def test_a_feed_reader_finds_the_feed_the_page_announces(tab, site, engine):  # noqa: F811
    page = tab.page
    page.goto(f"{site}/?q=grève&sort=date")
    href = page.evaluate("document.querySelector('link[rel=alternate][type=\"application/atom+xml\"]').href")
    assert href == page.get_by_role("link", name=re.compile("flux Atom")).evaluate("a => a.href")
    feed = feedparser.parse(page.evaluate("url => fetch(url).then(r => r.text())", href))
    assert not feed.bozo
    expected = engine.search(SearchRequest(q="grève", sort="date", limit=50)).hits
    assert [e.link for e in feed.entries] == [f"{site}/article/{h['id']}" for h in expected]
    tab.assert_clean()


def test_the_search_bar_description_and_its_suggestions_work_from_the_page(tab, site):  # noqa: F811
    page = tab.page
    page.goto(f"{site}/article/lpq-2026-0210")
    suggestions = page.evaluate(
        """async () => {
            const link = document.querySelector('link[rel=search][type="application/opensearchdescription+xml"]');
            const xml = new DOMParser().parseFromString(await (await fetch(link.href)).text(), "application/xml");
            const url = [...xml.getElementsByTagName("Url")].find(u => u.getAttribute("type") === "application/x-suggestions+json");
            const response = await fetch(url.getAttribute("template").replace("{searchTerms}", encodeURIComponent("grè")));
            return [response.headers.get("content-type"), await response.json()];
        }"""
    )
    content_type, (typed, texts, descriptions, urls) = suggestions
    assert content_type == "application/x-suggestions+json; charset=utf-8"
    assert typed == "grè" and "grève" in texts and len(texts) == len(descriptions) == len(urls)
    tab.assert_clean()
