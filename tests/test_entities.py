"""Named entities: golden sentences for each rule, and a sample of the shared corpus written for reading by eye."""

from __future__ import annotations

import gzip
import json
import random

import pytest

from newsearch.entities import MAX_PER_TYPE, extract_entities, resources
from newsearch.parse import article_from_record

NOTHING = {"personnes": [], "lieux": [], "organisations": []}

# (title, body) → entities; each line shows one rule at work.
GOLDEN = [
    # a full name, then the surname alone or after M.: one person
    (
        "Emmanuel Macron en visite à Lyon",
        "Le président Emmanuel Macron a rencontré les élus. M. Macron a quitté Lyon. Macron reviendra.",
        {"personnes": ["Emmanuel Macron"], "lieux": ["Lyon"], "organisations": []},
    ),
    # a known surname alone becomes the known person
    (
        "Mélenchon critique la réforme",
        "Selon Mélenchon, elle est injuste.",
        {**NOTHING, "personnes": ["Jean-Luc Mélenchon"]},
    ),
    # ... but not when it is part of another name
    (
        "Pierre Castex, boulanger à Vierzon",
        "Pierre Castex a ouvert sa boutique. Le Premier ministre Jean Castex n'est pas venu.",
        {"personnes": ["Pierre Castex", "Jean Castex"], "lieux": ["Vierzon"], "organisations": []},
    ),
    # places: gazetteer, "à" and "près de" before an unknown name, Saint-…, a known place inside an unknown run
    (
        "Crue : Vézenac sous l'eau",
        "À Vézenac, près de Saint-Jean-du-Pin, dans le Gard, l'eau est montée. Le Gardon d'Alès a débordé.",
        {**NOTHING, "lieux": ["Vézenac", "Saint-Jean-du-Pin", "Gard", "Alès"]},
    ),
    # organisations: known ones, a head word (Banque de …), a cue word (le groupe …), acronyms after "la"
    (
        "Grève : la CGT et la CFDT unies",
        "La CGT et la CFDT appellent à la grève. Le Medef regrette. Selon la Banque de France, le groupe Doux souffre.",
        {**NOTHING, "organisations": ["CGT", "CFDT", "Medef", "Banque de France", "Doux"]},
    ),
    # a run cut before a first name; a title word before the name
    (
        "Municipales",
        "La maire de Paris Anne Hidalgo est candidate. Le député RN Louis Aliot est en tête.",
        {"personnes": ["Anne Hidalgo", "Louis Aliot"], "lieux": ["Paris"], "organisations": ["Rassemblement national"]},
    ),
    # known names must have their capitals: PS not ps, Le Monde not le monde
    (
        "Sondage",
        "Le PS recule, les ps et les LR progressent. Le Monde le dit, le monde entier le sait.",
        {**NOTHING, "organisations": ["Parti socialiste", "Les Républicains", "Le Monde"]},
    ),
    # addresses are dropped, institutions named after people are organisations, a first name alone is no person
    (
        "Adresse",
        "Le collège Jean-Moulin, rue Victor-Hugo, ferme. La Marine nationale recrute.",
        {**NOTHING, "organisations": ["collège Jean-Moulin"]},
    ),
    # multi-word places with particles; canonical names for known organisations
    (
        "Afrique",
        "En Côte d'Ivoire et en Corée du Nord, les Nations unies s'inquiètent. L'OTAN aussi, comme l'UE.",
        {
            **NOTHING,
            "lieux": ["Afrique", "Côte d'Ivoire", "Corée du Nord"],
            "organisations": ["ONU", "OTAN", "Union européenne"],
        },
    ),
    # a capital at a sentence start says nothing; peoples are not places
    ("Dans le Nord", "Mais Jeudi, les Français ont voté. Selon Dans, rien.", {**NOTHING, "lieux": ["Nord"]}),
    # a name given in capitals is the same name
    (
        "Procès",
        "Thierry Légier est cité. Le témoin THIERRY LÉGIER a parlé.",
        {**NOTHING, "personnes": ["Thierry Légier"]},
    ),
    # a guessed place that is the surname of a person named in the article is that person
    (
        "Hommage",
        "Roger Borniche est mort. Alain Delon a rendu hommage à Borniche.",
        {**NOTHING, "personnes": ["Roger Borniche", "Alain Delon"]},
    ),
    # "moteur TDI" is a thing; an unknown acronym counts after a determiner
    ("Essai", "Le moteur TDI consomme peu, selon l'ONISR.", {**NOTHING, "organisations": ["ONISR"]}),
    # aliases: "au Havre" is Le Havre, Daech is État islamique
    (
        "Attentat",
        "Un homme a été arrêté au Havre. Daech a revendiqué.",
        {**NOTHING, "lieux": ["Le Havre"], "organisations": ["État islamique"]},
    ),
]


@pytest.mark.parametrize("title, body, expected", GOLDEN, ids=[g[0] for g in GOLDEN])
def test_golden(title, body, expected):
    assert extract_entities(title, body) == expected


def test_most_mentioned_first_and_at_most_ten():
    body = " ".join(f"À Ville{chr(97 + i)}x, rien." * (i + 1) for i in range(12)) + " Lyon. À Lyon."
    places = extract_entities("", body)["lieux"]
    assert len(places) == MAX_PER_TYPE
    assert places[0] == "Villelx"  # 12 mentions
    assert "Villeax" not in places  # 1 mention: cut


def test_empty_article():
    assert extract_entities("", "") == NOTHING


def test_data_files_load():
    res = resources()
    assert len(res.places) > 500 and len(res.first_names) > 500
    assert res.places[("cote", "ivoire")] == "Côte d'Ivoire"
    assert {e.canonical for e in res.known[("macron",)]} == {"Emmanuel Macron"}


# --- the shared corpus: a sample written out to be checked by hand ------------------------------------

SAMPLE_SEED, SAMPLE_SIZE = 2026, 50


@pytest.mark.shared
def test_sample_of_the_shared_corpus(shared_dir, artifacts_dir):
    with gzip.open(shared_dir / "corpus" / "orangesum.jsonl.gz", "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    lines, found = [], {"personnes": 0, "lieux": 0, "organisations": 0}
    for record in random.Random(SAMPLE_SEED).sample(records, SAMPLE_SIZE):
        article = article_from_record(record, "orangesum.jsonl.gz", record["id"])
        entities = extract_entities(article.title, article.body)
        lines.append(f"## {article.id} {article.title}")
        for kind, names in entities.items():
            found[kind] += len(names)
            lines.append(f"   {kind}: " + " | ".join(names))
    lines.insert(0, f"{SAMPLE_SIZE} articles (seed {SAMPLE_SEED}); entities found: {found}\n")
    (artifacts_dir / "entities-sample.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # The precision in newsearch/entities.py was counted by reading this sample when it held these
    # numbers; if the rules or data change them, read the file again and update the docstring and this.
    assert found == MEASURED_SAMPLE, "entities changed: re-read test-artifacts/entities-sample.txt"


MEASURED_SAMPLE = {"personnes": 92, "lieux": 128, "organisations": 82}


# --- errors the facets held (issue 16), each on text written here ---------------------------------------


@pytest.mark.parametrize(
    "body, expected",
    [
        # a party after a person's title is the party, not a person
        ("La sénatrice Agir a voté contre le texte.", {**NOTHING, "organisations": ["Agir"]}),
        (
            "Le candidat Reconquête et la députée Nupes débattent.",
            {**NOTHING, "organisations": ["Reconquête", "Nupes"]},
        ),
        # … while the same word at a sentence start is the verb
        ("Agir vite est urgent, dit-elle.", NOTHING),
        # an acronym after a person's title names an organisation
        ("Elle a signé avec l'agence de mannequin IMG l'an passé.", NOTHING),
        # a street or an airport named after a known person is not that person
        ("Rendez-vous au 15 avenue Charles de Gaulle, devant la poste.", NOTHING),
        ("Il a atterri à l'aéroport Charles de Gaulle.", {**NOTHING, "lieux": ["aéroport Charles de Gaulle"]}),
        # words with digits are models, classes and events, not places
        ("Il court en F1, roule en V8, entre en CM2 et rêve de Paris-2024.", NOTHING),
        # "95 mm." is a measure, not MM. (Messieurs): the next word starts a sentence
        ("Il est tombé 95 mm. Mon jardin est inondé.", NOTHING),
        # a single letter after "à" is no place
        ("À R=1, l'épidémie se stabilise.", NOTHING),
        # a church or a cathedral is a place, with its name
        ("La foule attend devant la cathédrale Saint-Louis.", {**NOTHING, "lieux": ["cathédrale Saint-Louis"]}),
        # ITT (incapacité totale de travail) is no organisation
        ("Les violences ont entraîné dix jours d'ITT pour la victime.", NOTHING),
    ],
)
def test_errors_found_in_the_facets_are_gone(body, expected):
    assert extract_entities("", body) == expected
