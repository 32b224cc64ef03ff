"""The web UI in headless Chromium, against the real app served by waitress on a free localhost port."""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from waitress import create_server

from newsearch.admission import Gate
from newsearch.search import SearchRequest
from newsearch.web import create_app
from test_web import build_planted_index, planted_articles

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Runs before any page script: records what the Content-Security-Policy blocked, so a test sees attempts too.
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI));
"""


@contextmanager
def serving(app):
    """Serve app with waitress on a free port in a background thread; yield its base URL."""
    server = create_server(app, host="127.0.0.1", port=0, threads=4, ident="newsearch-test")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (make chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def site(sample_index):
    with serving(create_app({"INDEX_DIR": sample_index})) as base:
        yield base


class Tab:
    """A browser page that remembers script errors, failed requests and dialogs, for tests to assert on."""

    def __init__(self, context):
        self.context = context
        self.page = context.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"console: {msg.text}"))
        self.page.on("dialog", self._dialog)

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def assert_clean(self):
        """Fail when the page raised, logged an error, opened a dialog or tripped the CSP."""
        assert self.errors == []
        assert self.dialogs == []
        assert self.page.evaluate("window.__csp") == []


@pytest.fixture
def tab(browser):
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900})
    context.add_init_script(WATCH_CSP)
    tab = Tab(context)
    yield tab
    context.close()


def args_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def words(s: str) -> str:
    return " ".join(s.split())


def hit_titles(page) -> list[str]:
    return [words(t) for t in page.locator("ol.hits h2 a").all_inner_texts()]


def titles(results) -> list[str]:
    return [hit["title"] for hit in results.hits]


# --- the search journey ---------------------------------------------------------------------------


def test_searching_from_the_home_page(tab, site, engine, artifacts_dir):
    page = tab.page
    page.goto(site)
    assert words(page.locator("h1").inner_text()) == "Derniers articles"
    page.get_by_label("Rechercher dans les articles").fill("santé")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"q=sant"))
    expected = engine.search(SearchRequest(q="santé"))
    assert words(page.locator("h1").inner_text()) == f"{expected.total} résultats pour « santé »"
    assert page.locator("#q").input_value() == "santé"
    assert hit_titles(page) == titles(expected)
    marks = page.locator("ol.hits mark").all_inner_texts()
    assert marks and {m.lower() for m in marks} == {"santé"}
    page.screenshot(path=artifacts_dir / "search.png", full_page=True)
    tab.assert_clean()


def test_clicking_a_tag_facet_filters_the_results(tab, site, engine):
    page = tab.page
    page.goto(f"{site}/?q=santé")
    facet = page.locator("section[aria-labelledby=facet-tags-title] a.facet-link", has_text="Hôpital")
    count = int(facet.locator(".count").inner_text())
    facet.click()
    page.wait_for_url(re.compile(r"tag=hopital"))
    assert args_of(page.url) == {"q": ["santé"], "tag": ["hopital"]}
    assert words(page.locator(".chip").first.text_content()) == "Tag Hôpital × (retirer ce filtre)"
    assert hit_titles(page) == titles(engine.search(SearchRequest(q="santé", tags=["hopital"])))
    assert len(hit_titles(page)) == count
    # The chip removes the filter again.
    page.locator(".chip").first.click()
    page.wait_for_url(re.compile(r"^[^?]*\?q=sant[^&]*$"))
    assert page.locator(".chip").count() == 0
    tab.assert_clean()


def test_clicking_a_histogram_bar_filters_to_that_year(tab, site, engine):
    page = tab.page
    page.goto(site)
    bar = page.locator("ol.histogram a.bar[title^='2021 :']")
    count = int(bar.get_attribute("title").rsplit(":", 1)[1])
    bar.click()
    page.wait_for_url(re.compile(r"since=2021&until=2021"))
    expected = engine.search(SearchRequest(since="2021", until="2021"))
    assert expected.total_with_copies == count  # facets count every match, copies included
    assert hit_titles(page) == titles(expected)
    assert page.locator("#since").input_value() == "2021"
    # Inside one year the histogram shows months.
    labels = [
        t.rsplit(" :", 1)[0] for t in page.locator("ol.histogram .bar").evaluate_all("bs => bs.map(b => b.title)")
    ]
    assert labels and all(label.endswith(" 2021") for label in labels)
    tab.assert_clean()


def test_typing_a_date_range_filters_the_results(tab, site, engine):
    page = tab.page
    page.goto(site)
    page.get_by_label("Du", exact=True).fill("2022-03")
    page.get_by_label("Au", exact=True).fill("2023")
    page.get_by_role("button", name="Filtrer").click()
    page.wait_for_url(re.compile(r"until=2023"))
    assert args_of(page.url)["since"] == ["2022-03"]
    assert hit_titles(page) == titles(engine.search(SearchRequest(since="2022-03", until="2023")))
    assert words(page.locator(".chip").first.text_content()) == "Période mars 2022 – 2023 × (retirer ce filtre)"
    tab.assert_clean()


def test_going_to_the_second_page(tab, site, engine):
    page = tab.page
    page.goto(site)
    page.get_by_role("link", name="Suivante").click()
    page.wait_for_url(re.compile(r"page=2"))
    assert hit_titles(page) == titles(engine.search(SearchRequest(page=2)))
    assert page.locator("ol.hits").get_attribute("start") == "11"
    assert page.locator("[aria-current=page]").inner_text().strip().endswith("2")
    page.get_by_role("link", name="Précédente").click()
    page.wait_for_url(site + "/")
    assert hit_titles(page) == titles(engine.search(SearchRequest()))
    tab.assert_clean()


def test_expanding_a_story_s_copies_and_coming_back_to_the_search(tab, site, engine):
    page = tab.page
    page.goto(f"{site}/?q=grève")
    assert words(page.locator("h1").inner_text()) == "4 articles, 6 avec les reprises pour « grève »"
    grouped = engine.search(SearchRequest(q="grève"))
    assert hit_titles(page) == titles(grouped)
    story = next(h for h in grouped.hits if h["cluster"])
    page.get_by_role("link", name="+ 2 reprises de cette dépêche").click()
    page.wait_for_url(re.compile(r"cluster="))
    assert words(page.locator("h1").inner_text()) == "3 résultats : une dépêche et ses reprises"
    copies = engine.search(SearchRequest(q="grève", cluster=story["cluster"]["id"]))
    assert hit_titles(page) == titles(copies) and len(copies.hits) == 3
    page.get_by_role("link", name="← Retour à la recherche").click()
    page.wait_for_url(lambda url: "cluster" not in url)
    assert hit_titles(page) == titles(grouped)
    page.get_by_role("link", name="Afficher aussi les reprises").click()
    page.wait_for_url(re.compile(r"collapse=0"))
    assert hit_titles(page) == titles(engine.search(SearchRequest(q="grève", collapse=False)))
    assert len(hit_titles(page)) == 6
    tab.assert_clean()


def test_changing_the_sort_reruns_the_search_at_once(tab, site, engine):
    page = tab.page
    page.goto(f"{site}/?q=climat")
    page.get_by_label("Trier par").select_option("date")
    page.wait_for_url(re.compile(r"sort=date"))
    assert hit_titles(page) == titles(engine.search(SearchRequest(q="climat", sort="date")))
    tab.assert_clean()


def test_opening_an_article_and_coming_back(tab, site, engine, artifacts_dir):
    page = tab.page
    page.goto(f"{site}/?q=COP26")
    first = engine.search(SearchRequest(q="COP26")).hits[0]
    article = engine.article(first["id"])
    page.get_by_role("link", name=first["title"]).click()
    page.wait_for_url(re.compile(r"/article/"))
    assert words(page.locator("h1").inner_text()) == article["title"]
    assert page.locator("article time").inner_text() == "Publié le 13 novembre 2021"
    paragraphs = page.locator(".story-body p").all_inner_texts()
    assert [words(p) for p in paragraphs] == [words(p) for p in article["body"].split("\n\n")]
    related = [words(t) for t in page.locator(".related-list a").all_inner_texts()]
    assert related == [hit["title"] for hit in engine.related(first["id"])]
    assert page.get_by_role("link", name=re.compile("Lire l’article original")).get_attribute("href") == article["url"]
    page.screenshot(path=artifacts_dir / "article.png", full_page=True)
    page.get_by_role("link", name="‹ Retour aux résultats").click()
    page.wait_for_url(re.compile(r"q=COP26"))
    assert page.locator("#q").input_value() == "COP26"
    tab.assert_clean()


def test_a_misspelling_offers_a_suggestion_that_searches_again(tab, site, engine):
    page = tab.page
    suggestion = engine.search(SearchRequest(q="inflasion")).suggestion
    page.goto(f"{site}/?q=inflasion")
    page.get_by_role("link", name=suggestion).click()
    page.wait_for_url(re.compile(r"q=" + suggestion))
    assert page.locator("#q").input_value() == suggestion
    tab.assert_clean()


def test_an_unknown_article_shows_the_404_page(tab, site):
    response = tab.page.goto(f"{site}/article/inconnu")
    assert response.status == 404
    assert words(tab.page.locator("h1").inner_text()) == "Page introuvable"


def test_a_busy_server_says_so_in_french_and_one_click_searches_again(tab, sample_index, engine, artifacts_dir):
    gate = Gate(slots=1, costly_slots=1, queue=0, costly_queue=0, wait=0)
    with serving(create_app({"INDEX_DIR": sample_index, "ADMISSION": gate})) as base:
        with gate.admit(1.0):  # another search holds the only slot
            response = tab.page.goto(f"{base}/?q=santé&tag=hopital")
            assert response.status == 503 and int(response.headers["retry-after"]) >= 1
            assert words(tab.page.locator("h1").inner_text()) == "Service momentanément surchargé"
            assert "réessayez" in tab.page.locator(".error-message").inner_text()
            tab.page.screenshot(path=str(artifacts_dir / "overload.png"))
        # Chromium logs every 5xx page it loads; that is the one error this page may have.
        assert [e for e in tab.errors if "status of 503" not in e] == []
        tab.errors.clear()
        assert tab.page.locator("#q").input_value() == "santé"
        tab.page.locator("#search-form button").click()
        # Still served while the page fetches what it links to (the OpenSearch description, the icon).
        tab.page.wait_for_load_state("networkidle")
        expected = engine.search(SearchRequest(q="santé", tags=["hopital"], limit=10))
        assert hit_titles(tab.page) == titles(expected) and expected.hits
        tab.assert_clean()


# --- without JavaScript, with the keyboard, on a phone -------------------------------------------


def test_everything_works_without_javascript(browser, site, engine):
    context = browser.new_context(java_script_enabled=False, locale="fr-FR")
    try:
        page = context.new_page()
        page.goto(site)
        page.get_by_label("Rechercher dans les articles").fill("climat")
        page.get_by_role("button", name="Rechercher").click()
        page.wait_for_url(re.compile(r"q=climat"))
        page.get_by_label("Trier par").select_option("date")
        assert "sort=date" not in page.url  # nothing happens on change without JS…
        page.get_by_role("button", name="Trier").click()  # …so the noscript button submits
        page.wait_for_url(re.compile(r"sort=date"))
        assert hit_titles(page) == titles(engine.search(SearchRequest(q="climat", sort="date")))
        page.locator("section[aria-labelledby=facet-tags-title] a.facet-link").first.click()
        page.wait_for_url(re.compile(r"tag="))
        assert page.locator(".chip").count() == 1
    finally:
        context.close()


def test_keyboard_users_get_a_skip_link_a_visible_focus_and_the_slash_shortcut(tab, site):
    page = tab.page
    page.goto(f"{site}/?q=santé")
    page.keyboard.press("Tab")
    skip = page.locator(".skip-link")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert skip.bounding_box()["y"] >= 0  # shown on focus, off-screen otherwise
    page.keyboard.press("Tab")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    tab.assert_clean()


def test_the_layout_fits_a_phone_screen(browser, site, artifacts_dir):
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{site}/?q=santé")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=artifacts_dir / "search-mobile.png", full_page=True)
        page.goto(f"{site}/article/glb-2021-1113")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=artifacts_dir / "article-mobile.png", full_page=True)
    finally:
        context.close()


# --- untrusted text ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planted_site(tmp_path_factory):
    index_dir = build_planted_index(tmp_path_factory.mktemp("xss-articles"), tmp_path_factory.mktemp("xss-index"))
    with serving(create_app({"INDEX_DIR": index_dir})) as base:
        yield base, planted_articles(index_dir)


def assert_nothing_planted_ran(tab):
    page = tab.page
    assert page.evaluate("window.__xss") is None
    assert page.locator("img, svg, iframe, object, embed, b, i, textarea").count() == 0
    handlers = page.evaluate(
        "[...document.querySelectorAll('*')].flatMap(el => [...el.attributes].map(a => a.name))"
        ".filter(name => name.startsWith('on'))"
    )
    assert handlers == []
    scripts = page.evaluate("[...document.scripts].map(s => s.getAttribute('src'))")
    assert scripts == ["/static/app.js"]
    hrefs = page.evaluate("[...document.links].map(a => a.protocol)")
    assert set(hrefs) <= {"http:", "https:"}
    tab.assert_clean()


def test_planted_scripts_never_run_and_show_as_text(tab, planted_site, artifacts_dir):
    base, articles = planted_site
    page = tab.page
    page.goto(f"{base}/?q=santé <script>window.__xss = 1</script>")
    assert_nothing_planted_ran(tab)
    page.goto(f"{base}/?q=santé")
    assert sorted(hit_titles(page)) == sorted(words(a["title"]) for a in articles)
    assert '<img src=x onerror="window.__xss = 1">' in page.locator("a.tag").all_inner_texts()
    page.screenshot(path=artifacts_dir / "xss-search.png", full_page=True)
    assert_nothing_planted_ran(tab)
    for article in articles:
        page.goto(f"{base}/?q=santé")
        page.locator("ol.hits h2 a").filter(has_text=words(article["title"])).first.click()
        page.wait_for_url(re.compile(r"/article/"))
        assert words(page.locator("h1").inner_text()) == words(article["title"])
        # Hover and focus everything, in case a planted handler waits for it.
        for link in page.locator("main a, main p").all()[:40]:
            link.hover()
        assert_nothing_planted_ran(tab)
        original = page.locator("p.original a")
        if article["url"].startswith("https://"):
            assert original.get_attribute("href") == article["url"]
        else:
            assert original.count() == 0


# --- the date histogram at every span ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def monthly_site(tmp_path_factory):
    """A site with one article a month from January 2016 to December 2025, to show the histogram at any span."""
    import json

    from newsearch.indexer import Indexer
    from newsearch.store import IndexStore

    folder = tmp_path_factory.mktemp("monthly")
    records = [
        {
            "id": f"mois-{year}-{month:02d}",
            "title": f"Bilan du marché immobilier, {month:02d}/{year}",
            "body": "Les notaires publient chaque mois leur bilan du marché immobilier dans les grandes villes.",
            "date": f"{year}-{month:02d}-15T09:00:00+01:00",
            "tags": ["Immobilier"],
        }
        for year in range(2016, 2026)
        for month in range(1, 13)
    ]
    (folder / "mois.jsonl").write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    index_dir = folder / "index"
    assert not Indexer(IndexStore(index_dir)).run([folder / "mois.jsonl"]).skipped
    with serving(create_app({"INDEX_DIR": index_dir})) as base:
        yield base


HISTOGRAM_SPANS = [
    ("2020-03", "2020-03"),
    ("2020-01", "2020-02"),
    ("2020-01", "2020-04"),
    ("2019-11", "2020-04"),
    ("2020-01", "2020-08"),
    ("2020-01", "2020-12"),
    ("2019-01", "2021-12"),
    ("2016", "2025"),
    ("2019", "2020"),
]


@pytest.mark.parametrize("width", [1280, 375])
def test_histogram_labels_never_overlap(browser, monthly_site, width, artifacts_dir):
    context = browser.new_context(locale="fr-FR", viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        for since, until in HISTOGRAM_SPANS:
            page.goto(f"{monthly_site}/?q=marché&since={since}&until={until}")
            boxes = page.evaluate(
                """() => [...document.querySelectorAll('.facet-dates .bar-label, .facet-dates .axis span')]
                    .filter(e => e.offsetParent !== null && e.textContent.trim())
                    .map(e => { const range = document.createRange(); range.selectNodeContents(e);
                                const r = range.getBoundingClientRect();  // the text's ink, not its clipped box
                                return {text: e.textContent.trim(), l: r.left, r: r.right, t: r.top, b: r.bottom}; })"""
            )
            facet = page.locator(".facet-dates").bounding_box()
            assert boxes, (since, until)
            for i, a in enumerate(boxes):
                assert facet["x"] - 0.5 <= a["l"] and a["r"] <= facet["x"] + facet["width"] + 0.5, (since, until, a)
                for b in boxes[i + 1 :]:
                    apart = a["r"] <= b["l"] or b["r"] <= a["l"] or a["b"] <= b["t"] or b["b"] <= a["t"]
                    assert apart, (since, until, width, a, b)
        page.screenshot(path=artifacts_dir / f"histogram-{width}.png")
    finally:
        context.close()
