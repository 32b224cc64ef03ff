"""The Atom feed of a search, read back by feedparser as a feed reader would, against RFC 4287's rules."""

from __future__ import annotations

import feedparser
import lxml.html
import pytest

from newsearch.feed import FEED_SIZE, rfc3339, urn, xml_text
from newsearch.search import Engine, SearchRequest
from newsearch.web import create_app
from newsroom import CONTROL_TITLE


@pytest.fixture(scope="module")
def client(newsroom_index):
    return create_app({"INDEX_DIR": str(newsroom_index)}).test_client()


def read_feed(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    return feedparser.parse(response.data)


def test_a_search_feed_is_well_formed_atom_with_the_required_elements(client):
    feed = read_feed(client, "/feed.atom?q=grève")
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.id.startswith("urn:uuid:")
    assert feed.feed.title == "newsearch — grève"
    assert feed.feed.updated_parsed is not None
    assert feed.feed.author == "newsearch"  # RFC 4287: a feed author unless every entry has one
    links = {link.rel: link.href for link in feed.feed.links}
    assert links["self"] == "http://localhost/feed.atom?q=gr%C3%A8ve"
    assert links["alternate"] == "http://localhost/?q=gr%C3%A8ve&sort=date"
    assert feed.entries
    for entry in feed.entries:
        assert entry.id.startswith("urn:uuid:")
        assert entry.title
        assert entry.updated_parsed is not None
        assert entry.link.startswith("http://localhost/article/eco-")


def test_entries_are_the_newest_matches_first_with_the_pages_filters(client, newsroom_index):
    feed = read_feed(client, "/feed.atom?q=épisode&tag=Transports&since=2025-01-10&sort=relevance")
    expected = Engine(newsroom_index).search(
        SearchRequest(q="épisode", tags=["Transports"], since="2025-01-10", sort="date", limit=FEED_SIZE)
    )
    assert [e.link for e in feed.entries] == [f"http://localhost/article/{h['id']}" for h in expected.hits]
    assert len(feed.entries) == FEED_SIZE < expected.total
    stamps = [e.updated_parsed for e in feed.entries]
    assert stamps == sorted(stamps, reverse=True)
    assert feed.feed.updated_parsed == stamps[0]
    first = feed.entries[0]
    assert {t.term for t in first.tags} == {"transport", "greve"}  # keys blind to plurals
    assert [link.href for link in first.links if link.rel == "related"] == [expected.hits[0]["url"]]


def test_ids_are_stable_across_requests_and_differ_between_searches(client):
    one, again = read_feed(client, "/feed.atom?q=retraites"), read_feed(client, "/feed.atom?q=retraites&page=3")
    assert one.feed.id == again.feed.id
    assert [e.id for e in one.entries] == [e.id for e in again.entries]
    other = read_feed(client, "/feed.atom?q=retraites&tag=politique")
    assert other.feed.id != one.feed.id
    assert set(e.id for e in other.entries) == set(e.id for e in one.entries)  # same articles, same ids
    assert one.entries[0].id == urn("article", one.entries[0].link.rsplit("/", 1)[1])


def test_text_xml_cannot_carry_is_dropped_not_left_to_break_the_feed(client):
    feed = read_feed(client, "/feed.atom?q=contrôleurs")
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.entries[0].title == xml_text(CONTROL_TITLE) == "Grève des contrôleurs aériens"


def test_an_empty_search_feed_is_still_valid_and_dated(client):
    feed = read_feed(client, "/feed.atom?q=zanzibar")
    assert not feed.bozo and feed.entries == []
    assert feed.feed.updated_parsed is not None


def test_a_bad_filter_is_a_400_page_not_a_feed(client):
    assert client.get("/feed.atom?q=grève&since=hier").status_code == 400


def test_dates_without_offset_are_written_in_utc():
    from datetime import datetime, timezone

    fallback = datetime(2020, 1, 1, tzinfo=timezone.utc)
    assert rfc3339("2024-03-06", fallback) == "2024-03-06T00:00:00+00:00"
    assert rfc3339("2024-03-06T10:00:00+01:00", fallback) == "2024-03-06T10:00:00+01:00"
    assert rfc3339("", fallback) == "2020-01-01T00:00:00+00:00"


def test_the_results_page_links_its_feed_in_the_head_and_visibly(client):
    page = lxml.html.fromstring(client.get("/?q=grève&tag=transports&sort=date").data)
    (alternate,) = page.xpath('//head/link[@rel="alternate"][@type="application/atom+xml"]')
    assert alternate.get("href") == "/feed.atom?q=gr%C3%A8ve&tag=transport"  # the tag as its key
    (visible,) = page.xpath('//a[@class="feed-link"]')
    assert visible.get("href") == alternate.get("href")
    assert "flux Atom" in visible.text_content()
