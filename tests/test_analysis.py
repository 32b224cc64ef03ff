"""The French analyzer: golden tables of sentence → tokens, and queries that must (not) meet documents."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsearch.analysis import (
    FRENCH,
    analyze,
    fold,
    index_positions,
    iter_words,
    light_stem,
    text_terms,
    word_key,
    word_term,
)

# sentence → tokens when indexing (the joined form of a hyphenated word comes first, at the same position)
INDEX_GOLDEN = [
    ("Les soldats nord-coréens", ["soldat", "nordcoreen", "nord", "coreen"]),
    ("un soldat nord-coréen", ["soldat", "nordcoreen", "nord", "coreen"]),
    ("L’engagement d’un contingent", ["engagement", "contingent"]),
    ("L'engagement d'un contingent", ["engagement", "contingent"]),
    ("jusqu'ici, lorsqu’il parle, puisqu'elle quoiqu'on", ["ici", "parle"]),
    ("Les Coréennes et les Coréens", ["coreen", "coreen"]),
    ("cheval, chevaux, journaux, bateaux", ["cheval", "cheval", "journal", "bateau"]),
    ("Œuvres, cœur, sœur, ex æquo", ["oeuvr", "coeur", "soeur", "ex", "aequo"]),
    ("Université, universités, univers", ["universit", "universit", "univer"]),
    ("collectivités et collections", ["collectivit", "collection"]),
    ("étudiants, étudiante, ETUDIANTS", ["etudiant", "etudiant", "etudiant"]),
    ("française, français, Françaises", ["francai", "francai", "francai"]),
    ("première, premier", ["premier", "premier"]),
    ("heureuse, heureux", ["heureu", "heureu"]),
    ("sportive, sportifs", ["sportif", "sportif"]),
    ("Kim Jong-un", ["kim", "jongun", "jong"]),
    ("cessez-le-feu", ["cessezlefeu", "cessez", "feu"]),
    ("aujourd'hui", ["aujourdhui"]),
    ("la mer et la mère", ["mer", "mere"]),
    ("en 2022, 80 km/h", ["2022", "80", "km", "h"]),
    # Inner apostrophes that are not elisions: one word, one term.
    ("prud'hommes, presqu'île, quelqu'un", ["prudhomm", "presquil", "quelquun"]),
    ("jusqu'à aujourd'hui", ["aujourdhui"]),
    # An elision inside a compound is dropped too: "Côte-d'Ivoire" meets "Côte d'Ivoire".
    ("Côte-d'Ivoire", ["coteivoir", "cote", "ivoir"]),
    ("main-d’œuvre", ["mainoeuvr", "main", "oeuvr"]),
    # Dotted acronyms are one word, the same as written without dots.
    ("la S.N.C.F. et la SNCF", ["sncf", "sncf"]),
    ("aux U.S.A, en U.R.S.S.", ["usa", "urss"]),
    ("M.Macron et M. Macron", ["macron", "macron"]),
    ("vers 15 h.L'école, dit J.K. Rowling", ["ver", "15", "h", "ecole", "dit", "jk", "rowling"]),  # a glued sentence
    ("3.5 %", ["3", "5"]),
]


@pytest.mark.parametrize("sentence, tokens", INDEX_GOLDEN)
def test_index_tokens(sentence, tokens):
    assert analyze(sentence, mode="index") == tokens


# Queries never get the joined form: "Nord-Coréens" is searched as the phrase "nord coreen".
QUERY_GOLDEN = [
    ("soldats nord-coréens", ["soldat", "nord", "coreen"]),
    ("universite etudiants", ["universit", "etudiant"]),
    ("Kim Jong-un", ["kim", "jong"]),
    ("qu’est-ce que l’OTAN", ["otan"]),
]


@pytest.mark.parametrize("sentence, tokens", QUERY_GOLDEN)
def test_query_tokens(sentence, tokens):
    assert analyze(sentence, mode="query") == tokens


@pytest.mark.parametrize(
    "typed, written",
    [
        ("universite", "Université"),
        ("etudiants", "étudiantes"),
        ("coreen", "coréennes"),
        ("soldat", "soldats"),
        ("cheval", "chevaux"),
        ("oeuvre", "œuvres"),
        ("COEUR", "cœur"),
        ("hopital", "hôpitaux"),
        ("europeenne", "Européens"),
    ],
)
def test_typed_query_meets_written_word(typed, written):
    assert analyze(typed) == analyze(written)


@pytest.mark.parametrize(
    "one, other",
    [("collectivités", "collections"), ("universités", "univers"), ("mère", "mer"), ("coréen", "corée")],
)
def test_unrelated_words_stay_apart(one, other):
    assert analyze(one) != analyze(other)


def test_positions_close_stop_word_gaps_and_share_hyphen_position():
    from newsearch.analysis import FRENCH

    tokens = [(t.text, t.pos) for t in FRENCH("Les soldats nord-coréens de Kim", mode="index", positions=True)]
    assert tokens == [("soldat", 0), ("nordcoreen", 1), ("nord", 1), ("coreen", 2), ("kim", 3)]


def test_character_offsets_point_at_the_words():
    from newsearch.analysis import FRENCH

    text = "L’armée nord-coréenne"
    spans = [(t.text, text[t.startchar : t.endchar]) for t in FRENCH(text, mode="query", chars=True)]
    assert spans == [("armee", "armée"), ("nord", "nord"), ("coreen", "coréenne")]


def test_fold_expands_ligatures_and_drops_accents_and_punctuation():
    assert fold("Œdipe") == "oedipe"
    assert fold("Æsope") == "aesope"
    assert fold("Éléonore") == "eleonore"
    assert fold("l’État") == "letat"


def test_light_stem_leaves_short_words_and_numbers():
    assert light_stem("bus") == "bus"
    assert light_stem("2026") == "2026"


def test_iter_words_gives_offsets_and_terms_for_highlighting():
    text = "Des soldats nord-coréens"
    words = [(text[s:e], terms) for s, e, terms in iter_words(text)]
    assert words == [("Des", ()), ("soldats", ("soldat",)), ("nord-coréens", ("nord", "coreen", "nordcoreen"))]


# Indexing replays the pipeline's output per distinct word (index_positions): it must index exactly as FRENCH does.
REPLAY_TEXTS = [sentence for sentence, _ in INDEX_GOLDEN] + [
    "Le soldat, les soldats et encore le soldat : trois fois le même mot, à trois positions.",
    "peut-être qu'il viendra jusqu’au bout, c'est-à-dire demain ; l'a-t-il dit ?",
    "Les Nord-Coréens -- et -les- tirets-, 'guillemets' l' d’ a--b",
    "Œdipe, Æsop, cœurs ; 1er mai 2020 à 8h30, 3,5 % de hausse",
    "zzzq et zzzq-zzzq : le mot témoin du remplacement aussi",
    "",
]


def pipeline_positions(text: str) -> dict[str, list[int]]:
    positions: dict[str, list[int]] = {}
    for t in FRENCH(text, positions=True, mode="index"):
        if not t.stopped:
            positions.setdefault(t.text, []).append(t.pos)
    return positions


@pytest.mark.parametrize("text", REPLAY_TEXTS)
def test_index_positions_replay_the_pipeline(text):
    assert index_positions(text) == pipeline_positions(text)


def test_analysed_postings_are_whooshs():
    from newsearch.indexer import analysed
    from newsearch.schema import build_schema

    body = build_schema()["body"]
    text = " ".join(REPLAY_TEXTS)
    assert analysed("body", text).postings == list(body.index(text))


# Text made of the pieces French news is written with: words, elisions, compounds, acronyms, punctuation.
_PIECES = st.sampled_from(
    ["l'", "d’", "qu'", "jusqu'", "aujourd'hui", "prud'homme", "Nord", "-", "coréens", "S.N.C.F.", "U.S.", "M.",
     "État", "les", "de", "à", "œuvre", "Côte", "est", "ce", "2022", "'", "’", " ", " ", ",", ".", "«", "a", "x"]
)  # fmt: skip
TEXTS = st.lists(_PIECES | st.text(max_size=4), max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_every_reader_of_text_sees_the_same_terms(text):
    query_terms = analyze(text, mode="query")
    assert text_terms(text) == query_terms  # reranking, passages, phrase checks
    assert index_positions(text) == pipeline_positions(text)  # indexing
    indexed = set(analyze(text, mode="index"))
    assert {f for _, _, forms in iter_words(text) for f in forms} == indexed  # highlighting
    for start, end, forms in iter_words(text):
        assert set(forms) <= indexed and start <= end


@pytest.mark.parametrize("word", ["Soldats", "l’État", "Nord-Coréens", "aujourd'hui", "S.N.C.F.", "Côte-d'Ivoire"])
def test_a_whole_word_has_one_term_the_index_holds(word):
    assert word_term(word) in analyze(word, mode="index")
    assert word_key(word) == word_term(word)


def test_a_stop_word_has_no_term_but_keeps_its_key():
    assert word_term("les") == ""
    assert word_key("les") == "les"


def test_elided_articles_and_conjunctions_never_become_terms():
    text = "jusqu'à lorsqu'il puisqu'on quoiqu'elle l'a qu'est-ce"
    assert text_terms(text) == []


def test_highlighting_starts_after_the_elided_article():
    text = "l’État et d'Île-de-France"
    assert [text[s:e] for s, e, forms in iter_words(text) if forms] == ["État", "Île-de-France"]


def test_stemming_is_a_morphological_filter_whoosh_can_skip():
    # Whoosh asks for words as written with no_morph=True (spelling); everything but the stemmer still applies.
    assert FRENCH.has_morph()
    assert [t.text for t in FRENCH("Les soldats coréens", no_morph=True)] == ["soldats", "coreens"]
