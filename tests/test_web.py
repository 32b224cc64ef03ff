"""The web UI and JSON API, through Flask's test client, checked against what the Engine itself answers."""

from __future__ import annotations

import json
import re
import threading
from urllib.parse import parse_qs, quote, urlsplit

import lxml.html
import pytest
from markupsafe import Markup

from newsearch.admission import Gate
from newsearch.dates import french_date
from newsearch.errors import MESSAGES, IndexDamagedError
from newsearch.indexer import Indexer
from newsearch.parse import tag_key
from newsearch.search import Engine, SearchRequest
from newsearch.sections import section_label
from newsearch.store import IndexStore
from newsearch.web import MAX_QUERY_STRING, create_app, highlight, paragraphs, period_label, safe_url

# Articles written to attack the page. JSON text fields are read as HTML, so their markup is written as
# entities (stored as literal "<script>"); tags, section, author, URL and plain-text files are stored as given.
XSS_ARTICLES = [
    {
        "id": "piege-titre",
        "url": "javascript:window.__xss = 1",
        "title": "&lt;script&gt;window.__xss = 1&lt;/script&gt;Titre piégé &lt;img src=x onerror=window.__xss=1&gt;",
        "summary": "&lt;b&gt;Chapô&lt;/b&gt; piégé &lt;svg onload=window.__xss=1&gt;&lt;/svg&gt;",
        "body": (
            "Premier paragraphe sur la santé &lt;script&gt;alert(1)&lt;/script&gt; "
            "et **&lt;img src=x onerror=alert(1)&gt;**.\n\n"
            '&lt;a href="javascript:window.__xss = 1"&gt;lien piégé&lt;/a&gt; santé '
            "&lt;iframe src=javascript:alert(1)&gt;&lt;/iframe&gt;"
        ),
        "date": "2024-03-05T10:00:00+01:00",
        "tags": ['<img src=x onerror="window.__xss = 1">', '"><svg onload=alert(1)>', "santé"],
        "section": '<i onmouseover="window.__xss = 1">rubrique</i>',
        "author": "<script>window.__xss = 1</script>",
    },
    {
        "id": "piege-url-data",
        "url": "data:text/html,<script>alert(1)</script>",
        "title": "Santé : une adresse data: ne devient jamais un lien",
        "body": "La santé publique en question. ' onmouseover='window.__xss = 1' \" onfocus=\"window.__xss = 1\"",
        "date": "2024-03-06",
        "tags": ["santé"],
    },
    {
        "id": "piege-url-casse",
        "url": "  JaVaScRiPt:window.__xss = 1",
        "title": "Santé : une adresse javascript: en casse mêlée",
        "body": "Encore la santé, et &lt;/textarea&gt;&lt;/title&gt;&lt;script&gt;window.__xss = 1&lt;/script&gt; du texte.",
        "date": "2024-03-07",
        "tags": ["santé"],
    },
    {
        "id": 'x"><script>window.__xss = 1</script>',
        "url": "https://exemple.example/sante/article-sain",
        "title": "Santé : article sain à l’identifiant piégé",
        "body": "Un article ordinaire sur la santé, avec un vrai lien vers sa source.",
        "date": "2024-03-08",
        "tags": ["santé", "Hôpital"],
    },
]
XSS_TEXT = """<script>window.__xss = 1</script>Santé : une dépêche <img src=x onerror="window.__xss = 1"> en texte brut
Publié le 9 mars 2024
Mots-clés : Santé, <b>Gras</b>, <script>window.__xss = 1</script>

La santé en texte brut peut contenir <script>window.__xss = 1</script> et <a href="javascript:window.__xss = 1">un lien</a>.

<img src=x onerror="window.__xss = 1"> Deuxième paragraphe, **<svg onload=alert(1)>** et santé.
"""


def build_planted_index(folder, index_dir):
    """Index the planted articles (JSON and plain text) from folder into index_dir."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pieges.json").write_text(json.dumps(XSS_ARTICLES, ensure_ascii=False), encoding="utf-8")
    (folder / "depeche-piegee.txt").write_text(XSS_TEXT, encoding="utf-8")
    report = Indexer(IndexStore(index_dir)).run([folder])
    assert not report.skipped, report.skipped
    return index_dir


def planted_articles(index_dir) -> list[dict]:
    """Return the planted articles as the index stores them."""
    engine = Engine(index_dir)
    articles = [engine.article(hit["id"]) for hit in engine.search(SearchRequest(limit=100)).hits]
    # The plants must survive indexing, or these tests would prove nothing.
    assert sum("<script>" in a["title"] for a in articles) == 2
    assert any("<img" in a["body"] for a in articles)
    return articles


HOSTILE_QUERIES = [
    "*a*",
    "*",
    "[a TO zzzz]",
    "{a TO b}",
    "(" * 1000 + "santé" + ")" * 1000,
    "a" * 20_000,
    "title:",
    "titre:",
    '"',
    "«",
    "NOT x",
    "-santé",
    "santé NOT",
    "AND santé",
    "x\x00y",
    "<script>alert(1)</script>",
    "tag:",
    "santé^99",
    "\\",
    "%",
]


def html(response):
    """Parse a response body as an HTML document."""
    return lxml.html.fromstring(response.get_data(as_text=True))


def by_class(doc, name, tag="*"):
    """Return the elements of doc that carry a CSS class."""
    return doc.xpath(f".//{tag}[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]")


def text(element) -> str:
    """Return an element's text with whitespace collapsed."""
    return " ".join(element.text_content().split())


def query_of(url: str) -> dict[str, list[str]]:
    """Return the query arguments of a URL."""
    return parse_qs(urlsplit(url).query)


def hit_links(doc) -> list[str]:
    """Return the article links of a results page, in rank order."""
    return [a.get("href") for a in doc.xpath("//ol[@class='hits']//h2/a")]


def article_links(results) -> list[str]:
    """Return the article links the page should show for Engine results."""
    return [f"/article/{hit['id']}" for hit in results.hits]


@pytest.fixture(scope="module")
def app(sample_index):
    return create_app({"INDEX_DIR": sample_index, "TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()


# --- search page ---------------------------------------------------------------------------------


def test_empty_query_lists_the_newest_articles(client, engine):
    expected = engine.search(SearchRequest())
    doc = html(client.get("/"))
    assert text(doc.xpath("//h1")[0]) == "Derniers articles"
    assert hit_links(doc) == article_links(expected)
    assert f"sur {expected.total}," in text(by_class(doc, "results-range")[0])


def test_search_shows_total_and_ranked_hits_and_keeps_the_query_in_the_box(client, engine):
    expected = engine.search(SearchRequest(q="santé"))
    doc = html(client.get("/?q=santé"))
    assert doc.get_element_by_id("q").get("value") == "santé"
    assert text(doc.xpath("//h1")[0]) == f"{expected.total} résultats pour « santé »"
    assert hit_links(doc) == article_links(expected)
    assert doc.xpath("//ol[@class='hits']/@start") == ["1"]


def test_a_hit_shows_its_french_date_source_section_and_tags(client, engine):
    results = engine.search(SearchRequest(q="COP26 Glasgow"))
    hit = results.hits[0]
    labels = {f["value"]: f["label"] for f in results.facets["tags"]}
    first = by_class(html(client.get("/?q=COP26 Glasgow")), "hit")[0]
    time = first.xpath(".//time")[0]
    assert text(time) == french_date(hit["date"]) == "13 novembre 2021"
    assert time.get("datetime") == "2021-11-13"
    assert text(by_class(first, "source")[0]) == "le-globe.example"
    assert text(by_class(first, "section")[0]) == section_label(hit["section"])
    assert (
        [text(a) for a in by_class(first, "tag")]
        == [labels[tag_key(t)] for t in hit["tags"]]
        == ["Climat", "International"]
    )


def test_hit_tags_use_the_facet_spelling_and_narrow_the_search(client, engine):
    results = engine.search(SearchRequest(q="santé"))
    labels = {f["value"]: f["label"] for f in results.facets["tags"]}
    shouty = next(h for h in results.hits if "SANTÉ" in h["tags"])
    doc = html(client.get("/?q=santé"))
    hit = by_class(doc, "hit")[[h["id"] for h in results.hits].index(shouty["id"])]
    tag = by_class(hit, "tag")[0]
    assert text(tag) == labels["sante"] == "Santé"
    assert query_of(tag.get("href")) == {"q": ["santé"], "tag": ["sante"]}


def test_snippets_mark_the_query_terms(client, engine):
    expected = engine.search(SearchRequest(q="santé"))
    doc = html(client.get("/?q=santé"))
    for hit, snippet in zip(expected.hits, by_class(doc, "snippet"), strict=True):
        marks = [text(m) for m in snippet.xpath(".//mark")]
        assert marks == hit["snippet"].split("**")[1::2]
        assert "**" not in text(snippet)
    assert {m.lower() for m in doc.xpath("//mark/text()")} == {"santé"}


def test_sort_by_date_orders_as_the_engine_does(client, engine):
    expected = engine.search(SearchRequest(q="climat", sort="date"))
    doc = html(client.get("/?q=climat&sort=date"))
    assert hit_links(doc) == article_links(expected)
    assert doc.xpath("//select[@id='sort']/option[@selected]/@value") == ["date"]
    assert doc.xpath("//select[@id='sort']/@form") == ["search-form"]


def test_pagination_shows_the_second_page_and_links_around_it(client, engine):
    expected = engine.search(SearchRequest(page=2))
    doc = html(client.get("/?page=2"))
    assert hit_links(doc) == article_links(expected)
    assert doc.xpath("//ol[@class='hits']/@start") == ["11"]
    assert doc.xpath("//a[@aria-current='page']/text()")[-1].strip() == "2"
    assert doc.xpath("//a[@rel='prev']/@href") == ["/"]
    assert doc.xpath("//a[@rel='next']/@href") == ["/?page=3"]
    numbers = [text(a).removeprefix("Page ") for a in by_class(doc, "page-number")]
    assert numbers == [str(n) for n in range(1, expected.pages + 1)]


def test_page_links_keep_every_filter(client, engine):
    # Grouped, the eleven matches are ten stories (one page); every copy listed, they fill two.
    assert engine.search(SearchRequest(q="plus", tags=["economie"], since="2021", until="2025")).pages == 1
    assert (
        engine.search(SearchRequest(q="plus", tags=["economie"], since="2021", until="2025", collapse=False)).pages == 2
    )
    doc = html(client.get("/?q=plus&tag=Économie&since=2021&until=2025&sort=date&collapse=0"))
    links = doc.xpath("//nav[@class='pagination']//a/@href")
    assert len(links) == 3  # page 1, page 2, next
    for href in links:
        args = query_of(href)
        assert [args[name] for name in ("q", "tag", "since", "until", "sort", "collapse")] == [
            ["plus"],
            ["economie"],
            ["2021"],
            ["2025"],
            ["date"],
            ["0"],
        ]


def test_a_query_beyond_the_last_page_shows_no_hits_but_the_pagination(client, engine):
    doc = html(client.get("/?page=40"))
    assert hit_links(doc) == []
    assert doc.xpath("//a[@rel='prev']/@href") == ["/?page=39"]


def test_a_misspelled_query_offers_the_engines_suggestion(client, engine):
    expected = engine.search(SearchRequest(q="inflasion"))
    assert expected.total == 0 and expected.suggestion
    doc = html(client.get("/?q=inflasion"))
    link = by_class(doc, "suggestion")[0].xpath(".//a")[0]
    assert text(by_class(doc, "suggestion")[0]) == f"Vouliez-vous dire : {expected.suggestion} ?"
    assert query_of(link.get("href")) == {"q": [expected.suggestion]}
    assert text(by_class(doc, "empty")[0]).startswith("Aucun article ne correspond")


def test_a_query_with_hits_offers_no_suggestion(client):
    assert by_class(html(client.get("/?q=santé")), "suggestion") == []


# --- facets ------------------------------------------------------------------------------------


def tag_facets(doc) -> dict[str, dict]:
    """Return the tag facets of a page by label: {count, url, selected}."""
    section = doc.xpath("//section[@aria-labelledby='facet-tags-title']")[0]
    out = {}
    for link in by_class(section, "facet-link"):
        out[text(by_class(link, "facet-label")[0])] = {
            "count": int(text(by_class(link, "count")[0])),
            "url": link.get("href"),
            "selected": link.get("aria-current") == "true",
        }
    return out


def test_tag_facets_count_every_match_not_only_the_page(client, engine):
    expected = engine.search(SearchRequest())
    facets = tag_facets(html(client.get("/")))
    assert {label: f["count"] for label, f in facets.items()} == {
        f["label"]: f["count"] for f in expected.facets["tags"]
    }
    assert sum(f["count"] for f in facets.values()) > len(expected.hits)


def test_clicking_a_tag_facet_filters_and_shows_a_removable_chip(client, engine):
    facet = tag_facets(html(client.get("/?q=santé")))["Hôpital"]
    assert query_of(facet["url"]) == {"q": ["santé"], "tag": ["hopital"]}
    doc = html(client.get(facet["url"]))
    assert hit_links(doc) == article_links(engine.search(SearchRequest(q="santé", tags=["hopital"])))
    assert text(doc.xpath("//h1")[0]).startswith(f"{facet['count']} résultats")
    assert tag_facets(doc)["Hôpital"]["selected"]
    chip = by_class(doc, "chip")[0]
    assert text(chip).startswith("Tag Hôpital")
    assert query_of(chip.get("href")) == {"q": ["santé"]}
    # The search form carries the tag along, so a new query stays filtered.
    assert doc.xpath("//form[@id='search-form']//input[@name='tag']/@value") == ["hopital"]


def test_tags_are_multi_select_and_all_must_match(client, engine):
    first = tag_facets(html(client.get("/")))["Climat"]["url"]
    second = tag_facets(html(client.get(first)))["International"]
    assert query_of(second["url"]) == {"tag": ["climat", "international"]}
    doc = html(client.get(second["url"]))
    expected = engine.search(SearchRequest(tags=["climat", "international"]))
    assert hit_links(doc) == article_links(expected)
    assert expected.total == second["count"]
    assert [text(c) for c in by_class(doc, "chip")] == [
        "Tag Climat × (retirer ce filtre)",
        "Tag International × (retirer ce filtre)",
    ]
    selected = {label: f for label, f in tag_facets(doc).items() if f["selected"]}
    assert query_of(selected["Climat"]["url"]) == {"tag": ["international"]}
    assert doc.xpath("//a[@class='chip-clear']/@href") == ["/"]


def test_a_tag_in_any_spelling_selects_the_same_facet(client, engine):
    pages = [html(client.get(f"/?tag={spelling}")) for spelling in ("SANTÉ", "Sante", "santé")]
    assert len({tuple(hit_links(doc)) for doc in pages}) == 1
    assert hit_links(pages[0]) == article_links(engine.search(SearchRequest(tags=["sante"])))
    assert all(tag_facets(doc)["Santé"]["selected"] for doc in pages)


def test_facet_links_keep_the_other_filters(client):
    doc = html(client.get("/?q=plus&tag=economie&since=2021&until=2025&sort=date&page=2"))
    tag_links = doc.xpath("//section[@aria-labelledby='facet-tags-title']//a/@href")
    bar_links = doc.xpath("//ol[contains(@class, 'histogram')]//a/@href")
    assert len(tag_links) > 3 and len(bar_links) > 1
    for href in tag_links:
        args = query_of(href)
        assert (args["q"], args["since"], args["until"], args["sort"]) == (["plus"], ["2021"], ["2025"], ["date"])
    for href in bar_links:
        args = query_of(href)
        assert (args["q"], args["tag"], args["sort"]) == (["plus"], ["economie"], ["date"])
        assert args["since"] == args["until"]
    # A changed filter starts again from the first page.
    assert not any("page" in query_of(href) for href in tag_links + bar_links)


def test_section_facet_filters_on_one_section(client, engine):
    expected = engine.search(SearchRequest())
    section = expected.facets["section"][0]
    doc = html(client.get("/"))
    links = doc.xpath("//section[@aria-labelledby='facet-sections-title']//a")
    assert [text(by_class(a, "facet-label")[0]) for a in links] == [f["label"] for f in expected.facets["section"]]
    filtered = html(client.get(links[0].get("href")))
    assert hit_links(filtered) == article_links(engine.search(SearchRequest(section=section["value"])))
    assert text(by_class(filtered, "chip")[0]).startswith(f"Rubrique {section['label']}")


def histogram(doc) -> list[dict]:
    """Return the histogram bars of a page: {label, count, url, selected}."""
    bars = []
    for item in by_class(doc, "bar-item"):
        bar = by_class(item, "bar")[0]
        label, count = bar.get("title").rsplit(" : ", 1)
        bars.append(
            {
                "label": label,
                "count": int(count),
                "url": bar.get("href"),
                "selected": "is-selected" in item.get("class"),
            }
        )
    return bars


def test_the_date_histogram_shows_every_period_and_links_the_non_empty_ones(client, engine):
    expected = engine.search(SearchRequest(q="santé")).facets["date"]
    bars = histogram(html(client.get("/?q=santé")))
    assert [b for b in bars if b["count"]] == [
        {
            "label": f["label"],
            "count": f["count"],
            "url": f"/?q=sant%C3%A9&since={f['value']}&until={f['value']}",
            "selected": False,
        }
        for f in expected
    ]
    years = [int(b["label"]) for b in bars]
    assert years == list(range(years[0], years[-1] + 1))
    assert all(b["url"] is None for b in bars if not b["count"])


def test_clicking_a_histogram_bar_filters_to_that_period(client, engine):
    bar = next(b for b in histogram(html(client.get("/"))) if b["label"] == "2021")
    doc = html(client.get(bar["url"]))
    expected = engine.search(SearchRequest(since="2021", until="2021"))
    assert hit_links(doc) == article_links(expected)
    assert expected.total_with_copies == bar["count"]  # facets count every match, copies included
    assert text(by_class(doc, "chip")[0]).startswith("Période 2021")
    # Within one year the histogram switches to months; the inputs show the period.
    assert [b["label"] for b in histogram(doc) if b["count"]] == [f["label"] for f in expected.facets["date"]]
    assert all(b["label"].endswith(" 2021") for b in histogram(doc))
    assert doc.get_element_by_id("since").get("value") == "2021"
    assert doc.get_element_by_id("until").get("value") == "2021"


def test_a_selected_month_bar_is_marked_and_clicking_it_again_removes_the_period(client, engine):
    month = engine.search(SearchRequest(since="2021", until="2021")).facets["date"][0]
    doc = html(client.get(f"/?since={month['value']}&until={month['value']}"))
    selected = [b for b in histogram(doc) if b["selected"]]
    assert [b["label"] for b in selected] == [month["label"]]
    assert selected[0]["url"] == "/"
    assert text(by_class(doc, "chip")[0]).startswith(f"Période {month['label']}")


def test_from_and_to_dates_filter_and_stay_in_their_inputs(client, engine):
    doc = html(client.get("/?q=climat&since=2022-01-01&until=2024-06"))
    assert hit_links(doc) == article_links(
        engine.search(SearchRequest(q="climat", since="2022-01-01", until="2024-06"))
    )
    assert doc.get_element_by_id("since").get("value") == "2022-01-01"
    assert doc.get_element_by_id("until").get("value") == "2024-06"
    assert doc.xpath("//input[@id='since']/@form") == ["search-form"]
    assert text(by_class(doc, "chip")[0]).startswith("Période 1er janvier 2022 – juin 2024")


@pytest.mark.parametrize(
    ("since", "until", "label"),
    [
        ("2021", "2021", "2021"),
        ("2020-07", "2020-07", "juil. 2020"),
        ("2021-03-01", None, "depuis le 1er mars 2021"),
        ("2021-03", None, "depuis mars 2021"),
        (None, "2022", "jusqu’en 2022"),
        (None, "2022-02-15", "jusqu’au 15 février 2022"),
        ("2021", "2022-02-15", "2021 – 15 février 2022"),
        (None, None, ""),
    ],
)
def test_period_labels_read_as_french(since, until, label):
    assert period_label(since, until) == label


@pytest.mark.parametrize(
    "args", ["since=2021-13", "since=hier", "since=2024&until=2021", "page=0", "page=x", "sort=titre"]
)
def test_bad_filters_give_a_400_page_that_keeps_the_search_box(client, args):
    response = client.get(f"/?q=santé&{args}")
    assert response.status_code == 400
    doc = html(response)
    assert doc.get_element_by_id("q").get("value") == "santé"
    assert text(by_class(doc, "alert")[0]).startswith("Cette recherche n’a pas pu être lancée")


# --- article page ------------------------------------------------------------------------------


def test_article_page_shows_the_whole_article_and_related_ones(client, engine):
    article = engine.article("glb-2021-1113")
    doc = html(client.get("/article/glb-2021-1113"))
    assert text(doc.xpath("//h1")[0]) == article["title"]
    assert text(doc.xpath("//article//time")[0]) == "Publié le 13 novembre 2021"
    assert text(by_class(doc, "author")[0]) == f"Par {article['author']}"
    assert text(by_class(doc, "standfirst")[0]) == article["summary"]
    body = [text(p) for p in doc.xpath("//div[@class='story-body']/p")]
    assert body == [" ".join(p.split()) for p in article["body"].split("\n\n")]
    assert len(body) > 1
    assert [a.get("href") for a in doc.xpath("//ul[@class='tags']//a")] == ["/?tag=climat", "/?tag=international"]
    assert doc.xpath("//p[@class='original']/a/@href") == [article["url"]]
    related = [f"/article/{hit['id']}" for hit in engine.related("glb-2021-1113")]
    assert doc.xpath("//ol[@class='related-list']//a/@href") == related
    assert related


def test_an_article_without_url_has_no_original_link(client, engine):
    hit = next(h for h in engine.search(SearchRequest(limit=100)).hits if not h["url"])
    doc = html(client.get(f"/article/{hit['id']}"))
    assert doc.xpath("//p[@class='original']") == []
    assert text(doc.xpath("//h1")[0]) == hit["title"]


@pytest.mark.parametrize("article_id", ["inconnu", "source:examples/json/portrait.json", "../../etc/passwd", "%00"])
def test_an_unknown_article_is_a_404_page(client, article_id):
    response = client.get(f"/article/{article_id}")
    assert response.status_code == 404
    doc = html(response)
    assert text(doc.xpath("//h1")[0]) == "Page introuvable"
    assert response.mimetype == "text/html"


def test_paragraphs_split_on_blank_lines_only():
    assert paragraphs("Un.\nDeux.\n\n  Trois.\n \nQuatre.\n\n\n") == ["Un. Deux.", "Trois.", "Quatre."]
    assert paragraphs("") == []


# --- JSON API ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "request_"),
    [
        ("", SearchRequest()),
        ("q=santé", SearchRequest(q="santé")),
        ("q=climat&sort=date&page=2&limit=3", SearchRequest(q="climat", sort="date", page=2, limit=3)),
        ("tag=Santé&tag=hopital", SearchRequest(tags=["Santé", "hopital"])),
        (
            "q=plus&since=2022&until=2023-06&section=economie",
            SearchRequest(q="plus", since="2022", until="2023-06", section="economie"),
        ),
        ("q=inflasion", SearchRequest(q="inflasion")),
    ],
)
def test_api_search_returns_exactly_the_engines_results(client, engine, args, request_):
    response = client.get(f"/api/search?{args}")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == json.loads(json.dumps(engine.search(request_).to_dict()))


def test_api_search_keeps_the_key_order_and_readable_accents(client):
    body = client.get("/api/search?q=santé").get_data(as_text=True)
    assert list(json.loads(body)) == ["query", "total", "total_with_copies", "page", "pages", "hits", "facets", "suggestion", "filters",
                                      "plan", "partial", "cut"]  # fmt: skip
    assert '"query": "santé"' in body or '"query":"santé"' in body


def test_api_article_returns_the_article_without_its_server_path(client, engine):
    article = engine.article("glb-2021-1113")
    data = client.get("/api/article/glb-2021-1113").get_json()
    assert data == {key: value for key, value in article.items() if key != "path"}
    assert "path" not in data


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/api/search?sort=titre", 400, "bad_sort"),
        ("/api/search?page=deux", 400, "not_a_number"),
        ("/api/search?limit=1000", 400, "bad_limit"),
        ("/api/search?since=2021-02-30", 400, "bad_date"),
        ("/api/search?q=NOT+x", 400, "only_excluded"),
        ("/api/article/inconnu", 404, "no_article"),
        ("/api/nulle-part", 404, "not_found"),
    ],
)
def test_api_errors_are_json_with_their_status_and_code(client, url, status, code):
    response = client.get(url)
    assert response.status_code == status
    data = response.get_json()
    assert set(data) == {"error", "code", "status"}
    assert (
        data["status"] == status and data["code"] == code and re.fullmatch(pattern(code, french=False), data["error"])
    )


# --- headers, methods, sizes -------------------------------------------------------------------

EVERY_KIND_OF_RESPONSE = [
    ("GET", "/"),
    ("GET", "/?q=santé"),
    ("GET", "/?q=NOT+x"),
    ("GET", "/article/glb-2021-1113"),
    ("GET", "/article/inconnu"),
    ("GET", "/api/search?q=santé"),
    ("GET", "/api/article/inconnu"),
    ("GET", "/static/style.css"),
    ("GET", "/nulle-part"),
    ("HEAD", "/"),
    ("POST", "/"),
    ("POST", "/api/search"),
]


@pytest.mark.parametrize(("method", "url"), EVERY_KIND_OF_RESPONSE)
def test_every_response_carries_the_security_headers(client, method, url):
    headers = client.open(url, method=method).headers
    policy = dict(part.strip().split(" ", 1) for part in headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script_or_style(client):
    for url in ("/", "/?q=santé&tag=sante", "/article/glb-2021-1113", "/article/inconnu"):
        doc = html(client.get(url))
        assert [s.get("src") for s in doc.xpath("//script")] == ["/static/app.js"]
        assert all(not (s.text or "").strip() for s in doc.xpath("//script"))
        assert doc.xpath("//style | //*[@style]") == []


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("url", ["/", "/api/search", "/article/glb-2021-1113", "/api/article/glb-2021-1113"])
def test_only_reading_methods_are_allowed(client, method, url):
    response = client.open(url, method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD"


def test_head_requests_work(client):
    response = client.head("/?q=santé")
    assert response.status_code == 200 and response.data == b""


def test_an_oversized_body_is_refused_with_413(client):
    assert client.get("/", data=b"x" * 100_000).status_code == 413
    assert client.post("/api/search", data=b"x" * 100_000).status_code == 413


def test_an_oversized_query_string_is_refused_with_413_before_the_engine(client):
    response = client.get("/api/search?q=" + "a" * (MAX_QUERY_STRING + 1))
    assert response.status_code == 413
    assert response.get_json()["status"] == 413
    page = client.get("/?q=" + "santé " * 2000)
    assert page.status_code == 413
    assert text(html(page).xpath("//h1")[0]) == "Requête trop volumineuse"


def test_the_longest_query_the_engine_accepts_fits_in_the_query_string_limit(client):
    query = "santé " * 333
    assert len(query) <= 2000
    assert client.get("/api/search", query_string={"q": query}).status_code == 200


def test_debug_is_off_and_crashes_reveal_nothing(sample_index, monkeypatch, caplog):
    app = create_app({"INDEX_DIR": sample_index})
    assert app.debug is False
    engine = app.extensions["newsearch"]

    def broken(request):
        raise RuntimeError("secret detail from /srv/newsearch")

    monkeypatch.setattr(engine, "search", broken)
    client = app.test_client()
    page = client.get("/?q=santé")
    assert page.status_code == 500
    assert "secret" not in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)
    answer = client.get("/api/search").get_json()
    # The visitor gets a short reference; the log has it with the details.
    assert answer == {"error": f"an unexpected error occurred (reference {answer['error_id']})",
                      "code": "internal_error", "status": 500, "error_id": answer["error_id"]}  # fmt: skip
    logged = [r for r in caplog.records if answer["error_id"] in r.getMessage()]
    assert logged and "secret detail" in str(logged[0].exc_info[1])


def test_the_search_time_limit_reaches_the_engine(sample_index):
    app = create_app({"INDEX_DIR": sample_index, "SEARCH_TIME_LIMIT": 0.75})
    assert app.extensions["newsearch"].time_limit == 0.75
    assert create_app({"INDEX_DIR": sample_index}).extensions["newsearch"].time_limit == 2.0


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=lambda q: repr(q[:20]) + (f"…({len(q)})" if len(q) > 20 else ""))
def test_hostile_queries_get_a_400_or_a_normal_page_never_a_500(client, query):
    page = client.get("/", query_string={"q": query})
    assert page.status_code in (200, 400, 413)
    if page.status_code != 413 and "\x00" not in query:
        assert html(page).get_element_by_id("q").get("value") == query
    api = client.get("/api/search", query_string={"q": query})
    assert api.status_code in (200, 400, 413)
    assert set(api.get_json()) >= ({"error", "status"} if api.status_code != 200 else {"hits", "total"})


@pytest.mark.parametrize("query", ["a" * 20_000, "(" * 1000 + "santé" + ")" * 1000])
def test_the_engine_refuses_huge_queries_with_a_400_when_the_query_string_limit_lets_them_through(sample_index, query):
    client = create_app({"INDEX_DIR": sample_index, "MAX_QUERY_STRING": 1_000_000}).test_client()
    response = client.get("/api/search", query_string={"q": query})
    assert response.status_code == 400
    assert response.get_json()["code"] in ("query_too_long", "query_too_deep")


@pytest.mark.parametrize("query", ["a~", "é~2", "titre:a~"])
def test_a_one_letter_fuzzy_term_is_not_a_500(client, query):
    assert client.get("/api/search", query_string={"q": query}).status_code in (200, 400)


# --- untrusted text ----------------------------------------------------------------------------


def test_highlight_escapes_first_and_marks_only_the_snippets_matches():
    out = highlight("… la **santé** <script>alert(1)</script> & **<img src=x onerror=alert(1)>** …")
    assert isinstance(out, Markup)
    assert str(out) == (
        "… la <mark>santé</mark> &lt;script&gt;alert(1)&lt;/script&gt; &amp; "
        "<mark>&lt;img src=x onerror=alert(1)&gt;</mark> …"
    )


def test_highlight_leaves_lone_stars_and_empty_text_alone():
    assert str(highlight("5 * 3 ** 2")) == "5 * 3 ** 2"
    assert str(highlight("")) == ""


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("https://exemple.example/a?b=1", "https://exemple.example/a?b=1"),
        ("http://exemple.example", "http://exemple.example"),
        ("javascript:alert(1)", None),
        ("  JaVaScRiPt:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("data:text/html,<script>alert(1)</script>", None),
        ("vbscript:msgbox(1)", None),
        ("//exemple.example/relative-au-protocole", None),
        ("/chemin/local", None),
        ("https://", None),
        ("http://[::1", None),
        ("", None),
    ],
)
def test_only_absolute_http_urls_become_links(url, link):
    assert safe_url(url) == link


@pytest.fixture(scope="module")
def planted_index(tmp_path_factory):
    """An index of articles whose every field carries markup and script."""
    return build_planted_index(tmp_path_factory.mktemp("xss-articles"), tmp_path_factory.mktemp("xss-index"))


@pytest.fixture(scope="module")
def planted_client(planted_index):
    return create_app({"INDEX_DIR": planted_index}).test_client()


def assert_no_planted_markup(doc):
    """Fail when any planted tag, event handler or script link became part of the page."""
    assert doc.xpath("//img | //svg | //iframe | //b | //i | //textarea") == []
    assert [s.get("src") for s in doc.xpath("//script")] == ["/static/app.js"]
    handlers = [
        (el.tag, name) for el in doc.iter() if isinstance(el.tag, str) for name in el.attrib if name.startswith("on")
    ]
    assert handlers == []
    for href in doc.xpath("//a/@href | //link/@href"):
        assert href.startswith(("/", "#", "https://", "http://")), href
        assert not href.startswith("//")


def test_planted_markup_is_shown_as_text_on_the_search_page(planted_client, planted_index):
    articles = planted_articles(planted_index)
    doc = html(planted_client.get("/", query_string={"q": "santé <script>window.__xss = 1</script>"}))
    assert_no_planted_markup(doc)
    doc = html(planted_client.get("/?q=santé"))
    assert_no_planted_markup(doc)
    assert sorted(text(a) for a in doc.xpath("//ol[@class='hits']//h2/a")) == sorted(a["title"] for a in articles)
    assert '<img src=x onerror="window.__xss = 1">' in [text(a) for a in by_class(doc, "tag")]
    snippets = " ".join(text(p) for p in by_class(doc, "snippet"))
    assert "<script>" in snippets and "<img src=x onerror=alert(1)>" in snippets


def test_planted_markup_is_shown_as_text_on_the_article_pages(planted_client, planted_index):
    articles = planted_articles(planted_index)
    search = html(planted_client.get("/?q=santé"))
    links = {text(a): a.get("href") for a in search.xpath("//ol[@class='hits']//h2/a")}
    for article in articles:
        response = planted_client.get(links[article["title"]])
        assert response.status_code == 200
        doc = html(response)
        assert_no_planted_markup(doc)
        assert text(doc.xpath("//h1")[0]) == article["title"]
        body = [text(p) for p in doc.xpath("//div[@class='story-body']/p")]
        assert body == paragraphs(article["body"])
        original = doc.xpath("//p[@class='original']/a/@href")
        assert original == ([article["url"]] if article["url"].startswith("https://") else [])


def test_the_api_returns_planted_text_as_json_strings(planted_client, planted_index):
    for article in planted_articles(planted_index):
        response = planted_client.get(f"/api/article/{quote(article['id'], safe='')}")
        assert response.mimetype == "application/json"
        assert response.get_json()["title"] == article["title"]


# --- a live index ------------------------------------------------------------------------------


def article_json(n: int) -> str:
    return json.dumps(
        {
            "id": f"direct-{n}",
            "url": f"https://exemple.example/direct/{n}",
            "title": f"Édition spéciale numéro {n} sur le zeppelin",
            "body": f"Le zeppelin survole la ville pour la {n}e fois.\n\nLes riverains lèvent les yeux.",
            "date": f"2025-01-{n + 1:02d}",
            "tags": ["Direct"],
        },
        ensure_ascii=False,
    )


def test_searches_see_articles_committed_while_the_app_serves(tmp_path, examples_dir):
    index_dir = tmp_path / "index"
    Indexer(IndexStore(index_dir)).run([examples_dir / "json" / "portrait.json"])
    # A slot for each reader: this test is about commits, not admission (a busy machine must not turn one away).
    app = create_app({"INDEX_DIR": index_dir, "ADMISSION": Gate(slots=3, costly_slots=3, wait=60)})
    assert app.test_client().get("/api/search?q=zeppelin").get_json()["total"] == 0

    statuses, stop = [], threading.Event()

    def keep_searching():
        client = app.test_client()
        while not stop.is_set():
            for url in ("/api/search?q=zeppelin", "/?q=zeppelin&tag=direct", "/"):
                statuses.append(client.get(url).status_code)

    readers = [threading.Thread(target=keep_searching) for _ in range(3)]
    for reader in readers:
        reader.start()
    try:
        live = tmp_path / "live"
        live.mkdir()
        for n in range(6):
            (live / f"direct-{n}.json").write_text(article_json(n), encoding="utf-8")
            # Small batches: several commits land while the readers search.
            Indexer(IndexStore(index_dir), batch_size=1).run([examples_dir / "json" / "portrait.json", live])
        Indexer(IndexStore(index_dir)).run([examples_dir / "json" / "portrait.json", live], full=True)
    finally:
        stop.set()
        for reader in readers:
            reader.join()

    assert statuses and set(statuses) == {200}
    client = app.test_client()
    # The six near-identical bulletins are one wire story: collapse=0 lists each of them.
    data = client.get("/api/search?q=zeppelin&sort=date&collapse=0").get_json()
    assert data["total"] == 6
    assert [hit["id"] for hit in data["hits"]] == [f"direct-{n}" for n in range(5, -1, -1)]
    doc = html(client.get("/article/direct-3"))
    assert text(doc.xpath("//h1")[0]) == "Édition spéciale numéro 3 sur le zeppelin"


def test_filters_narrow_the_hits_under_the_search_time_limit(app):
    # The app always searches with a time limit; the hits must obey the same filters as the total and facets.
    results = app.extensions["newsearch"].search(SearchRequest(q="santé", tags=["hopital"]))
    assert app.extensions["newsearch"].time_limit
    assert len(results.hits) == results.total == 4
    assert all("hopital" in {tag_key(t) for t in hit["tags"]} for hit in results.hits)


def test_index_trouble_is_reported_without_server_paths(sample_index, monkeypatch):
    app = create_app({"INDEX_DIR": sample_index})

    def damaged(request):
        raise IndexDamagedError("the index in /srv/secret/index cannot be opened")

    monkeypatch.setattr(app.extensions["newsearch"], "search", damaged)
    response = app.test_client().get("/api/search")
    assert response.status_code == 500
    answer = response.get_json()
    assert answer["error"] == f"the search index is unavailable for now (reference {answer['error_id']})"
    page = app.test_client().get("/?q=santé")
    assert page.status_code == 500 and "/srv/secret" not in page.get_data(as_text=True)


def test_wire_copies_collapse_and_their_reprises_link_lists_them(app):
    client = app.test_client()
    doc = html(client.get("/?q=crue+Gard"))
    links = doc.xpath("//p[@class='reprises']/a")
    assert len(links) == 1 and text(links[0]) == "+ 2 reprises de cette dépêche"
    copies = client.get(links[0].get("href").replace("/?", "/api/search?")).get_json()
    assert copies["total"] == 3 and len(copies["hits"]) == 3


def test_search_page_says_how_it_read_the_query(app):
    doc = html(app.test_client().get("/?q=OTAN+depuis+2023"))
    lines = [text(p) for p in doc.xpath("//p[@class='understood']")]
    assert "Période lue dans la requête : depuis 2023" in lines
    assert any(line.startswith("Synonymes cherchés aussi : OTAN = NATO") for line in lines)


def test_entity_facets_are_links_that_keep_other_filters(app):
    client = app.test_client()
    doc = html(client.get("/?q=&tag=politique"))
    headings = [text(h) for h in doc.xpath("//section[@class='facet']/h2")]
    assert {"Personnes", "Lieux", "Organisations"} <= set(headings)
    link = doc.xpath("//section[@aria-labelledby='facet-personnes-title']//a[contains(., 'Emmanuel Macron')]")[0]
    assert "tag=politique" in link.get("href") and "personne=Emmanuel+Macron" in link.get("href")
    filtered = client.get(link.get("href").replace("/?", "/api/search?")).get_json()
    assert filtered["total"] > 0 and filtered["filters"]["personnes"] == ["Emmanuel Macron"]
    chip = html(client.get(link.get("href"))).xpath("//a[@class='chip'][contains(., 'Emmanuel Macron')]")
    assert chip and "personne=" not in chip[0].get("href")


def test_article_page_links_its_people_places_and_organisations(app):
    client = app.test_client()
    doc = html(client.get("/article/glb-2021-1113"))
    kinds = [text(s) for s in doc.xpath("//p[@class='entities']/span")]
    assert "Personnes :" in kinds
    link = doc.xpath("//p[@class='entities']/a[.='Emmanuel Macron']")[0]
    found = client.get(link.get("href").replace("/?", "/api/search?") + "&collapse=0").get_json()
    assert "glb-2021-1113" in [h["id"] for h in found["hits"]] or found["total"] > 10
    assert found["filters"]["personnes"] == ["Emmanuel Macron"]


def test_the_heading_counts_stories_and_copies_and_a_story_s_copies_lead_back_to_the_search(client, engine):
    grouped = engine.search(SearchRequest(q="grève", limit=100))
    doc = html(client.get("/?q=gr%C3%A8ve"))
    assert (grouped.total, grouped.total_with_copies) == (4, 6)
    assert text(doc.xpath("//h1")[0]) == "4 articles, 6 avec les reprises pour « grève »"
    expand = by_class(doc, "reprises")[0].xpath(".//a")[0]
    assert text(expand) == "+ 2 reprises de cette dépêche"
    assert query_of(expand.get("href"))["q"] == ["grève"]
    story = html(client.get(expand.get("href")))
    assert text(story.xpath("//h1")[0]) == "3 résultats : une dépêche et ses reprises"
    assert len(hit_links(story)) == 3
    back = by_class(story, "back-link")[0]
    assert text(back) == "← Retour à la recherche"
    assert query_of(back.get("href")) == {"q": ["grève"]}


def test_a_link_shows_every_copy_and_another_groups_them_again(client, engine):
    doc = html(client.get("/?q=gr%C3%A8ve"))
    show = by_class(doc, "collapse-link")[0]
    assert text(show) == "Afficher aussi les reprises"
    every = html(client.get(show.get("href")))
    assert len(hit_links(every)) == engine.search(SearchRequest(q="grève", collapse=False)).total
    regroup = by_class(every, "collapse-link")[0]
    assert text(regroup) == "Regrouper les reprises"
    assert query_of(regroup.get("href")) == {"q": ["grève"]}


# --- every error, in French on the pages and in English with its code in the API ------------------------------


def pattern(code: str, french: bool = True) -> str:
    """A regular expression matching the message of code whatever its values."""
    template = MESSAGES[code][0 if not french else 1]
    return ".+".join(re.escape(part) for part in re.split(r"\{[^}]*\}", template))


# Every error a request can meet, as (method, address, status, code); each address is asked for as a page and,
# with /api/search in place of /, from the API.
EVERY_ERROR = [
    ("GET", "/?sort=titre", 400, "bad_sort"),
    ("GET", "/?page=0", 400, "bad_page"),
    ("GET", "/?page=deux", 400, "not_a_number"),
    ("GET", "/?since=2021-02-30", 400, "bad_date"),
    ("GET", "/?since=hier", 400, "bad_date"),
    ("GET", "/?since=2024&until=2023", 400, "since_after_until"),
    ("GET", "/?" + "&".join(["tag=x"] * 21), 400, "too_many_filters"),
    ("GET", "/?section=" + "x" * 300, 400, "filter_too_long"),
    ("GET", "/?q=" + "a " * 1100, 400, "query_too_long"),
    ("GET", "/?q=" + "a" * 100, 400, "word_too_long"),
    ("GET", "/?q=" + "(" * 10 + "a", 400, "query_too_deep"),
    ("GET", "/?q=" + "+OR+".join(f"mot{n}" for n in range(70)), 400, "too_many_terms"),
    ("GET", "/?q=aa~+bb~+cc~+dd~+ee~", 400, "too_many_fuzzy"),
    ("GET", "/?q=%C2%BB", 400, "no_searchable_word"),
    ("GET", "/?q=NOT+x", 400, "only_excluded"),
    ("GET", "/?q=" + "a" * 9000, 413, "too_large"),
    ("GET", "/article/inconnu", 404, "no_article"),
    ("GET", "/nulle-part", 404, "not_found"),
    ("POST", "/", 405, "method_not_allowed"),
]
# What only the API can be asked (the page has a fixed page size), and what no address of the app reaches.
API_ONLY = [("GET", "/api/search?limit=1000", 400, "bad_limit")]
UNREACHABLE = {"bad_export_format": "the CLI's --format choice, checked by click first",
               "bad_request": "other 4xx that werkzeug may raise; no route does"}  # fmt: skip


def broken_apps(sample_index, monkeypatch):
    """Yield (app, status, code) for the errors of a server in trouble: out of time, index damaged, a bug."""
    yield create_app({"INDEX_DIR": sample_index, "SEARCH_TIME_LIMIT": 1e-9}), 503, "timed_out"
    no_slot = Gate(slots=0, costly_slots=0, queue=0, costly_queue=0, wait=0)
    yield create_app({"INDEX_DIR": sample_index, "ADMISSION": no_slot}), 503, "overloaded"
    for failure, status, code in ((IndexDamagedError("the index in /srv/x is damaged"), 500, "index_unavailable"),
                                  (RuntimeError("a bug"), 500, "internal_error")):  # fmt: skip
        app = create_app({"INDEX_DIR": sample_index})

        def fail(*args, failure=failure, **kwargs):
            raise failure

        monkeypatch.setattr(app.extensions["newsearch"], "search", fail)
        yield app, status, code


def shown_error(response) -> str:
    return text(html(response).xpath("//*[contains(@class, 'error-message')]")[0])


def test_every_error_the_web_can_produce_is_french_on_the_page_and_english_with_a_code_in_the_api(
    client, sample_index, monkeypatch
):
    walked = set()
    english = [pattern(code, french=False) for code in MESSAGES]
    for method, address, status, code in EVERY_ERROR:
        page = client.open(address, method=method)
        assert page.status_code == status, address
        assert re.fullmatch(pattern(code), shown_error(page)), (address, shown_error(page))
        body = page.get_data(as_text=True)
        assert not any(re.search(p, body) for p in english), address
        api = client.open(address.replace("/?", "/api/search?").replace("/article/", "/api/article/"), method=method)
        if address.startswith(("/?", "/article/")):
            assert (api.status_code, api.get_json()["code"]) == (status, code), address
            assert re.fullmatch(pattern(code, french=False), api.get_json()["error"]), address
        walked.add(code)
    for method, address, status, code in API_ONLY:
        api = client.open(address, method=method)
        assert (api.status_code, api.get_json()["code"]) == (status, code)
        walked.add(code)
    for app, status, code in broken_apps(sample_index, monkeypatch):
        page = app.test_client().get("/?q=santé")
        assert page.status_code == status and re.fullmatch(pattern(code), shown_error(page))
        assert not any(re.search(p, page.get_data(as_text=True)) for p in english)
        api = app.test_client().get("/api/search?q=santé").get_json()
        assert api["code"] == code and re.fullmatch(pattern(code, french=False), api["error"])
        walked.add(code)
    # A Host header that names no server: answered before any route.
    page = client.get("/?q=santé", headers={"Host": "."})
    assert page.status_code == 400 and re.fullmatch(pattern("bad_host"), shown_error(page))
    api = client.get("/api/search?q=santé", headers={"Host": "."}).get_json()
    assert api["code"] == "bad_host" and re.fullmatch(pattern("bad_host", french=False), api["error"])
    walked.add("bad_host")
    assert walked | set(UNREACHABLE) == set(MESSAGES)


def test_every_facet_kind_is_a_url_argument_the_engine_reads_and_the_page_offers(client, engine):
    from newsearch.vocabulary import VALUE_FACETS

    everything = engine.search(SearchRequest(limit=1)).to_dict()["facets"]
    for kind in VALUE_FACETS:
        value = everything[kind.key][0]["value"]
        data = client.get("/api/search", query_string={kind.param: value}).get_json()
        chosen = data["filters"][kind.key]
        assert chosen == (value if kind.select == "one" else [value]), kind
        assert data["total_with_copies"] == everything[kind.key][0]["count"], kind  # facets count copies too
        # The page shows it as a chip of its kind, whose link lets it go.
        doc = html(client.get("/", query_string={kind.param: value}))
        chips = doc.xpath("//a[@class='chip']")
        assert [c.xpath(".//span[@class='chip-kind']")[0].text_content() for c in chips] == [kind.item_label], kind
        assert kind.param not in parse_qs(urlsplit(chips[0].get("href")).query), kind
