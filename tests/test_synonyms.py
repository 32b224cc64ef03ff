"""Query synonyms: golden tables of typed query → expanded query, the list's file format and the shipped list."""

from __future__ import annotations

import pytest

from newsearch.analysis import text_terms
from newsearch.errors import NewsearchError
from newsearch.query import parse_query
from newsearch.schema import build_schema
from newsearch.search import SearchRequest
from newsearch.synonyms import DEFAULT_PATH, Synonyms, load_synonyms, parse_synonyms

# A list of its own, so that editing the shipped one cannot change these tables.
LIST = """
# international
OTAN, NATO, Organisation du traité de l'Atlantique nord
ONU, Nations unies, Organisation des Nations unies
PS, Parti socialiste   # a trailing comment
JO, Jeux olympiques
Covid, Covid-19, coronavirus
"""
SYNONYMS = Synonyms(parse_synonyms(LIST))
OTAN = '(OTAN OR NATO OR "Organisation du traité de l\'Atlantique nord")'

EXPAND = [
    ("NATO Ukraine", '(NATO OR OTAN OR "Organisation du traité de l\'Atlantique nord") Ukraine'),
    ("otan", '(otan OR NATO OR "Organisation du traité de l\'Atlantique nord")'),  # 4 letters: any case
    ("l’OTAN", '(l’OTAN OR NATO OR "Organisation du traité de l\'Atlantique nord")'),  # elision
    ("OTAN, Russie", f"{OTAN}, Russie"),  # punctuation stays outside
    # multi-word members match as phrases, longest first, typed words quoted
    ("organisation du traité de l’atlantique nord", '("organisation du traité de l’atlantique nord" OR OTAN OR NATO)'),
    ("Nations unies climat", '("Nations unies" OR ONU OR "Organisation des Nations unies") climat'),
    ("organisation des Nations unies", '("organisation des Nations unies" OR ONU OR "Nations unies")'),
    ("nation unie", '("nation unie" OR ONU OR "Organisation des Nations unies")'),  # plural ignored, like the index
    ("Parti socialiste primaire", '("Parti socialiste" OR PS) primaire'),
    ("PS primaire", '(PS OR "Parti socialiste") primaire'),
    ("JO Paris", '(JO OR "Jeux olympiques") Paris'),
    ("covid-19 vaccin", "(covid-19 OR Covid OR coronavirus) vaccin"),
    # operators and parentheses keep working around the groups
    ("(PS OR JO) 2024", '((PS OR "Parti socialiste") OR (JO OR "Jeux olympiques")) 2024'),
    ("Ukraine NOT OTAN", f"Ukraine NOT {OTAN}"),
    ("OTAN ET Russie", f"{OTAN} ET Russie"),
]


@pytest.mark.parametrize("query, expanded", EXPAND)
def test_expand(query, expanded):
    assert SYNONYMS.expand(query) == expanded


UNTOUCHED = [
    "ps",  # a short acronym must be typed in capitals: "ps" is rarely the party
    "Ps",
    "jo",
    "Parti, socialiste",  # punctuation between the words: not the expression
    "parti radical socialiste",
    '"PS" congrès',  # quoted phrases are searched as typed
    "« Nations unies » réforme",
    "“OTAN” sommet",
    "title:OTAN",  # field values
    "titre:(OTAN Russie)",
    "-OTAN Russie",  # excluded and required words
    "-(OTAN Russie) Ukraine",
    "+OTAN",
    "OTAN~",  # fuzzy
    "retraites",
    "",
    "»",  # lone closing quotes were an IndexError
    "”",
]


@pytest.mark.parametrize("query", UNTOUCHED)
def test_left_as_typed(query):
    assert SYNONYMS.expand(query) == query
    assert SYNONYMS.groups_for(query) == []


def test_groups_for_lists_each_applied_group_once_in_query_order():
    assert SYNONYMS.groups_for("JO et OTAN, puis NATO") == [
        ("JO", "Jeux olympiques"),
        ("OTAN", "NATO", "Organisation du traité de l'Atlantique nord"),
    ]


@pytest.mark.parametrize("query", [q for q, _ in EXPAND])
def test_expanded_queries_parse_and_look_for_every_member(query):
    parsed = parse_query(SYNONYMS.expand(query), build_schema())
    searched = {t.decode() if isinstance(t, bytes) else t for _, t in parsed.iter_all_terms(phrases=True)}
    members = [m for group in SYNONYMS.groups_for(query) for m in group]
    assert members and {t for m in members for t in text_terms(m)} <= searched


def test_file_format():
    text = "# comment\n\nA, B , b,  C  D # tail\nlonely\nX,Y\n,,\n"
    assert parse_synonyms(text) == [("A", "B", "b", "C D"), ("X", "Y")]  # a one-member line expands nothing


def test_first_group_keeps_a_member_listed_twice():
    synonyms = Synonyms(parse_synonyms("Mondial, Coupe du monde\nMondial, salon de l'automobile"))
    assert synonyms.expand("mondial") == '(mondial OR "Coupe du monde")'


def test_load_from_a_path_the_environment_or_the_shipped_list(tmp_path, monkeypatch):
    mine = tmp_path / "mine.txt"
    mine.write_text("vélo, bicyclette\n", encoding="utf-8")
    assert load_synonyms(mine).expand("velo") == "(velo OR bicyclette)"
    monkeypatch.setenv("NEWSEARCH_SYNONYMS", str(mine))
    assert load_synonyms().groups == [("vélo", "bicyclette")]
    monkeypatch.delenv("NEWSEARCH_SYNONYMS")
    assert load_synonyms().expand("ONU") == '(ONU OR "Nations unies" OR "Organisation des Nations unies")'


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(NewsearchError, match="cannot read the synonyms file"):
        load_synonyms(tmp_path / "nothing.txt")


def test_shipped_list():
    synonyms = load_synonyms(DEFAULT_PATH)
    assert len(synonyms.groups) >= 40
    claimed: dict = {}
    for group in synonyms.groups:
        for member in group:
            key = member if member.isupper() and len(member) <= 3 else Synonyms.key(member)
            assert key not in claimed, f"{member!r} is in two groups: {claimed.get(key)} and {group}"
            claimed[key] = group
            assert parse_query(member if " " not in member else f'"{member}"', build_schema()) is not None


@pytest.mark.parametrize(
    "query, article",
    [
        ("ONU", "glb-2024-1105"),  # the article says "Nations unies"
        ("NATO", "glb-2024-1105"),  # it says "OTAN" and "Organisation du traité de l’Atlantique Nord"
    ],
)
def test_expansion_finds_what_the_typed_word_misses(engine, query, article):
    expanded = load_synonyms(DEFAULT_PATH).expand(query)
    typed_only = SearchRequest(q=query, limit=50, synonyms=False, collapse=False)
    assert article not in [h["id"] for h in engine.search(typed_only).hits]
    assert article in [h["id"] for h in engine.search(SearchRequest(q=expanded, limit=50, synonyms=False)).hits]
    # The engine expands on its own by default.
    assert article in [h["id"] for h in engine.search(SearchRequest(q=query, limit=50)).hits]
