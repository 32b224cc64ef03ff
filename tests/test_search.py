"""Searching the sample index: query language, filters, facets, snippets, paging."""

from __future__ import annotations

import math

import pytest

from newsearch.errors import NotFoundError, QueryError
from newsearch.query import is_long_query, normalize_query
from newsearch.search import Engine, SearchRequest
from newsearch.snippets import make_snippet


def ids(engine, q, **kwargs):
    kwargs.setdefault("collapse", False)
    return [h["id"] for h in engine.search(SearchRequest(q=q, limit=100, **kwargs)).hits]


def titles(engine, q, **kwargs):
    kwargs.setdefault("collapse", False)
    return [h["title"] for h in engine.search(SearchRequest(q=q, limit=100, **kwargs)).hits]


def test_words_all_must_match_in_short_queries(engine):
    both = set(ids(engine, "soldats Koursk"))
    assert both and both <= set(ids(engine, "soldats")) & set(ids(engine, "Koursk"))
    assert ids(engine, "soldats zzzinconnu") == []


def test_queries_without_accents_find_accented_text(engine):
    assert set(ids(engine, "universite etudiants")) == set(ids(engine, "Université étudiants"))
    # "nord-coréens" in the text, found by the plural without accent as by the word as written
    assert ids(engine, "coreens") == ids(engine, "coréens") != []


def test_hyphenated_name_matches_as_phrase_and_as_parts(engine):
    phrase = set(ids(engine, "Nord-Coréens"))
    assert "glb-2024-1105" in phrase  # "soldats nord-coréens" in its title
    assert phrase <= set(ids(engine, "nord coréens"))
    assert phrase == set(ids(engine, '"nord coréens"'))


def test_phrases_with_french_quotes_and_stop_words(engine):
    quoted = ids(engine, "« réforme des retraites »")
    assert quoted == ids(engine, '"réforme des retraites"') == ids(engine, "“réforme des retraites”")
    assert len(quoted) >= 2
    for article_id in quoted:
        article = engine.article(article_id)
        assert "réforme des retraites" in (article["title"] + " " + article["body"]).lower()
    assert set(quoted) <= set(ids(engine, "réforme retraites"))


def test_or_not_and_minus(engine):
    otan, nato = set(ids(engine, "OTAN")), set(ids(engine, "NATO"))
    assert otan and nato
    assert set(ids(engine, "OTAN OR NATO")) == otan | nato
    assert set(ids(engine, "OTAN OU NATO")) == otan | nato
    assert set(ids(engine, "OTAN -Koursk")) == otan - set(ids(engine, "Koursk"))
    assert set(ids(engine, "OTAN NOT Koursk")) == set(ids(engine, "OTAN -Koursk"))


def test_field_queries(engine):
    in_titles = engine.search(SearchRequest(q="title:retraites", limit=100)).hits
    assert in_titles and all("retraite" in h["title"].lower() for h in in_titles)
    sante = engine.search(SearchRequest(q="tag:santé", limit=100)).hits
    assert sante and all("sante" in {t.lower().replace("é", "e") for t in h["tags"]} for h in sante)


def test_long_pasted_paragraph_still_ranks(engine):
    article = engine.article("cdc-2023-0316")
    paragraph = article["body"].split("\n\n")[1]
    assert is_long_query(paragraph)
    assert ids(engine, paragraph)[0] == "cdc-2023-0316"


def test_tag_filters_are_anded_and_folded(engine):
    sante = set(ids(engine, "", tags=["Santé"]))
    assert sante == set(ids(engine, "", tags=["sante"])) == set(ids(engine, "", tags=["SANTE"]))
    both = set(ids(engine, "", tags=["Santé", "Hôpital"]))
    assert both and both < sante


def test_date_filters_and_sort_by_date(engine):
    hits = engine.search(SearchRequest(q="", since="2023", until="2023-12", sort="date", limit=100)).hits
    assert hits and all(h["date"].startswith("2023") for h in hits)
    dates = [h["date"][:10] for h in hits]
    assert dates == sorted(dates, reverse=True)
    march = engine.search(SearchRequest(q="", since="2023-03-07", until="2023-03-07", limit=100)).hits
    assert [h["date"][:10] for h in march] == ["2023-03-07"] * len(march) and march


def test_facets_count_all_matches_not_just_the_page(engine):
    full = engine.search(SearchRequest(q="", limit=100, collapse=False))
    page = engine.search(SearchRequest(q="", limit=2))
    assert page.facets == full.facets
    assert page.total_with_copies == full.total == len(full.hits)
    counted = {}
    for hit in full.hits:
        for tag in {t.lower().replace("é", "e").replace("è", "e").replace("ô", "o") for t in hit["tags"]}:
            counted[tag] = counted.get(tag, 0) + 1
    facet = {f["value"]: f["count"] for f in full.facets["tags"]}
    assert facet["sante"] == counted["sante"]
    assert sum(b["count"] for b in full.facets["date"]) == sum(1 for h in full.hits if h["date"])


def test_tag_facet_label_is_the_most_frequent_spelling(engine):
    labels = {f["value"]: f["label"] for f in engine.search(SearchRequest(q="")).facets["tags"]}
    assert labels["sante"] in {"Santé", "santé", "Sante", "SANTÉ"}
    spellings = [t for h in engine.search(SearchRequest(q="", limit=100, collapse=False)).hits for t in h["tags"]]
    forms = [t for t in spellings if t.lower().replace("é", "e") == "sante"]
    assert forms.count(labels["sante"]) == max(forms.count(f) for f in set(forms))


def test_paging(engine):
    everything = ids(engine, "")
    page2 = engine.search(SearchRequest(q="", limit=5, page=2, collapse=False))
    assert [h["id"] for h in page2.hits] == everything[5:10]
    assert page2.page == 2 and page2.pages == -(-len(everything) // 5)


def test_snippet_marks_matches_around_the_densest_window():
    text = "Un début sans rapport. " * 20 + "Les soldats nord-coréens sont arrivés à Koursk. La suite."
    snippet = make_snippet(text, {"soldat", "coreen", "kim"}, words=8)
    assert snippet.startswith("… ")
    assert "**soldats** **nord-coréens**" in snippet


def test_snippet_window_is_the_one_comparing_every_pair_of_hits_would_choose():
    import random

    from newsearch.snippets import _best_window

    def pairwise(spans, hits, terms, words):  # the first implementation: every window against every hit
        best, best_key = hits[0], (-1, -1)
        for start in hits:
            window = [i for i in hits if start <= i < start + words]
            key = (len({f for i in window for f in spans[i][2] if f in terms}), len(window))
            if key > best_key:
                best, best_key = start, key
        return best

    rng = random.Random(7)
    forms = ["greve", "retraite", "soldat", "coreen", "nordcoreen", "gard", "prix", "village"]
    tried = 0
    for _ in range(500):
        spans = [(0, 0, rng.sample(forms, rng.choice([0, 0, 1, 1, 2]))) for _ in range(rng.randint(1, 150))]
        terms = set(rng.sample(forms, rng.randint(1, 4)))
        hits = [i for i, span in enumerate(spans) if terms.intersection(span[2])]
        matches = {i: [f for f in spans[i][2] if f in terms] for i in hits}
        if hits:
            words = rng.choice([2, 4, 8, 32])
            assert _best_window(matches, hits, words) == pairwise(spans, hits, terms, words)
            tried += 1
    assert tried > 400


def test_snippet_without_match_is_the_opening():
    assert make_snippet("Premier mot, puis la suite du texte.", {"absent"}, words=3) == "Premier mot, puis …"


def test_did_you_mean_for_a_typo(engine):
    results = engine.search(SearchRequest(q="inflatoin"))
    assert results.total == 0
    assert results.suggestion
    assert engine.search(SearchRequest(q=results.suggestion)).total > 0


def test_did_you_mean_when_a_rare_typo_finds_a_few_articles(index_from_records):
    records = [
        {"id": f"i{i}", "title": f"L'inflation ralentit, mois {i}", "body": "Les prix de l'inflation."}
        for i in range(25)
    ]
    records.append({"id": "typo", "title": "Budget", "body": "Une coquille : l'inflaton des loyers."})
    records.append({"id": "rare", "title": "Ornithologie", "body": "Un ornithorynque au zoo."})
    engine = Engine(index_from_records(records))
    few = engine.search(SearchRequest(q="inflaton loyers"))
    assert few.total == 1 and few.suggestion == "inflation loyers"
    # The word is looked up without its elided article, which the suggestion keeps.
    assert engine.search(SearchRequest(q="l'inflaton loyers")).suggestion == "l'inflation loyers"
    assert engine.search(SearchRequest(q="ornithorynque")).suggestion is None  # rare, but no frequent neighbour
    assert engine.search(SearchRequest(q="inflation")).suggestion is None  # many hits: nothing to correct


@pytest.mark.parametrize(
    "q, message",
    [
        ("le la les", "aucun mot cherchable"),
        ("»", "aucun mot cherchable"),
        ("title:", "aucun mot cherchable"),
        ("NOT Macron", "au moins un mot à trouver"),
        ("(" * 50 + "a" + ")" * 50, "trop imbriquée"),
        ("x" * 200, "mot trop long"),
        ("a " * 1500, "requête trop longue"),
        (" OR ".join(f"mot{i}" for i in range(80)), "trop coûteuse : 80 mots"),
        (" ".join(f"mot{i}~" for i in range(5)) + " OR x", "mots approchés"),
    ],
)
def test_malformed_or_costly_queries_are_clear_errors(engine, q, message):
    with pytest.raises(QueryError, match=message):
        engine.search(SearchRequest(q=q))


@pytest.mark.parametrize(
    "q, read_as, note",
    [
        ('"réforme des', '"réforme des"', "Guillemet non fermé"),
        ("retraites AND", "retraites", "« AND » n’a pas de mot"),
        ("retraites OU", "retraites", "« OR » n’a pas de mot"),
        ("NOT", None, None),
        ("foo:retraites", "foo retraites", "« foo: » n’est pas un champ connu"),
        ("retraites title:", "retraites", "« titre: » n’est suivi d’aucun mot"),
        ("(réforme OR retraites", "( réforme OR retraites )", "Parenthèse non fermée"),
        ("retraites )", "retraites", "Parenthèse fermante sans ouvrante"),
        ("retraites [~", "retraites", "« [~ » ne contient aucun mot"),
        ("inflaton~9", "inflaton~2", "au plus 2 lettre(s)"),
    ],
)
def test_malformed_operators_are_read_as_a_person_meant_them(engine, q, read_as, note):
    if read_as is None:
        with pytest.raises(QueryError, match="aucun mot cherchable"):
            engine.search(SearchRequest(q=q))
        return
    results = engine.search(SearchRequest(q=q, synonyms=False))
    assert results.plan["read_as"] == read_as
    assert any(n.startswith(note) or note in n for n in results.plan["notes"]), results.plan["notes"]
    assert results.total == engine.search(SearchRequest(q=read_as, synonyms=False)).total


def test_malformed_queries_find_what_their_words_find(engine):
    assert ids(engine, "retraites AND") == ids(engine, "retraites") != []
    assert ids(engine, "foo:retraites") == ids(engine, "foo retraites")
    assert ids(engine, '"réforme des retraites') == ids(engine, '"réforme des retraites"') != []


@pytest.mark.parametrize(
    "kwargs, code",
    [({"since": "2023-13"}, "bad_date"), ({"since": "hier"}, "bad_date"), ({"sort": "x"}, "bad_sort"),
     ({"since": "2024", "until": "2023"}, "since_after_until"), ({"limit": 0}, "bad_limit"), ({"page": 0}, "bad_page")],
)  # fmt: skip
def test_bad_filters(engine, kwargs, code):
    with pytest.raises(QueryError) as caught:
        engine.search(SearchRequest(q="", **kwargs))
    assert caught.value.code == code


def test_article_lookup_is_by_id_only(engine):
    article = engine.article("cdc-2023-0316")
    assert "49.3" in article["title"]
    with pytest.raises(NotFoundError):
        engine.article("../../etc/passwd")
    source_record = next(iter(engine.refresh()[0].documents(kind="source")))["id"]
    with pytest.raises(NotFoundError):
        engine.article(source_record)


def test_related_articles_are_other_articles_on_the_topic(engine):
    # An SNCF strike dispatch, published three times in the sample (tests/test_dedup.py RAIL).
    related = engine.related("agd-2023-1012-0142")
    assert len(related) == 5
    assert not {r["id"] for r in related} & {"agd-2023-1012-0142", "url-369e2cd7c40a2302", "url-794899d950030812"}
    assert "Grève" in related[0]["title"]  # the closest is the other strike


def test_normalize_query_typography():
    assert normalize_query("« la  réforme »  l’État") == '" la réforme " l\'État'
    assert normalize_query("un “guillemet orphelin") == 'un "guillemet orphelin'  # the plan reads it to the end


def test_stats(engine):
    stats = engine.stats()
    assert stats["documents"] == 49
    assert stats["date_min"] == "2021-03-15" and stats["date_max"] == "2026-03-04"
    assert stats["undated"] == 1


def test_sections_are_keyed_like_tags(engine):
    sections = engine.search(SearchRequest(q="")).facets["section"]
    keys = [s["value"] for s in sections]
    assert len(keys) == len(set(keys))
    assert "sante" in keys  # written "sante" and "Santé" in the sample corpus
    by_key = set(ids(engine, "", section="sante"))
    assert by_key == set(ids(engine, "", section="Santé")) and by_key
    count = next(s["count"] for s in sections if s["value"] == "sante")
    assert count == len(by_key)


@pytest.mark.parametrize(
    "q, words, since, until",
    [("grève depuis 2023", "grève", "2023", None), ("retraites en mars 2023", "retraites", "2023-03-01", "2023-03-31"),
     ("OTAN avant 2025", "OTAN", None, "2024-12-31")],
)  # fmt: skip
def test_french_date_phrases_in_queries_become_filters(engine, q, words, since, until):
    results = engine.search(SearchRequest(q=q, limit=100, collapse=False))
    assert results.filters["date_phrase"]
    assert [h["id"] for h in results.hits] == ids(engine, words, since=since, until=until, read_dates=False)
    assert results.total > 0


def test_date_phrase_alone_browses_the_period(engine):
    results = engine.search(SearchRequest(q="depuis janvier 2025", limit=100))
    assert results.total == len(ids(engine, "", since="2025-01"))
    assert all(h["date"] >= "2025-01" for h in results.hits)


def test_passages_keep_their_dates_as_words(engine):
    passage = "Le gouvernement a annoncé en 2023 une réforme des retraites très contestée par les syndicats"
    assert engine.search(SearchRequest(q=passage)).filters["date_phrase"] is None


def test_synonyms_and_acronyms_expand_short_queries(engine):
    otan = engine.search(SearchRequest(q="OTAN", limit=100))
    plain = set(ids(engine, "OTAN", synonyms=False)) | set(ids(engine, "NATO", synonyms=False))
    assert {h["id"] for h in otan.hits} == plain
    assert any("NATO" in group for group in otan.filters["synonyms"])
    assert set(ids(engine, "PS")) >= set(ids(engine, '"Parti socialiste"', synonyms=False))
    assert engine.search(SearchRequest(q="chevaux")).filters["synonyms"] == []


GARD_STORY = {"2021-09-15-pluies-diluviennes-gard-communes-sinistrees.txt", "2021-09-16-crues-gard-familles-evacuees-recherches.txt",
              "gard-crue-gardon-villages-sous-la-boue.html"}  # fmt: skip


def test_wire_copies_show_once_with_their_number_of_reprises(engine):
    searcher = engine.refresh()[0]
    story = {searcher.document(path=p)["id"] for p in {str(h) for h in _story_paths()}}
    assert len(story) == 3
    collapsed = engine.search(SearchRequest(q="crue Gard", limit=100))
    shown = [h for h in collapsed.hits if h["id"] in story]
    assert len(shown) == 1
    assert shown[0]["cluster"]["reprises"] == 2
    copies = engine.search(SearchRequest(q="", cluster=shown[0]["cluster"]["id"], limit=100))
    assert {h["id"] for h in copies.hits} == story
    assert set(ids(engine, "crue Gard")) >= story  # without collapsing, every copy is a hit


def test_counts_and_pages_describe_the_grouped_list_and_say_how_many_copies_it_hides(engine):
    grouped = engine.search(SearchRequest(q="crue Gard", limit=100))
    every = engine.search(SearchRequest(q="crue Gard", limit=100, collapse=False))
    hidden = sum(h["cluster"]["reprises"] for h in grouped.hits if h["cluster"])
    assert hidden == 2
    assert grouped.total == len(grouped.hits) == every.total - hidden
    assert grouped.to_dict()["total_with_copies"] == every.total == len(every.hits)
    assert every.to_dict()["total_with_copies"] == every.total


def test_every_page_of_a_grouped_list_is_full_and_the_last_one_is_counted(engine):
    everything = engine.search(SearchRequest(q="", limit=100))
    assert everything.total == len(everything.hits) == 49 - 4  # two stories of three articles each
    pages = [engine.search(SearchRequest(q="", limit=10, page=n)) for n in range(1, 6)]
    assert [r.pages for r in pages] == [5] * 5
    assert [len(r.hits) for r in pages] == [10, 10, 10, 10, 5]
    assert [h["id"] for r in pages for h in r.hits] == [h["id"] for h in everything.hits]


def test_unrelated_articles_are_not_clustered(engine):
    hits = engine.search(SearchRequest(q="", limit=100)).hits
    clustered = [h for h in hits if h["cluster"]]
    assert len(clustered) == 2  # the Gard flood and the rail strike dispatches, nothing else


def _story_paths():
    from conftest import EXAMPLES

    return [p for p in EXAMPLES.rglob("*") if p.name in GARD_STORY]


@pytest.fixture(scope="module")
def paris_engine(index_from_records):
    records = [
        {"id": "bets", "title": "Les paris en ligne séduisent", "date": "2024-01-02",
         "body": "Les paris sportifs et les paris hippiques attirent des joueurs. Les paris montent, les paris aussi."},
        {"id": "city", "title": "Une journée ordinaire", "date": "2024-01-03",
         "body": "Le conseil municipal de Paris a voté le budget de la ville."},
        {"id": "apart", "title": "Réforme votée", "date": "2024-01-04",
         "body": "La réforme fiscale est votée. Les retraites des agents, elles, attendront un autre texte."},
        {"id": "together", "title": "Un texte attendu", "date": "2024-01-05",
         "body": "La réforme des retraites arrive au Sénat."},
    ]  # fmt: skip
    return Engine(index_from_records(records))


def test_exact_form_is_preferred_for_keyword_queries(paris_engine):
    assert ids(paris_engine, "Paris")[0] == "city"  # the city, not the bets, though "paris" is more frequent there
    assert ids(paris_engine, "paris")[0] == "bets"


def test_words_together_in_order_rank_first(paris_engine):
    assert ids(paris_engine, "réforme retraites")[0] == "together"


def test_recent_sort_blends_relevance_with_freshness(engine):
    relevance = engine.search(SearchRequest(q="grève", limit=100, collapse=False)).hits
    recent = engine.search(SearchRequest(q="grève", sort="recent", limit=100, collapse=False)).hits
    assert {h["id"] for h in recent} == {h["id"] for h in relevance}
    # Each score is at most the relevance score and at least half of it, and they come in score order.
    base = {h["id"]: h["score"] for h in relevance}
    for hit in recent:
        assert base[hit["id"]] * 0.5 - 1e-3 <= hit["score"] <= base[hit["id"]] + 1e-3
    assert [h["score"] for h in recent] == sorted((h["score"] for h in recent), reverse=True)
    from datetime import date

    newest = date.fromisoformat(engine.stats()["date_max"])
    for hit in recent:
        age = (newest - date.fromisoformat(hit["date"][:10])).days
        assert hit["score"] == pytest.approx(base[hit["id"]] * (0.5 + 0.5 * 2 ** (-age / 90)), abs=2e-3)


def test_entity_facets_merge_aliases_and_filter(engine):
    results = engine.search(SearchRequest(q="", limit=100, collapse=False))
    people = {f["value"]: f["count"] for f in results.facets["personnes"]}
    assert "Emmanuel Macron" in people and "Macron" not in people  # "Macron" alone is the same man
    macron = ids(engine, "", persons=["Emmanuel Macron"])
    assert len(macron) == people["Emmanuel Macron"]
    assert set(macron) >= set(ids(engine, "Macron"))
    places = {f["value"] for f in results.facets["lieux"]}
    orgs = {f["value"] for f in results.facets["organisations"]}
    assert {"Paris", "Gard"} <= places and {"OTAN", "SNCF"} <= orgs
    both = ids(engine, "", places=["Paris"], orgs=["SNCF"])
    assert both and set(both) <= set(ids(engine, "", places=["Paris"])) & set(ids(engine, "", orgs=["SNCF"]))
    assert engine.article(macron[0])["entities"]["personnes"]


PASSAGE = "la hausse des prix de l'énergie pèse sur les budgets des collectivités locales cet hiver"
FILLER = " ".join(f"mot{i}" for i in range(80)) + "."


def test_passages_prefer_the_article_whose_title_they_contain(index_from_records):
    body = "Les élus s'inquiètent : la hausse des prix de l'énergie pèse sur les budgets locaux."
    # The same body: only the titles differ.
    engine = Engine(index_from_records([
        {"id": "other-title", "title": "Collectivités : le point hebdomadaire", "body": body},
        {"id": "title-in-passage", "title": "Hausse des prix de l'énergie", "body": body},
    ]))  # fmt: skip
    assert is_long_query(PASSAGE)
    assert ids(engine, PASSAGE)[0] == "title-in-passage"


def test_passages_prefer_the_article_that_leads_with_their_words(index_from_records):
    words = "La hausse des prix de l'énergie pèse sur les budgets des collectivités locales."
    # Same words, same length; the article indexed first has them at the end, past its lead.
    engine = Engine(index_from_records([
        {"id": "words-at-the-end", "title": "Chronique", "body": f"{FILLER} {words}"},
        {"id": "words-in-the-lead", "title": "Chronique", "body": f"{words} {FILLER}"},
    ]))  # fmt: skip
    assert ids(engine, PASSAGE)[0] == "words-in-the-lead"


def test_passages_prefer_the_article_published_on_the_day_they_name(index_from_records):
    from newsearch.tuning import Tuning

    body = "Les élus s'inquiètent : la hausse des prix de l'énergie pèse sur les budgets locaux."
    # One story told four times; the one of Saturday 21 March tells it in fewer words, which ranks it first.
    index_dir = index_from_records([
        {"id": "saturday", "title": "Chronique", "body": body.split(" : ")[1].capitalize(), "date": "2020-03-21T10:00:00+01:00"},
        {"id": "monday", "title": "Chronique", "body": body, "date": "2020-03-23T10:00:00+01:00"},
        {"id": "wednesday", "title": "Chronique", "body": body, "date": "2020-03-25T10:00:00+01:00"},
        {"id": "next-monday", "title": "Chronique", "body": body, "date": "2020-03-30T10:00:00+02:00"},
    ])  # fmt: skip
    engine = Engine(index_dir)
    assert ids(engine, PASSAGE)[0] == "saturday"
    # Both Mondays tie: which of the two comes first is not the bonus's to say.
    assert set(ids(engine, PASSAGE + " lundi")[:2]) == {"monday", "next-monday"}
    assert ids(engine, PASSAGE + " ce lundi 23 mars")[0] == "monday"
    # A report of the next day gains too: Tuesday 24 March is the Wednesday's eve.
    assert ids(engine, PASSAGE + " mardi 24 mars")[0] == "wednesday"
    unanchored = Engine(index_dir, tuning=Tuning(passage_weekday_bonus=(), passage_date_bonus=()))
    assert ids(unanchored, PASSAGE + " ce lundi 23 mars")[0] == "saturday"


def test_the_day_bonus_adds_the_weekday_and_the_calendar_day_and_spares_undated_articles():
    from datetime import date

    from newsearch.querydates import passage_anchors
    from newsearch.rerank import anchor_bonus
    from newsearch.tuning import Tuning

    anchors = passage_anchors("ce lundi 23 mars")
    tuning = Tuning(passage_weekday_bonus=(0.2, 0.1), passage_date_bonus=(0.4, 0.2))
    day = date(2020, 3, 23).toordinal()
    # The Monday itself, the Tuesday, the Wednesday, the Sunday before, an undated article.
    bonuses = [anchor_bonus(anchors, d, tuning) for d in (day, day + 1, day + 2, day - 1, 0)]
    assert bonuses == pytest.approx([0.6, 0.3, 0, 0.2, 0])


def test_passages_are_matched_by_their_rarest_words(index_from_records):
    from newsearch.tuning import Tuning

    common = "Le gouvernement annonce un plan pour la région."
    records = [{"id": f"c{n}", "title": "Plan", "body": common} for n in range(5)]
    index_dir = index_from_records(
        records + [{"id": "rare", "title": "Zoo", "body": "Un ornithorynque arrive au zoo."}]
    )
    passage = "le gouvernement annonce un plan pour la région cette semaine et un ornithorynque arrive au zoo"
    assert Engine(index_dir).search(SearchRequest(q=passage, collapse=False)).total == 6
    # Only the two rarest words match: the articles holding nothing else are no longer counted.
    results = Engine(index_dir, tuning=Tuning(passage_match_terms=2)).search(SearchRequest(q=passage))
    assert (results.total, [h["id"] for h in results.hits]) == (1, ["rare"])


def test_passage_scores_weigh_title_words_and_saturate_repeats(index_from_records):
    from newsearch import rerank

    engine = Engine(index_from_records([{"id": "a", "title": "Énergie", "body": "Prix."}]))
    searcher, _ = engine.refresh()
    scorer = rerank.PassageScorer(searcher, "énergie prix")
    terms = rerank.article_terms
    # Same lengths, the word moved from the title to the body.
    in_title = scorer.score(*terms("Énergie", "Prix. Climat."))
    in_body = scorer.score(*terms("Climat", "Prix. Énergie."))
    assert in_title > in_body > 0
    # Frequency saturates (BM25): ten times the word is far from ten times the score.
    assert scorer.score(*terms("Chronique", "Prix. Énergie. " * 10)) < in_body * 2
    assert scorer.title_coverage(terms("Énergie", "")[0]) == 1.0
    assert scorer.title_coverage(terms("Énergie et climat", "")[0]) == 0.5


def test_distinctiveness_counts_the_passage_words_an_article_has_and_its_rivals_lack(index_from_records):
    from newsearch import rerank

    engine = Engine(index_from_records([{"id": "a", "title": "Énergie", "body": "Prix du gaz à Lyon."}]))
    searcher, _ = engine.refresh()
    scorer = rerank.PassageScorer(searcher, "prix énergie Lyon")
    # A word counts wherever the article has it, in its title or its body.
    title, body = rerank.article_terms("Énergie", "Prix du gaz à Lyon.")
    assert scorer.match(title, body)[1] == {"energi", "pri", "lyon"}
    assert scorer.match([], body)[1] == {"pri", "lyon"} and scorer.match(title, [])[1] == {"energi"}
    # Three tellings of one story: all say "prix", one alone says "lyon".
    present = {1: {"pri", "energi"}, 2: {"pri", "energi", "lyon"}, 3: {"pri"}}
    distinct = rerank.distinctiveness(scorer, [1, 2, 3], present)
    assert distinct[2] == 1.0 and distinct[2] > distinct[1] > distinct[3] > 0
    # Once every first hit says "lyon" too, it tells no one apart: only "energi", which 3 lacks, still does.
    present[1].add("lyon"), present[3].add("lyon")
    alike = rerank.distinctiveness(scorer, [1, 2, 3], present)
    assert alike[1] == alike[2] == 1.0 and alike[3] < 0.5


def test_the_length_prior_favours_the_shorter_body_and_is_never_negative(index_from_records):
    from newsearch import rerank
    from newsearch.tuning import Tuning

    engine = Engine(index_from_records([{"id": "a", "title": "Énergie", "body": "Prix."}]))
    searcher, _ = engine.refresh()
    scorer = rerank.PassageScorer(searcher, "énergie prix")
    short, long = (rerank.article_terms("Énergie", "Prix du gaz. " * n)[1] for n in (10, 1000))
    cut = rerank.article_terms("Énergie", "Prix du gaz. " * 10_000)[1]  # past MAX_BODY_CHARS: cut
    assert scorer.length_prior(short) > scorer.length_prior(long) > scorer.length_prior(cut) >= 0
    # Doubling a body costs ln 2 times the weight, whatever its length.
    doubled = rerank.article_terms("Énergie", "Prix du gaz. " * 20)[1]
    gap = scorer.length_prior(short) - scorer.length_prior(doubled)
    assert gap == pytest.approx(0.1 * math.log((1 + 2 * len(short)) / (1 + len(short))), rel=0.01)
    off = rerank.PassageScorer(searcher, "énergie prix", tuning=Tuning(passage_length_prior=0))
    assert off.length_prior(short) == 0


@pytest.mark.parametrize(
    "title, body",
    [("Énergie", "Prix. Climat."), ("", "Le corps seul."), ("Le titre seul", ""), ("Le", "de la"),
     ("Pékin : 北京", "L'œuvre d'aujourd'hui, jusqu'à la S.N.C.F. Jean-Pierre ½ " * 3)],
)  # fmt: skip
def test_the_passage_column_holds_the_terms_the_second_stage_would_read_from_the_text(title, body):
    from newsearch import rerank

    assert rerank.unpack_terms(rerank.pack_terms(title, body)) == rerank.article_terms(title, body)


def test_the_indexers_shared_words_give_the_same_column_a_long_body_cut_included():
    from newsearch import rerank
    from newsearch.analysis import text_words

    # Over MAX_BODY_CHARS, cut in the middle of a word and past an acronym the cut text no longer holds.
    body = "Le S.N.C.F. " + "contre-enquête sur l'énergie, " * (rerank.MAX_BODY_CHARS // 30) + "fin du texte"
    assert len(body) > rerank.MAX_BODY_CHARS
    for text in (body, body[:5_000]):
        expected = (rerank.text_terms("Titre"), rerank.text_terms(text[: rerank.MAX_BODY_CHARS]))
        assert rerank.article_terms("Titre", text, text_words(text)) == expected
        assert rerank.unpack_terms(rerank.pack_terms("Titre", text, text_words(text))) == expected


def test_passage_reranking_reads_each_articles_terms_from_the_index(index_from_records):
    from newsearch import rerank
    from newsearch.schema import PASSAGE_COLUMN

    records = [{"id": "a", "title": "Énergie et climat", "body": "Les prix de l'énergie montent."},
               {"id": "b", "title": "Sport", "body": "Le match."}]  # fmt: skip
    searcher, _ = Engine(index_from_records(records)).refresh()
    column = searcher.reader().column_reader(PASSAGE_COLUMN)
    for rec in records:
        docnum = searcher.document_number(id=rec["id"])
        assert rerank.unpack_terms(column[docnum]) == rerank.article_terms(rec["title"], rec["body"])


def test_document_frequencies_are_the_readers_read_once(engine):
    from newsearch.docsets import LeafCache

    searcher, _ = engine.refresh()
    reader, leaves = searcher.reader(), LeafCache(searcher)
    pairs = [(f, t) for f in ("title", "body") for t in ("franc", "paris", "gouvernement", "absentissime")]
    want = [reader.doc_frequency(f, t) for f, t in pairs]
    assert [leaves.doc_frequency(f, t) for f, t in pairs] == want and any(want) and 0 in want
    leaves.searcher = None  # a second lookup must not need the reader
    assert [leaves.doc_frequency(f, t) for f, t in pairs] == want


@pytest.mark.parametrize("q", ["Paris OR France OR Macron OR grève OR climat OR santé", "euros", "France"])
@pytest.mark.parametrize("sort", ["relevance", "date", "recent"])
def test_total_counts_every_match_even_past_the_first_page(engine, q, sort):
    from newsearch.query import parse_query

    searcher, cache = engine.refresh()
    expected = set(searcher.docs_for_query(parse_query(q, searcher.schema))) & cache.articles
    assert len(expected) > 10  # enough for Whoosh's top-1 heap to fill and start pruning
    results = engine.search(SearchRequest(q=q, limit=1, sort=sort, collapse=False, synonyms=False))
    assert results.total == len(expected)
    assert sum(b["count"] for b in results.facets["date"]) == sum(1 for d in expected if d in cache.doc_day)


def test_words_with_inner_apostrophes_and_dotted_acronyms_are_one_word_in_every_stage(index_from_records):
    engine = Engine(index_from_records([
        {"id": "dots", "title": "La S.N.C.F. recrute", "body": "Des prud'hommes saisis par quelqu'un."},
        {"id": "plain", "title": "La SNCF recrute", "body": "Des conducteurs."},
        {"id": "split", "title": "Quelque chose", "body": "Les hommes, un prud."},
    ]))  # fmt: skip
    assert set(ids(engine, "S.N.C.F.")) == set(ids(engine, "SNCF")) == {"dots", "plain"}
    assert ids(engine, "quelqu'un") == ids(engine, "prud'hommes") == ["dots"]
    snippet = engine.search(SearchRequest(q="prud'hommes")).hits[0]["snippet"]
    assert snippet == "Des **prud'hommes** saisis par quelqu'un"


def test_elided_words_carry_no_weight_in_passage_reranking(index_from_records):
    from newsearch import rerank

    engine = Engine(index_from_records([{"id": "a", "title": "Énergie", "body": "Prix."}]))
    searcher, _ = engine.refresh()
    scorer = rerank.PassageScorer(searcher, "jusqu'à aujourd'hui, lorsqu'il pleut, quelqu'un presqu'île")
    assert scorer.words == ["aujourdhui", "pleut", "quelquun", "presquil"]


def test_elided_words_still_count_as_typed_words_for_passages():
    # Seven words besides stop words, one of them "jusqu'à": a pasted sentence, read as a passage (any word
    # may match), so that its misspelt "Pyréenées" cannot leave it without a hit.
    assert is_long_query("Les vents ont soufflé jusqu'à 207 km/heure à Iraty, dans les Pyréenées-Atlantiques.")
    assert not is_long_query("Les vents ont soufflé à 207 km/heure à Iraty, dans les Pyréenées-Atlantiques.")


def test_a_dash_before_a_word_excludes_it_in_keywords_but_is_punctuation_in_prose(index_from_records):
    from newsearch.query import plan_query

    # Keywords: the dash excludes, as typed.
    assert not is_long_query("réforme retraites gouvernement syndicats manifestation Paris -grève")
    assert plan_query("réforme retraites -grève").tokens[-1].sign == "-"
    # A pasted lead (two of the dev summaries have such dashes): read as a passage, every word counted, none
    # excluded, and a 99-word one is not refused as too many terms for a keyword query.
    lead = ("Emmenés par les députés Matthieu Orphelin -proche de Nicolas Hulot- et Paula Forteza, une soixantaine "
            "d'élus invitent à imaginer ce que nous voulons de mieux")  # fmt: skip
    assert is_long_query(lead)
    assert "proche" in plan_query(lead).match.split()
    long_lead = " ".join([lead] * 5) + " -Au cœur des rumeurs"
    engine = Engine(
        index_from_records([{"id": "a", "title": "Orphelin", "body": "Matthieu Orphelin proche de Hulot."}])
    )
    assert engine.search(SearchRequest(q=long_lead)).hits[0]["id"] == "a"


def test_related_articles_prefer_the_same_person_to_a_word_that_shares_the_names_stem(index_from_records):
    # "Castex" and "castes" have one stem (caste): the article on castes repeats it, the one on Jean Castex names
    # the same person. Names are matched as names, not as stems: the same person comes first.
    source = {
        "id": "src",
        "title": "Jean Castex à Prades",
        "body": "Jean Castex était à Prades samedi. Jean Castex a promis une aide aux régions de montagne "
        "pour les routes.",
    }
    castes = {
        "id": "castes",
        "title": "Les castes en Inde",
        "body": "Les castes existent encore. Les castes, les castes et les castes : les castes de montagne "
        "et les castes des routes.",
    }
    person = {
        "id": "person",
        "title": "Les régions et le gouvernement",
        "body": "Jean Castex a reçu les présidents de régions lundi.",
    }
    filler = [{"id": f"f{n}", "title": f"Météo du jour {n}", "body": f"Du soleil sur la région, numéro {n}."}
              for n in range(6)]  # fmt: skip
    engine = Engine(index_from_records([source, castes, person, *filler]))
    assert [hit["id"] for hit in engine.related("src")][:2] == ["person", "castes"]


def test_a_read_torn_by_a_commit_is_answered_again_but_a_bug_is_not_hidden(index_from_records, tmp_path):
    import json

    from newsearch.indexer import Indexer
    from newsearch.store import IndexStore

    index_dir = index_from_records([{"id": "a", "title": "Climat", "body": "Le climat change."}])
    engine = Engine(index_dir)
    real = engine._search
    calls = []

    def torn(request, budget):
        calls.append(request.q)
        if len(calls) == 1:
            # A job commits while this search reads: Whoosh then raises what a half-replaced file gives.
            extra = tmp_path / "more.jsonl"
            extra.write_text(json.dumps({"id": "b", "title": "Climat", "body": "Le climat encore."}) + "\n")
            Indexer(IndexStore(index_dir)).run([extra])
            raise Exception("Block tag error b'\\x00\\x00'")
        return real(request, budget)

    engine._search = torn
    assert engine.search(SearchRequest(q="climat", collapse=False)).total == 2  # the reopened index, both found
    assert len(calls) == 2

    # On an index that did not move, the same error is a bug: raised, not retried.
    calls.clear()
    engine._search = lambda request, budget: calls.append(request.q) or (_ for _ in ()).throw(TypeError("bug"))
    with pytest.raises(TypeError, match="bug"):
        engine.search(SearchRequest(q="climat"))
    assert len(calls) == 1


def test_a_title_only_match_shows_the_opening_words_as_a_text_without_the_word_would(index_from_records):
    opening = " ".join(f"mot{n}" for n in range(40))
    engine = Engine(index_from_records([{"id": "t", "title": "Ornithorynque", "body": opening}]))
    hit = engine.search(SearchRequest(q="ornithorynque")).hits[0]
    assert hit["snippet"] == " ".join(f"mot{n}" for n in range(32)) + " …" == make_snippet(opening, set())
    assert make_snippet(opening, {"ornithorynqu", "absent"}) == hit["snippet"]  # what a full scan gives


def test_the_leaf_cache_tells_what_it_holds_and_remembers_derived_answers_once(index_from_records):
    from whoosh import query as wq

    from newsearch.docsets import LeafCache

    engine = Engine(index_from_records([{"id": f"a{n}", "title": "Climat", "body": "Le climat."} for n in range(3)]))
    searcher, _ = engine.refresh()
    leaves = LeafCache(searcher)
    term = wq.Term("body", "climat")
    assert leaves.cached(term) is None  # nothing read to answer that
    scores = leaves.scores(term)
    assert leaves.cached(term) == scores and list(leaves.cached(term)) == sorted(scores)  # in docnum order
    calls = []
    assert leaves.remember("k", lambda: calls.append(1) or "v") == "v" == leaves.remember("k", lambda: "other")
    assert calls == [1]


def test_the_passage_window_cut_keeps_the_answer_and_ranks_the_rest_below(index_from_records):
    from newsearch.tuning import Tuning

    answer = "La hausse des prix de l'énergie pèse sur les budgets des collectivités locales cet hiver."
    records = [{"id": "answer", "title": "Hausse des prix de l'énergie", "body": answer}]
    records += [{"id": f"partial{n}", "title": f"Brève {n}", "body": f"L'hiver arrive. {FILLER}"} for n in range(25)]
    index_dir = index_from_records(records)
    engine = Engine(index_dir, tuning=Tuning(passage_window_min=3))
    every = ids(engine, PASSAGE)
    hits = engine.search(SearchRequest(q=PASSAGE, limit=100, collapse=False)).hits
    assert every[0] == "answer" and len(every) == 26  # the cut re-orders fewer hits, it drops none
    scores = [h["score"] for h in hits]
    assert scores == sorted(scores, reverse=True)  # hits past the window rank below it
    engine = Engine(index_dir, tuning=Tuning(passage_window_min=3, passage_window_share=0.0))  # every hit re-ranked
    assert ids(engine, PASSAGE)[0] == "answer" and len(ids(engine, PASSAGE)) == 26


def test_passage_snippets_read_only_the_start_of_long_articles():
    text = "Le marché couvert ouvre ses portes. " + "Des mots sans rapport. " * 200 + "Un marché à la fin."
    snippet = make_snippet(text, {"march"}, scan_chars=200)
    assert snippet.startswith("Le **marché** couvert") and snippet.endswith(" …")
    assert "Un **marché** à la **fin**" in make_snippet(text, {"march", "fin"})  # the default reads 6,000


def test_passage_reranking_reads_the_column_it_is_given_without_opening_another(index_from_records):
    from newsearch import rerank
    from newsearch.schema import PASSAGE_COLUMN

    records = [{"id": f"a{i}", "title": f"Énergie {i}", "body": "Les prix de l'énergie montent."} for i in range(3)]
    searcher, _ = Engine(index_from_records(records, batch_size=1)).refresh()
    column = searcher.reader().column_reader(PASSAGE_COLUMN)
    assert not column  # over several segments, Whoosh's column reader is falsy (its len is 0)

    class Reader:
        def __init__(self, reader):
            self._reader = reader

        def __getattr__(self, name):
            return getattr(self._reader, name)

        def column_reader(self, name):
            raise AssertionError("a second column reader was opened")  # reading its offsets costs milliseconds

    class Searcher:
        def __getattr__(self, name):
            return getattr(searcher, name)

        def reader(self):
            return Reader(searcher.reader())

    docs = [searcher.document_number(id=r["id"]) for r in records]
    ranked = rerank.rerank_passage(Searcher(), docs, dict.fromkeys(docs, 1.0), "énergie prix montent", column=column)
    assert sorted(ranked) == sorted(docs)
