"""Hostile input: generated queries and parameters never crash the Engine, the CLI or the web app, and every
answer cut by the time budget says so."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsearch.budget import Budget
from newsearch.cli import cli
from newsearch.errors import BudgetExceededError, QueryError
from newsearch.indexer import Indexer
from newsearch.query import plan_query
from newsearch.search import SearchRequest
from newsearch.store import IndexStore
from newsearch.web import create_app

# Pieces of the query language, right and wrong, and the punctuation people paste.
WORDS = ["retraites", "OTAN", "NATO", "santé", "Koursk", "réforme", "l’État", "Nord-Coréens", "soldats", "inflaton",
         "le", "des", "2023", "c++", "49.3", "PS"]  # fmt: skip
SYNTAX = ["AND", "OR", "NOT", "ET", "OU", "SAUF", "title:", "titre:", "tag:", "foo:", "texte:", '"', "«", "»", "“",
          "”", "(", ")", "-", "+", "~", "~2", "*", "?", "[", "]", "{", "}", "^", ":", "’", "'", "…", "!", "TO",
          "depuis 2023", "en mars 2019", "l'an dernier", "\x00", "\u200b", "\ufeff"]  # fmt: skip
PUNCTUATION = "«»“”„‟\"'’‘()[]{}<>~*?^:;,.!…-–—+=/\\|&%$#@`\u00a0\u200b"

grammar_queries = st.lists(st.sampled_from(WORDS + SYNTAX), max_size=12).flatmap(
    lambda pieces: st.lists(st.sampled_from(["", " ", "  "]), min_size=len(pieces), max_size=len(pieces)).map(
        lambda gaps: "".join(p + g for p, g in zip(pieces, gaps, strict=True))
    )
)
unicode_queries = st.text(max_size=60)
punctuation_queries = st.text(alphabet=st.sampled_from(PUNCTUATION + "ab é"), max_size=40)
any_query = st.one_of(grammar_queries, unicode_queries, punctuation_queries)
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class StepClock:
    """A clock that moves one second each time it is read: a budget of k seconds lasts k readings."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


@pytest.fixture(scope="module")
def app(sample_index):
    return create_app({"INDEX_DIR": sample_index})


# --- the Engine ------------------------------------------------------------------------------------


@FUZZ
@given(q=any_query)
def test_any_query_is_an_answer_or_a_query_error(engine, q):
    try:
        results = engine.search(SearchRequest(q=q))
    except QueryError as exc:
        assert str(exc) and len(str(exc)) < 300  # a short message, whatever the query
        return
    assert results.total >= len(results.hits)
    assert results.plan["read_as"] is not None


@FUZZ
@given(q=grammar_queries)
def test_every_plan_reads_back_as_itself(q):
    try:
        plan = plan_query(q)
    except QueryError:
        return
    # Reading what the plan says it read changes nothing: repairs are done once, in the plan.
    again = plan_query(plan.read_as)
    assert again.read_as == plan.read_as
    assert again.notes == [] or plan.notes


@FUZZ
@given(q=grammar_queries, readings=st.integers(min_value=0, max_value=40))
def test_an_answer_cut_by_the_budget_is_flagged_partial_and_right_where_it_is_complete(engine, q, readings):
    try:
        full = engine.search(SearchRequest(q=q))
    except QueryError:
        return
    try:
        cut = engine.search(SearchRequest(q=q), budget=Budget(readings, clock=StepClock()))
    except BudgetExceededError as exc:
        assert exc.status == 503 and exc.retry_after >= 1  # nothing to show: retry later
        return
    # Matching is never cut: what was counted is the whole count.
    assert cut.total == full.total
    assert cut.partial == bool(cut.cut)
    if not cut.partial:
        assert cut.to_dict() == full.to_dict()
        return
    assert set(cut.cut) <= {"rerank", "snippets", "suggestion", "facets"}
    # What was cut is missing, never wrong: each part is the complete answer's or empty.
    if "rerank" not in cut.cut:
        assert [h["id"] for h in cut.hits] == [h["id"] for h in full.hits]
    full_snippets = {h["id"]: h["snippet"] for h in full.hits}
    # (with the rerank cut, the page may hold hits the complete answer ranks further down: not compared)
    assert all(h["snippet"] in (full_snippets[h["id"]], "") for h in cut.hits if h["id"] in full_snippets)
    assert all(values in (full.facets[key], []) for key, values in cut.facets.items())
    assert cut.suggestion in (full.suggestion, None)


def test_a_budget_spent_before_matching_is_a_503_and_after_it_a_partial_answer(engine):
    with pytest.raises(BudgetExceededError, match="temps imparti"):
        engine.search(SearchRequest(q="santé"), budget=Budget(0, clock=StepClock()))
    browse = engine.search(SearchRequest(q=""), budget=Budget(0, clock=StepClock()))
    assert browse.partial and browse.total == engine.search(SearchRequest(q="")).total
    assert set(browse.cut) == {"snippets", "facets"}
    assert all(values == [] for values in browse.facets.values())


def test_optional_stages_are_cut_before_the_hits_and_their_snippets(engine):
    # A budget of 100 readings, 80 already spent: under the 25 % kept in reserve, the optional stages stop.
    clock = StepClock()
    budget = Budget(100, clock=clock)
    clock.now += 80
    results = engine.search(SearchRequest(q="soldats"), budget=budget)
    assert results.partial and "facets" in results.cut and "snippets" not in results.cut
    assert all(h["snippet"] for h in results.hits)


def test_without_a_time_limit_nothing_is_ever_cut():
    budget = Budget(None)
    assert not budget.expired() and budget.allows("facets", optional=True) and budget.cut == []


@pytest.mark.parametrize(
    "kwargs, message",
    [({"tags": ["x"] * 700}, "trop de filtres tag"), ({"persons": ["x"] * 21}, "trop de filtres personne"),
     ({"section": "x" * 5000}, "valeur de filtre trop longue"), ({"since": "9" * 5000}, "date invalide")],
)  # fmt: skip
def test_repeated_or_huge_filters_are_refused_before_any_work_without_being_echoed(engine, kwargs, message):
    with pytest.raises(QueryError, match=message) as caught:
        engine.search(SearchRequest(q="santé", **kwargs))
    assert len(str(caught.value)) < 120


# --- the CLI ---------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=any_query)
def test_the_cli_answers_any_query_with_a_documented_exit_code_and_no_traceback(sample_index, q):
    if q.startswith("-"):
        q = " " + q  # an option to click, not a query
    result = CliRunner().invoke(cli, ["query", q, "--json", "--index", str(sample_index)])
    assert result.exit_code in (0, 1, 2), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    if result.exit_code == 2:
        assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("Error: ")
    else:
        assert "hits" in json.loads(result.output)


# --- the web app -----------------------------------------------------------------------------------


@FUZZ
@given(q=any_query, path=st.sampled_from(["/", "/api/search"]))
def test_the_web_app_never_answers_5xx_to_a_query(app, q, path):
    response = app.test_client().get(path, query_string={"q": q})
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:300]
    if path == "/api/search":
        body = response.get_json()
        assert set(body) >= ({"hits", "partial", "plan"} if response.status_code == 200 else {"error", "status"})


parameter_values = st.one_of(st.text(max_size=30), st.text(alphabet=st.sampled_from(PUNCTUATION + "09-"), max_size=12))


@FUZZ
@given(
    name=st.sampled_from(["tag", "since", "until", "sort", "page", "limit", "section", "personne", "lieu",
                          "organisation", "cluster", "collapse"]),
    values=st.lists(parameter_values, min_size=1, max_size=3),
)  # fmt: skip
def test_the_web_app_never_answers_5xx_to_any_parameter(app, name, values):
    client = app.test_client()
    for path in ("/", "/api/search"):
        response = client.get(path, query_string=[("q", "santé")] + [(name, v) for v in values])
        assert response.status_code in (200, 400), (name, values, response.get_data(as_text=True)[:300])


@FUZZ
@given(article_id=st.text(min_size=1, max_size=40))
def test_any_article_id_is_an_article_or_a_404(app, article_id):
    response = app.test_client().get("/api/article/" + quote(article_id, safe=""))
    assert response.status_code in (200, 404), response.get_data(as_text=True)[:300]


def test_a_search_with_no_time_left_is_a_503_with_retry_after_and_a_french_page(sample_index):
    client = create_app({"INDEX_DIR": sample_index, "SEARCH_TIME_LIMIT": 1e-9}).test_client()
    api = client.get("/api/search?q=santé")
    assert api.status_code == 503 and int(api.headers["Retry-After"]) >= 1
    assert api.get_json()["status"] == 503 and api.get_json()["code"] == "timed_out"
    assert "time budget" in api.get_json()["error"]
    page = client.get("/?q=santé")
    assert page.status_code == 503 and "Service momentanément surchargé" in page.get_data(as_text=True)
    browse = client.get("/api/search").get_json()  # browsing needs no matching: it answers, flagged
    assert browse["partial"] is True and "facets" in browse["cut"]
    assert "Résultats partiels" in client.get("/").get_data(as_text=True)


def test_the_page_says_how_it_read_a_malformed_query(app):
    page = app.test_client().get("/", query_string={"q": "retraites AND"}).get_data(as_text=True)
    assert "Requête lue comme : retraites" in page
    assert "« AND » n’a pas de mot de chaque côté : ignoré." in page


def test_700_tags_are_a_short_400_not_a_huge_page(app):
    response = app.test_client().get("/", query_string=[("q", "santé")] + [("tag", f"t{i}") for i in range(700)])
    assert response.status_code == 400 and len(response.get_data()) < 30_000
    assert "trop de filtres tag" in response.get_data(as_text=True)


def test_a_huge_article_id_is_a_404_that_does_not_echo_it(app):
    response = app.test_client().get("/api/article/" + "x" * 200_000)
    assert response.status_code == 404 and len(response.get_data()) < 1_000


ODD_IDS = ["//evil.example", "a/../b", "x?y#z", "sp ace", "é/à", "100%", "trailing/"]


def test_every_article_id_links_to_its_article(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    records = [
        {"id": i, "title": f"Licorne numéro {n}", "body": "Une licorne au jardin."} for n, i in enumerate(ODD_IDS)
    ]
    (folder / "odd.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
    Indexer(IndexStore(tmp_path / "ix")).run([folder])
    client = create_app({"INDEX_DIR": tmp_path / "ix"}).test_client()
    page = client.get("/?q=licorne").get_data(as_text=True)
    links = sorted(set(part.split('"')[0] for part in page.split('href="/article/')[1:]))
    assert len(links) == len(ODD_IDS)
    for link in links:
        assert "/" not in link  # encoded whole: no browser or proxy rewrites the path
        article = client.get("/api/article/" + link)
        assert article.status_code == 200 and article.get_json()["id"] in ODD_IDS
        assert client.get("/article/" + link).status_code == 200


def test_a_pasted_passage_is_a_plan_of_bounded_size(app):
    passage = " ".join(["la réforme des retraites passe au Sénat"] * 45)[:2000]
    body = app.test_client().get("/api/search", query_string={"q": passage}).get_json()
    assert body["plan"]["passage"] is True
    assert len(body["plan"]["tokens"]) == 64  # the rest of its 280 words is not listed again


def test_a_passage_loses_its_second_stage_first_when_time_runs_short(engine):
    passage = engine.article("cdc-2023-0316")["body"].split("\n\n")[1]
    full = engine.search(SearchRequest(q=passage))
    clock = StepClock()
    budget = Budget(1000, clock=clock)
    clock.now = 1000 * 0.75 - 5  # a few readings before the reserve: matching ends, the re-ranking does not
    cut = engine.search(SearchRequest(q=passage), budget=budget)
    assert cut.partial and "rerank" in cut.cut and "snippets" not in cut.cut
    assert cut.total == full.total and all(h["snippet"] for h in cut.hits)


@pytest.mark.parametrize(
    "q, read_as",
    [("a~b~", "a b"), ("foo:bar~", "foo bar"), ("x~", "x~1"), (".~ retraites", "retraites"), ("foo:AND", "foo and"),
     ("foo:-x", "foo x"), ("-koursk~", "-koursk~1"), ("titre: «réforme", 'title:"réforme"')],
)  # fmt: skip
def test_whooshs_own_syntax_inside_words_is_read_as_separate_words(q, read_as):
    assert plan_query(q).read_as == read_as
