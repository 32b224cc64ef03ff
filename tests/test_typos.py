"""“Did you mean”: slips people make cost least, frequent words win ties, and the spelling shown is the typed one's."""

from __future__ import annotations

import json

import pytest

from newsearch.indexer import Indexer
from newsearch.search import Engine, SearchRequest
from newsearch.store import IndexStore
from newsearch.typos import first_letter_slips, typo_cost


def test_a_doubled_letter_a_neighbour_key_a_swap_and_a_wrong_vowel_cost_less_than_another_letter():
    assert typo_cost("retraittes", "retraites") < typo_cost("retraixtes", "retraites") == 1
    assert typo_cost("retraites", "retraittes") == typo_cost("retraittes", "retraites")
    assert typo_cost("hustice", "justice") < typo_cost("bustice", "justice") == 1  # h and j touch on AZERTY
    assert typo_cost("polixe", "police") < 1  # x touches c
    assert typo_cost("minsitre", "ministre") < 1 < typo_cost("minrtise", "ministre")
    assert typo_cost("condidat", "candidat") < typo_cost("crndidat", "candidat")
    assert typo_cost("minstre", "ministre") == 1
    assert typo_cost("ministre", "ministre") == 0


def test_a_word_may_have_been_meant_with_a_neighbour_first_letter_another_vowel_or_its_first_two_swapped():
    assert {"justice", "gustice", "yustice", "bustice", "nustice"} <= first_letter_slips("hustice")
    assert {"election", "alection", "olection", "ulection"} <= first_letter_slips("ilection")
    assert "plice" in first_letter_slips("lpice")
    assert "hustice" not in first_letter_slips("hustice")


def _engine(tmp_path, bodies: list[str]) -> Engine:
    records = [{"id": f"a{n}", "title": f"Dépêche {n}", "body": body} for n, body in enumerate(bodies)]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), "utf-8")
    Indexer(IndexStore(tmp_path / "index")).run([tmp_path / "a.jsonl"])
    return Engine(tmp_path / "index")


@pytest.fixture(scope="module")
def newsroom(tmp_path_factory):
    bodies = (
        ["Les ministres se réunissent à Matignon. Le ministre du travail parle ensuite."] * 4
        + ["La ville prépare son budget et la ville vote."] * 12
        + ["La violence des échanges a surpris les élus."] * 3
        + ["La justice a tranché après trois jours d’audience."] * 3
        + ["Un ton hostile a marqué la séance du conseil."] * 4
        + ["La réforme des retraites revient devant les députés."] * 6
        + ["La patronne de la brasserie a repris les rênes."] * 5
    )
    return _engine(tmp_path_factory.mktemp("typos"), bodies)


def suggestion(engine, q):
    return engine.search(SearchRequest(q=q)).suggestion


def test_the_spelling_shown_is_the_one_closest_to_what_was_typed(newsroom):
    assert suggestion(newsroom, "ministtre") == "ministre"
    assert suggestion(newsroom, "minisstres") == "ministres"


def test_the_smallest_slip_beats_a_more_frequent_word_two_slips_away(newsroom):
    assert suggestion(newsroom, "violece") == "violence"  # not "ville", in four times as many articles


def test_a_neighbour_key_on_the_first_letter_is_corrected(newsroom):
    assert suggestion(newsroom, "hustice") == "justice"  # not "hostile", a vowel and a letter away


def test_a_doubled_letter_that_the_stemmer_forgives_is_still_pointed_out(newsroom):
    results = newsroom.search(SearchRequest(q="retraittes"))
    assert results.total_with_copies == 6  # the stem finds the articles on retraites…
    assert results.suggestion == "retraites"  # …and the page says how they write it


def test_words_written_as_the_articles_write_them_get_no_suggestion(newsroom):
    for q in ("patronne", "retraites", "ministre", "ministres", "ville", "hostile"):
        assert suggestion(newsroom, q) is None, q


def test_a_frequent_word_found_only_in_titles_is_respelt_from_the_titles(index_from_records):
    # "dépêche" is in every title and no body: looking its spellings up in the bodies raised TermNotFound.
    topics = ["la grève", "le budget", "la météo", "le rugby", "la vendange", "le musée", "la rentrée", "le port"]
    records = [
        {"id": f"t{n}", "title": f"Dépêche numéro {n}", "body": f"Un mot sur {t}."} for n, t in enumerate(topics)
    ]
    engine = Engine(index_from_records(records))
    results = engine.search(
        SearchRequest(q="dépêchee", collapse=False)
    )  # the stemmer forgives the doubled e: same term
    assert results.total == 8
    assert results.suggestion == "dépêche"
