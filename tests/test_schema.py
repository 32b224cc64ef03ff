"""What the schema indexes: the fields searched or looked up have postings, columns-only fields have none."""

from __future__ import annotations

from newsearch.search import Engine, SearchRequest
from newsearch.store import IndexStore

RECORDS = [
    {"id": "a", "title": "Grève à Lyon", "body": "La grève continue.", "date": "2023-03-07T10:00:00+01:00",
     "url": "https://example.org/greve-lyon", "tags": ["Social"]},
    {"id": "b", "title": "Grève à Lille", "body": "La grève s'étend.", "date": "2024-05-01T10:00:00+02:00",
     "url": "https://example.org/greve-lille", "tags": ["Social"]},
]  # fmt: skip


def test_url_and_date_columns_have_no_postings_yet_dates_filter_and_sort(index_from_records):
    folder = index_from_records(RECORDS)
    with IndexStore(folder).open().searcher() as searcher:
        reader = searcher.reader()
        indexed = set(reader.indexed_field_names())
        assert not indexed & {"url", "ts", "day"}
        assert {"id", "kind", "urlkey", "title", "body", "tag"} <= indexed
        assert reader.has_column("ts") and reader.has_column("day")
        assert sorted(f["url"] for f in searcher.documents(kind="article")) == [r["url"] for r in RECORDS[::-1]]
    engine = Engine(folder)
    assert [h["id"] for h in engine.search(SearchRequest(q="grève", since="2024")).hits] == ["b"]
    assert [h["id"] for h in engine.search(SearchRequest(q="grève", sort="date")).hits] == ["b", "a"]
