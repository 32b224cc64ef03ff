"""Exports of a whole result set, read back as a spreadsheet, a JSON Lines reader or a JSON client would."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from newsearch.cli import EXIT_NO_HIT, EXIT_USAGE, cli
from newsearch.export import CSV_COLUMNS, EXPORT_CAP, Export, csv_row
from newsearch.search import MAX_RESULTS_WINDOW, Engine, SearchRequest
from newsearch.web import create_app
from newsroom import FORMULA_TITLE


@pytest.fixture(scope="module")
def newsroom(newsroom_index):
    return Engine(newsroom_index)


@pytest.fixture(scope="module")
def client(newsroom_index):
    return create_app({"INDEX_DIR": str(newsroom_index)}).test_client()


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def paged_ids(engine, **filters) -> list[str]:
    """Every hit id, in order, read one API page of 100 at a time as a script would."""
    ids, page = [], 1
    while True:
        hits = engine.search(SearchRequest(limit=100, page=page, **filters)).hits
        if not hits:
            return ids
        ids += [h["id"] for h in hits]
        page += 1


def test_the_cap_is_the_deepest_window_the_engine_pages():
    assert EXPORT_CAP == MAX_RESULTS_WINDOW == 10_000


def test_an_export_holds_every_hit_across_pages_in_the_engines_order(newsroom):
    export = Export(newsroom, SearchRequest(q="épisode", sort="date"))
    ids = [h["id"] for h in export.hits()]
    assert export.first.total > 200  # more than two pages of 100
    assert ids == paged_ids(newsroom, q="épisode", sort="date")
    assert len(ids) == len(set(ids)) == export.first.total


def test_an_export_stops_at_its_cap(newsroom):
    export = Export(newsroom, SearchRequest(q=""), cap=120)
    ids = [h["id"] for h in export.hits()]
    assert len(ids) == 120 == export.expected
    assert ids == paged_ids(newsroom)[:120]


def test_cli_csv_opens_as_a_spreadsheet_one_row_per_article(newsroom, newsroom_index):
    result = run("query", "retraites", "--index", newsroom_index, "--format", "csv")
    assert result.exit_code == 0
    assert not result.stdout_bytes.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(result.stdout_bytes.decode("utf-8"), newline="")))
    expected = list(Export(newsroom, SearchRequest(q="retraites")).hits())
    assert [r["id"] for r in rows] == [h["id"] for h in expected]
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert rows[0]["tags"] == "Politique; Retraites"
    assert "**" not in rows[0]["snippet"] and "retraites" in rows[0]["snippet"].lower()
    assert b"\r\n" in result.stdout_bytes  # RFC 4180 line ends, as spreadsheets expect


def test_cli_csv_with_bom_for_excel(newsroom_index):
    result = run("query", "hôpital", "--index", newsroom_index, "--format", "csv", "--bom", "--max", "5")
    assert result.stdout_bytes.startswith(b"\xef\xbb\xbfid,date,title")
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1 + 5
    assert rows[1][CSV_COLUMNS.index("tags")] == "Santé publique"


def test_a_title_that_looks_like_a_formula_is_written_as_text():
    row = csv_row({"id": "x", "title": FORMULA_TITLE, "tags": ["-moins", "plus"], "snippet": "@cmd"})
    assert row[CSV_COLUMNS.index("title")] == "'" + FORMULA_TITLE
    assert row[CSV_COLUMNS.index("tags")] == "'-moins; plus"
    assert row[CSV_COLUMNS.index("snippet")] == "'@cmd"


def test_cli_jsonl_is_one_hit_object_per_line(newsroom, newsroom_index):
    result = run("query", "sécheresse", "--index", newsroom_index, "--format", "jsonl", "--sort", "date")
    lines = result.output.splitlines()
    hits = [json.loads(line) for line in lines]
    page = newsroom.search(SearchRequest(q="sécheresse", sort="date", limit=100)).hits
    assert hits[: len(page)] == page
    assert len(hits) == newsroom.search(SearchRequest(q="sécheresse")).total


def test_cli_json_format_is_the_json_contract_with_every_hit(newsroom, newsroom_index):
    result = run("query", "grève", "--index", newsroom_index, "--format", "json", "--tag", "transports")
    data = json.loads(result.output)
    one_page = newsroom.search(SearchRequest(q="grève", tags=["transports"])).to_dict()
    assert list(data) == list(one_page)
    assert (data["page"], data["pages"]) == (1, 1)
    assert len(data["hits"]) == data["total"] == one_page["total"]
    assert data["hits"][:10] == one_page["hits"]
    assert data["facets"] == one_page["facets"] and data["filters"] == one_page["filters"]


def test_cli_export_refuses_page_options_and_reports_no_hit(newsroom_index):
    refused = run("query", "grève", "--index", newsroom_index, "--format", "csv", "--page", "2")
    assert refused.exit_code == EXIT_USAGE and "--page" in refused.output
    nothing = run("query", "zanzibar", "--index", newsroom_index, "--format", "csv")
    assert nothing.exit_code == EXIT_NO_HIT
    assert nothing.output.strip() == ",".join(CSV_COLUMNS)


def test_api_csv_streams_the_whole_result_set_as_a_download(client, newsroom):
    response = client.get("/api/search.csv?q=épisode&sort=date&bom=1")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="newsearch.csv"'
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))
    assert [r["id"] for r in rows] == paged_ids(newsroom, q="épisode", sort="date")
    assert response.headers["X-Total-Count"] == str(len(rows))


def test_api_jsonl_takes_the_same_filters_and_a_max(client, newsroom):
    response = client.get("/api/search.jsonl?q=&tag=climat&since=2025-03&max=7")
    assert response.headers["Content-Type"] == "application/x-ndjson; charset=utf-8"
    hits = [json.loads(line) for line in response.data.decode("utf-8").splitlines()]
    expected = newsroom.search(SearchRequest(q="", tags=["climat"], since="2025-03", limit=7)).hits
    assert hits == expected


@pytest.mark.parametrize("query", ["q=grève&since=2025-13", "q=-grève", "q=grève&max=beaucoup"])
def test_api_export_of_a_bad_query_is_a_json_400_not_a_broken_file(client, query):
    response = client.get(f"/api/search.csv?{query}")
    assert response.status_code == 400
    assert response.get_json()["status"] == 400
