"""Sections are shown by their French label, whatever slug the source used; URLs keep the key."""

from __future__ import annotations

import json

import pytest

from newsearch.indexer import Indexer
from newsearch.sections import section_label
from newsearch.store import IndexStore
from newsearch.web import create_app

LABELS = [
    ("societe", "Société"),
    ("sante", "Santé"),
    ("societe/sante", "Société › Santé"),
    ("societe/fait-divers", "Société › Faits divers"),
    ("auto/ecomobilite/news", "Auto › Écomobilité › Actualités"),
    ("politique", "Politique"),
    ("vie-locale", "Vie locale"),  # not in the table: dashes become spaces, a capital first
    ("Santé", "Santé"),  # already a label
    ("Faits divers", "Faits divers"),
    ("", ""),
]


@pytest.mark.parametrize(("name", "label"), LABELS)
def test_section_labels(name, label):
    assert section_label(name) == label


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sections")
    records = [
        {"id": f"s{i}", "title": f"Vaccination en pharmacie {i}", "body": "La campagne de vaccination.", "section": s}
        for i, s in enumerate(["societe/sante", "societe/sante", "politique"])
    ]
    (folder / "a.jsonl").write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    index_dir = folder / "index"
    assert not Indexer(IndexStore(index_dir)).run([folder / "a.jsonl"]).skipped
    return create_app({"INDEX_DIR": index_dir, "TESTING": True}).test_client()


def test_section_facet_hit_and_chip_show_the_french_label(client):
    data = client.get("/api/search?q=vaccination").get_json()
    assert [(f["label"], f["count"]) for f in data["facets"]["section"]] == [("Société › Santé", 2), ("Politique", 1)]
    value = data["facets"]["section"][0]["value"]
    assert data["hits"][0]["section"] in ("societe/sante", "politique")  # the JSON keeps what the source said
    page = client.get("/", query_string={"q": "vaccination", "section": value}).get_data(as_text=True)
    assert page.count("Société › Santé") >= 3  # the facet, the chip and the hits
    assert "societe/sante" not in page
