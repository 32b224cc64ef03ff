"""A way out to a cluster: an OpenSearch/Elasticsearch index template mirroring our analyzer, and _bulk files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from .analysis import ELISIONS, STOP_WORDS, WORD_PATTERN
from .dates import parse_iso
from .export import stored_articles
from .parse import tag_key
from .schema import INDEX_VERSION
from .store import write_atomic
from .synonyms import load_synonyms

DEFAULT_INDEX_NAME = "newsearch"
TEMPLATE_FILE = "template.json"
LOAD_FILE = "load.sh"
# Bulk requests are refused past http.max_content_length (100 MB by default); files stay well under it.
BULK_DOCS = 5_000
BULK_BYTES = 20 * 1024 * 1024
TEXT_FIELDS = ("title", "summary", "body", "tags")
ENTITY_KEYS = {"personnes": "persons", "lieux": "places", "organisations": "orgs"}


def analysis_settings(synonyms: list[tuple[str, ...]]) -> dict:
    """Return index.analysis settings that do what analysis.french_analyzer does, built from its own data."""
    # Index and search analyzers differ as ours do: the joined form of a hyphenated word ("nordcoreens") is
    # indexed only, and synonyms are expanded in queries only.
    filters = {
        # Our tokenizer keeps apostrophes and hyphens inside words, for the two filters below.
        "newsearch_elision": {"type": "elision", "articles_case": True, "articles": sorted(ELISIONS)},
        "newsearch_hyphens_index": {
            "type": "word_delimiter_graph",
            "catenate_words": True,
            "preserve_original": False,
            "split_on_case_change": False,
            "split_on_numerics": False,
            "stem_english_possessive": False,
        },
        "newsearch_hyphens_search": {
            "type": "word_delimiter_graph",
            "preserve_original": False,
            "split_on_case_change": False,
            "split_on_numerics": False,
            "stem_english_possessive": False,
        },
        # STOP_WORDS are accent-folded, so the stop filter comes after asciifolding, as ours after FoldFilter.
        "newsearch_stop": {"type": "stop", "stopwords": sorted(STOP_WORDS), "ignore_case": True},
        # Ours is a light plural/feminine stemmer of its own; Lucene's French light stemmer is the nearest.
        "newsearch_stemmer": {"type": "stemmer", "language": "light_french"},
        "newsearch_synonyms": {
            "type": "synonym_graph",
            "lenient": True,
            "synonyms": [", ".join(group) for group in synonyms],
        },
    }
    # A graph filter at index time must be flattened (Elasticsearch and OpenSearch reference, word_delimiter_graph).
    chain = ["newsearch_elision", "newsearch_hyphens_index", "flatten_graph", "lowercase", "asciifolding"]
    search_chain = ["newsearch_elision", "newsearch_hyphens_search", "lowercase", "asciifolding"]
    tail = ["newsearch_stop", "newsearch_stemmer"]
    return {
        # (?U): Java's \w is ASCII-only without it, Python's (ours) is Unicode.
        "tokenizer": {"newsearch_words": {"type": "pattern", "pattern": f"(?U){WORD_PATTERN}", "group": 0}},
        "filter": filters,
        "analyzer": {
            "newsearch_french": {"type": "custom", "tokenizer": "newsearch_words", "filter": chain + tail},
            "newsearch_french_search": {
                "type": "custom",
                "tokenizer": "newsearch_words",
                "filter": [*search_chain, "newsearch_synonyms", *tail],
            },
        },
    }


def index_template(index_name: str = DEFAULT_INDEX_NAME, synonyms: list[tuple[str, ...]] | None = None) -> dict:
    """Return the body of PUT _index_template/<index_name>: settings, analyzers and mappings of an article."""
    groups = load_synonyms().groups if synonyms is None else synonyms
    text = {"type": "text", "analyzer": "newsearch_french", "search_analyzer": "newsearch_french_search"}
    properties = {name: dict(text) for name in TEXT_FIELDS}
    properties["tags"]["fields"] = {"raw": {"type": "keyword"}}
    properties.update(
        {
            "id": {"type": "keyword"},
            "url": {"type": "keyword"},
            "date": {"type": "date", "format": "strict_date_optional_time"},
            "tag_keys": {"type": "keyword"},
            "section": {"type": "keyword"},
            "author": {"type": "keyword"},
            **{name: {"type": "keyword"} for name in ENTITY_KEYS.values()},
        }
    )
    return {
        "index_patterns": [index_name, f"{index_name}-*"],
        "priority": 100,
        "template": {
            "settings": {"analysis": analysis_settings(groups)},
            "mappings": {"dynamic": "strict", "properties": properties},
        },
        "_meta": {"generator": "newsearch", "index_version": INDEX_VERSION},
    }


def bulk_source(fields: dict) -> dict:
    """Return one article's stored fields as the document the template maps."""
    moment = parse_iso(fields.get("date", ""))
    source = {
        "id": fields["id"],
        "title": fields.get("title", ""),
        "summary": fields.get("summary", ""),
        "body": fields.get("body", ""),
        "tags": list(fields.get("taglist") or []),
        "tag_keys": sorted({k for k in map(tag_key, fields.get("taglist") or []) if k}),
        "url": fields.get("url", ""),
        "section": fields.get("section", ""),
        "author": fields.get("author", ""),
        **{name: list((fields.get("entities") or {}).get(key, [])) for key, name in ENTITY_KEYS.items()},
    }
    if moment is not None:
        source["date"] = moment.isoformat()
    return source


def load_commands(index_name: str = DEFAULT_INDEX_NAME) -> list[str]:
    """Return the two shell lines that load the files into a cluster at $OPENSEARCH (run in the export folder)."""
    return [
        f'curl -fsS -X PUT "$OPENSEARCH/_index_template/{index_name}" -H "Content-Type: application/json" '
        f"--data-binary @{TEMPLATE_FILE}",
        'for f in bulk-*.ndjson; do curl -fsS -X POST "$OPENSEARCH/_bulk" -H "Content-Type: application/x-ndjson" '
        '--data-binary "@$f" | grep -q \'"errors":false\' || echo "$f: some documents were refused"; done',
    ]


@dataclass
class ClusterExport:
    """What `export --opensearch` wrote."""

    folder: Path
    documents: int = 0
    files: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


def export_for_cluster(
    searcher,
    folder,
    index_name: str = DEFAULT_INDEX_NAME,
    docs_per_file: int = BULK_DOCS,
    bytes_per_file: int = BULK_BYTES,
    progress=None,
) -> ClusterExport:
    """Write the index template, the articles as _bulk NDJSON files and load.sh into folder."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("bulk-*.ndjson"):
        old.unlink()  # a smaller export must not leave files of a bigger one to be loaded again
    report = ClusterExport(folder)
    write_atomic(folder / TEMPLATE_FILE, json.dumps(index_template(index_name), ensure_ascii=False, indent=2) + "\n")
    out, docs, size = None, 0, 0
    try:
        for fields in stored_articles(searcher):
            if out is None or docs >= docs_per_file or size >= bytes_per_file:
                if out is not None:
                    out.close()
                name = f"bulk-{len(report.files) + 1:05d}.ndjson"
                report.files.append(name)
                out, docs, size = open(folder / name, "w", encoding="utf-8", newline="\n"), 0, 0
            action = json.dumps({"index": {"_index": index_name, "_id": fields["id"]}}, ensure_ascii=False)
            lines = action + "\n" + json.dumps(bulk_source(fields), ensure_ascii=False) + "\n"
            out.write(lines)
            docs, size = docs + 1, size + len(lines.encode("utf-8"))
            report.documents += 1
            if progress:
                progress("article", done=report.documents)
    finally:
        if out is not None:
            out.close()
    report.commands = load_commands(index_name)
    script = "#!/bin/sh\n# Load this export into OpenSearch or Elasticsearch: OPENSEARCH=http://host:9200 sh load.sh\n"
    write_atomic(folder / LOAD_FILE, script + 'cd "$(dirname "$0")"\n' + "\n".join(report.commands) + "\n")
    return report
