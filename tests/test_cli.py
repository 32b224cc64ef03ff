"""The `newsearch` command as scripts use it: JSON output, exit codes, errors without tracebacks."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from newsearch.cli import EXIT_INDEX, EXIT_NO_HIT, EXIT_SKIPPED, EXIT_USAGE, cli
from newsearch.search import SearchRequest


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args, input=None):
        result = runner.invoke(cli, [str(a) for a in args], input=input, catch_exceptions=False)
        return result

    return invoke


def test_index_reports_json_then_nothing_changes(run, examples_dir, tmp_path):
    index = tmp_path / "index"
    first = run("index", examples_dir, "--index", index, "--json")
    assert first.exit_code == 0
    assert json.loads(first.output) == {
        "added": 49, "updated": 0, "deleted": 0, "unchanged": 0, "skipped": [], "warnings": [], "conflicts": [],
        "documents": 49,
    }  # fmt: skip
    again = run("index", examples_dir, "--index", index, "--json")
    assert json.loads(again.output) == {
        "added": 0, "updated": 0, "deleted": 0, "unchanged": 49, "skipped": [], "warnings": [], "conflicts": [],
        "documents": 49,
    }  # fmt: skip


def test_index_skips_bad_files_indexes_the_rest_and_exits_4(run, write_files, tmp_path):
    folder = write_files(
        {
            "good.json": json.dumps({"id": "g1", "title": "Inondations dans le Gard", "body": "Des crues."}),
            "empty.txt": "",
            "broken.json": '{"title": ',
            "mixed.jsonl": json.dumps({"id": "g2", "title": "Grève", "body": "Les cheminots."}) + "\n{oops\n",
            "image.png": b"\x89PNG\x00\x00",
        }
    )
    result = run("index", folder, "--index", tmp_path / "index", "--json")
    assert result.exit_code == EXIT_SKIPPED
    report = json.loads(result.output)
    assert report["added"] == 2 and report["documents"] == 2
    assert sorted((s["path"].replace(str(folder), ""), s["reason"]) for s in report["skipped"]) == [
        ("/broken.json", "malformed JSON (line 1, column 11: Expecting value)"),
        ("/empty.txt", "empty file"),
        ("/mixed.jsonl:2", "malformed JSON (Expecting property name enclosed in double quotes, column 2)"),
    ]


def test_index_summary_line_and_skipped_on_stderr(tmp_path, write_files):
    folder = write_files({"ok.json": json.dumps({"id": "a", "title": "T", "body": "B"}), "bad.json": "{"})
    result = CliRunner().invoke(cli, ["index", str(folder), "--index", str(tmp_path / "ix")])
    assert result.exit_code == EXIT_SKIPPED
    assert "added 1, updated 0, deleted 0, unchanged 0, skipped 1" in result.stdout
    assert "bad.json: malformed JSON" in result.stderr


def test_index_missing_path_is_reported(run, tmp_path):
    result = run("index", tmp_path / "nope", "--index", tmp_path / "ix", "--json")
    assert result.exit_code == EXIT_SKIPPED
    assert json.loads(result.output)["skipped"] == [
        {"path": str(tmp_path / "nope"), "reason": "no such file or directory"}
    ]


def test_query_json_is_the_search_results_dict(run, sample_index, engine):
    result = run("query", "réforme des retraites", "--index", sample_index, "--json", "--limit", "3")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data == engine.search(SearchRequest(q="réforme des retraites", limit=3)).to_dict()
    assert set(data) >= {"query", "total", "page", "hits", "facets"}
    assert set(data["hits"][0]) >= {"id", "title", "url", "date", "tags", "score", "snippet"}
    assert set(data["facets"]) >= {"tags", "date"}
    assert set(data["facets"]["tags"][0]) == {"value", "label", "count"}


def test_query_filters_match_the_engine(run, sample_index, engine):
    args = ["--tag", "Santé", "--tag", "hôpital", "--since", "2021", "--until", "2025-12", "--sort", "date"]
    data = json.loads(run("query", "", "--index", sample_index, "--json", *args).output)
    expected = engine.search(
        SearchRequest(q="", tags=["Santé", "hôpital"], since="2021", until="2025-12", sort="date")
    ).to_dict()
    assert data == expected and data["total"] > 0


def test_query_table_is_readable(run, sample_index):
    result = run("query", "chevaux", "--index", sample_index, "--limit", "2")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "2 résultats pour « chevaux » — page 1/1"
    # Each hit: rank and title, then date · tags · score · id, then the snippet with the matched words marked.
    assert lines[1] == "  1. Dans le Perche, les éleveurs de chevaux de trait misent sur les communes rurales"
    # (the id of a file without one is a hash of its path, which depends on where the checkout is)
    assert re.fullmatch(r"     14 juin 2022 · Agriculture, economie · score \d+\.\d\d · path-[0-9a-f]{16}", lines[2])
    assert "**chevaux**" in lines[3] and "**cheval**" in result.output  # the plural and the singular


def test_query_table_says_how_a_malformed_query_was_read(run, sample_index):
    result = run("query", "chevaux OR", "--index", sample_index)
    assert result.exit_code == 0
    assert "Requête lue comme : chevaux\n« OR » n’a pas de mot de chaque côté : ignoré." in result.output


def test_query_without_hit_exits_1(run, sample_index):
    result = run("query", "zzzinconnu", "--index", sample_index, "--json")
    assert result.exit_code == EXIT_NO_HIT
    assert json.loads(result.output)["total"] == 0


@pytest.mark.parametrize(
    "args, message",
    [(["le la les"], "aucun mot cherchable"), (["x", "--since", "2024-13"], "date invalide « 2024-13 »"),
     (["(" * 40 + "a"], "trop imbriquée"), (["»"], "aucun mot cherchable")],
)  # fmt: skip
def test_bad_query_is_a_clear_error_exit_2(run, sample_index, args, message):
    result = run("query", *args, "--index", sample_index)
    assert result.exit_code == EXIT_USAGE
    assert message in result.output and "Traceback" not in result.output


def test_query_without_index_exits_3(run, tmp_path):
    result = run("query", "x", "--index", tmp_path / "none")
    assert result.exit_code == EXIT_INDEX
    assert "no index in" in result.output


def test_batch_prints_one_json_line_per_query(run, sample_index, engine):
    result = run("query", "--batch", "-", "--index", sample_index, input="chevaux\nle la\nOTAN\n")
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["query"] for line in lines] == ["chevaux", "le la", "OTAN"]
    assert lines[0] == engine.search(SearchRequest(q="chevaux")).to_dict()
    assert "error" in lines[1]


def test_stats_json(run, sample_index):
    stats = json.loads(run("stats", "--index", sample_index, "--json").output)
    assert stats["documents"] == 49
    assert stats["index_version"]
    assert stats["top_tags"][0]["count"] >= stats["top_tags"][-1]["count"]


def test_related_leaves_out_wire_copies(run, sample_index, engine):
    copies = {h["id"] for h in engine.search(SearchRequest(q="", cluster="agd-2023-1012-0142")).hits}
    assert len(copies) == 3
    result = run("related", "agd-2023-1012-0142", "--index", sample_index, "--json")
    related = [json.loads(line)["id"] for line in result.output.splitlines()]
    assert related and not set(related) & copies
    assert run("related", "nope", "--index", sample_index).exit_code == 1


def test_a_query_word_starting_with_a_dash_excludes_it_without_quotes_or_double_dash(run, sample_index):
    both = json.loads(run("query", "santé", "--index", sample_index, "--json").output)
    result = run("query", "santé", "-médecins", "--index", sample_index, "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["query"] == "santé -médecins"
    excluded = {hit["id"] for hit in both["hits"]} - {hit["id"] for hit in data["hits"]}
    assert excluded and 0 < data["total"] < both["total"]
    # Options still work on either side of the words, with their values.
    limited = json.loads(run("query", "--limit", "1", "santé", "-médecins", "--index", sample_index, "--json").output)
    assert [hit["id"] for hit in limited["hits"]] == [data["hits"][0]["id"]]


def test_batch_pairs_each_line_with_one_output_line_and_exits_2_when_a_line_failed(run, sample_index):
    result = run("query", "--index", sample_index, "--batch", "-", input="retraites\n\n-santé\n")
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["query"] for line in lines] == ["retraites", "", "-santé"]
    assert lines[0]["total"] > 0
    assert lines[1] == {"query": "", "skipped": "empty line"}
    assert set(lines[2]) == {"query", "error", "code"}
    assert result.exit_code == EXIT_USAGE
    ok = run("query", "--index", sample_index, "--batch", "-", input="retraites\n   \n")
    assert ok.exit_code == 0 and len(ok.output.splitlines()) == 2


@pytest.mark.parametrize("color", [False, True])
def test_the_table_wraps_snippets_to_the_terminal_width(engine, color):
    import click

    from newsearch.cli import render_table

    data = engine.search(SearchRequest(q="retraites")).to_dict()
    table = render_table(data, color=color, width=48)
    snippet_lines = [click.unstyle(line) for line in table.splitlines() if line.startswith("     ") and "·" not in line]
    assert len(snippet_lines) > len(data["hits"])
    assert max(len(line) for line in snippet_lines) <= 48
    if color:
        assert "\x1b[" in table and "**" not in table


def test_messages_count_in_good_english_and_name_the_index_folder_in_full(tmp_path, write_files, monkeypatch):
    folder = write_files({"one.json": json.dumps({"id": "u1", "title": "Un seul article", "body": "Un texte court."})})
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["index", str(folder)])
    assert result.exit_code == 0
    assert result.output.startswith("indexed 1 file: added 1,") and "; 1 document in the index" in result.output
    missing = runner.invoke(cli, ["query", "x", "--index", "nowhere"])
    assert missing.exit_code == EXIT_INDEX
    assert f"no index in {tmp_path / 'nowhere'}:" in missing.output


def test_the_table_counts_the_stories_it_lists_and_their_copies_and_no_collapse_lists_every_copy(run, sample_index):
    grouped = run("query", "grève", "--index", sample_index, "--limit", "100")
    listed = [line for line in grouped.output.splitlines() if re.match(r"\s*\d+\. ", line)]
    assert (
        grouped.output.splitlines()[0]
        == f"{len(listed)} articles, {len(listed) + 2} avec les reprises pour « grève » — page 1/1"
    )
    every = run("query", "grève", "--index", sample_index, "--limit", "100", "--no-collapse", "--json")
    data = json.loads(every.output)
    assert data["total"] == data["total_with_copies"] == len(data["hits"]) == len(listed) + 2


def test_the_last_page_numbers_its_hits_after_the_pages_before_it(run, sample_index):
    result = run("query", "--index", sample_index, "--limit", "10", "--page", "5")
    lines = result.output.splitlines()
    assert lines[0] == "45 articles, 49 avec les reprises — page 5/5"
    numbers = [int(line.split(".")[0]) for line in lines if re.match(r"\s*\d+\. ", line)]
    assert numbers == list(range(41, 46))


def test_sorts_and_facet_kinds_have_one_vocabulary_that_every_interface_reads(run, sample_index):
    from newsearch.schema import ENTITY_FIELDS
    from newsearch.vocabulary import ENTITY_KINDS, FACET_KINDS, SORTS, VALUE_FACETS

    params = {p.name: p for p in cli.commands["query"].params}
    # The CLI: one option per facet a reader picks values of, repeatable where many values may be chosen.
    for kind in VALUE_FACETS:
        assert kind.option in params[kind.attribute].opts
        assert params[kind.attribute].multiple is (kind.select == "many")
        assert hasattr(SearchRequest(), kind.attribute)
    assert list(params["sort"].type.choices) == list(SORTS)
    assert ENTITY_FIELDS == {kind.field: kind.key for kind in ENTITY_KINDS}
    # The JSON: every facet kind counted, in the table's order, and every filter echoed under the facet's key.
    data = json.loads(run("query", "santé", "--index", sample_index, "--json").output)
    assert list(data["facets"]) == [kind.key for kind in FACET_KINDS]
    assert {kind.key for kind in VALUE_FACETS} <= set(data["filters"])
    # The text table: a line per facet kind that has values, headed by the table's label.
    text = run("query", "santé", "--index", sample_index).output
    assert [kind.label for kind in FACET_KINDS if data["facets"][kind.key]] == [
        line.split(" : ")[0] for line in text.splitlines() if line.split(" : ")[0] in {k.label for k in FACET_KINDS}
    ]


def test_an_index_whose_every_file_was_skipped_still_answers(run, tmp_path):
    # Its first run made an index with no segment at all: searchers and the facet cache must take it as empty.
    index = tmp_path / "index"
    first = run("index", tmp_path / "missing", "--index", index, "--json")
    report = json.loads(first.output)
    assert first.exit_code == EXIT_SKIPPED and report["documents"] == 0 and report["warnings"] == []
    result = run("query", "retraites", "--index", index, "--json")
    assert result.exit_code == EXIT_NO_HIT and json.loads(result.output)["total"] == 0
    passage = "Le gouvernement a présenté mercredi sa réforme des retraites devant les syndicats réunis à Paris"
    result = run("query", passage, "--index", index, "--json")  # a pasted passage: the second stage has nothing
    assert result.exit_code == EXIT_NO_HIT and json.loads(result.output)["total"] == 0, result.output
    assert json.loads(run("stats", "--index", index, "--json").output)["documents"] == 0
    from newsearch.web import create_app

    assert create_app({"INDEX_DIR": index}).test_client().get("/").status_code == 200
