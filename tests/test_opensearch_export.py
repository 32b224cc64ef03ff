"""`newsearch export --opensearch`: files checked against the documented _bulk format and our analyzer's data.

No OpenSearch or Elasticsearch server can run on these machines, so the files are read as a cluster would read
them (the _bulk NDJSON rules, the index template's structure), not loaded.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from newsearch.analysis import ELISIONS, STOP_WORDS, WORD_PATTERN
from newsearch.cli import cli
from newsearch.opensearch_export import export_for_cluster, index_template
from newsearch.schema import INDEX_VERSION
from newsearch.search import Engine, SearchRequest
from newsearch.synonyms import load_synonyms

# Filter and tokenizer types the template may use: all built into OpenSearch and Elasticsearch.
BUILT_IN_FILTERS = {"lowercase", "asciifolding", "flatten_graph"}
BUILT_IN_TYPES = {"elision", "word_delimiter_graph", "stop", "stemmer", "synonym_graph"}


def read_bulk(path) -> list[tuple[dict, dict]]:
    """Read a _bulk file as the cluster does: newline-delimited JSON, an action line then its document."""
    raw = path.read_bytes()
    assert raw.endswith(b"\n"), "the bulk API wants a final newline"
    lines = raw.decode("utf-8").split("\n")[:-1]
    assert len(lines) % 2 == 0
    pairs = []
    for action_line, source_line in zip(lines[::2], lines[1::2], strict=True):
        action, source = json.loads(action_line), json.loads(source_line)
        assert list(action) == ["index"] and set(action["index"]) == {"_index", "_id"}
        assert isinstance(source, dict)
        pairs.append((action["index"], source))
    return pairs


@pytest.fixture(scope="module")
def exported(sample_index, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cluster")
    result = CliRunner().invoke(cli, ["export", "--index", str(sample_index), "--opensearch", str(folder)])
    assert result.exit_code == 0, result.output
    return folder, result.output


def test_the_articles_are_bulk_index_actions_one_per_article(exported, engine):
    folder, _ = exported
    pairs = [pair for path in sorted(folder.glob("bulk-*.ndjson")) for pair in read_bulk(path)]
    ids = [meta["_id"] for meta, _ in pairs]
    assert len(ids) == len(set(ids)) == engine.search(SearchRequest(collapse=False)).total == 49
    assert {meta["_index"] for meta, _ in pairs} == {"newsearch"}
    meta, source = pairs[0]
    article = engine.article(meta["_id"])
    assert source["id"] == meta["_id"]
    assert (source["title"], source["body"], source["tags"]) == (article["title"], article["body"], article["tags"])
    assert "path" not in source  # the server's file paths stay on the server


def test_documents_hold_only_the_fields_the_template_maps(exported):
    folder, _ = exported
    mapped = set(json.loads((folder / "template.json").read_text())["template"]["mappings"]["properties"])
    for path in folder.glob("bulk-*.ndjson"):
        for _, source in read_bulk(path):
            assert set(source) <= mapped  # the mapping is strict: any other field would be refused
            if "date" in source:
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d([+-]\d\d:\d\d)?", source["date"])


def test_the_template_mirrors_the_analyzer_from_its_own_data(exported):
    folder, _ = exported
    template = json.loads((folder / "template.json").read_text())
    assert template == index_template("newsearch")
    assert template["index_patterns"] == ["newsearch", "newsearch-*"]
    assert template["_meta"]["index_version"] == INDEX_VERSION
    analysis = template["template"]["settings"]["analysis"]
    filters = analysis["filter"]
    assert filters["newsearch_elision"]["articles"] == sorted(ELISIONS)
    assert filters["newsearch_stop"]["stopwords"] == sorted(STOP_WORDS)
    assert filters["newsearch_synonyms"]["synonyms"] == [", ".join(g) for g in load_synonyms().groups]
    assert (
        "OTAN, NATO, Organisation du traité de l'Atlantique nord, Alliance atlantique"
        in (filters["newsearch_synonyms"]["synonyms"])
    )
    assert analysis["tokenizer"]["newsearch_words"]["pattern"] == "(?U)" + WORD_PATTERN
    assert {f["type"] for f in filters.values()} <= BUILT_IN_TYPES
    for name, analyzer in analysis["analyzer"].items():
        assert analyzer["tokenizer"] in analysis["tokenizer"], name
        assert all(f in filters or f in BUILT_IN_FILTERS for f in analyzer["filter"]), name
        # Our order: elision, hyphens, folding, then stop words (folded) and the stemmer last.
        assert analyzer["filter"][0] == "newsearch_elision" and analyzer["filter"][-2:] == [
            "newsearch_stop",
            "newsearch_stemmer",
        ]
        assert analyzer["filter"].index("asciifolding") < analyzer["filter"].index("newsearch_stop")
    index, search = analysis["analyzer"]["newsearch_french"], analysis["analyzer"]["newsearch_french_search"]
    assert "newsearch_synonyms" in search["filter"] and "newsearch_synonyms" not in index["filter"]
    for field in ("title", "summary", "body", "tags"):
        mapping = template["template"]["mappings"]["properties"][field]
        assert (mapping["analyzer"], mapping["search_analyzer"]) == ("newsearch_french", "newsearch_french_search")


def test_the_two_curl_lines_are_printed_and_in_load_sh(exported):
    folder, output = exported
    script = (folder / "load.sh").read_text()
    curls = [line.strip() for line in output.splitlines() if "curl" in line]
    assert len(curls) == 2
    assert all(line in script for line in curls)
    assert '-X PUT "$OPENSEARCH/_index_template/newsearch"' in curls[0] and "@template.json" in curls[0]
    assert '-X POST "$OPENSEARCH/_bulk"' in curls[1] and "application/x-ndjson" in curls[1]
    assert "bulk-*.ndjson" in curls[1]


def test_big_exports_are_split_into_files_and_a_rerun_leaves_no_stale_file(sample_index, tmp_path):
    searcher, _ = Engine(sample_index).refresh()
    first = export_for_cluster(searcher, tmp_path, index_name="archives", docs_per_file=20)
    assert first.files == ["bulk-00001.ndjson", "bulk-00002.ndjson", "bulk-00003.ndjson"]
    assert [len(read_bulk(tmp_path / f)) for f in first.files] == [20, 20, 9]
    assert {meta["_index"] for meta, _ in read_bulk(tmp_path / first.files[0])} == {"archives"}
    again = export_for_cluster(searcher, tmp_path, index_name="archives")
    assert again.files == ["bulk-00001.ndjson"] == sorted(p.name for p in tmp_path.glob("bulk-*.ndjson"))


def test_export_without_an_index_is_exit_3(tmp_path):
    result = CliRunner().invoke(cli, ["export", "--index", str(tmp_path / "none"), "--opensearch", str(tmp_path)])
    assert result.exit_code == 3 and "no index" in result.output
