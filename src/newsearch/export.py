"""Exports of a whole result set (CSV, JSON Lines, JSON), streamed page by page through Engine.search."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import replace

from .errors import QueryError
from .schema import ARTICLE
from .search import MAX_LIMIT, MAX_RESULTS_WINDOW, Engine, SearchRequest, SearchResults
from .snippets import MARK

# The most hits an export holds: the Engine pages no deeper than this (the same window as the UI and API).
EXPORT_CAP = MAX_RESULTS_WINDOW
FORMATS = ("csv", "jsonl", "json")
CSV_COLUMNS = ("id", "date", "title", "url", "section", "tags", "score", "snippet", "cluster", "reprises")
TAG_SEPARATOR = "; "
BOM = "\ufeff"
# A spreadsheet runs a cell that starts with one of these as a formula: article text must never do so.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class Export:
    """A search whose every hit, up to a cap, is read one page of the Engine at a time."""

    def __init__(self, engine: Engine, request: SearchRequest, cap: int = EXPORT_CAP):
        # The first page is searched now, so that a bad query fails before any output.
        self.engine = engine
        self.cap = max(0, min(cap, EXPORT_CAP))
        self.request = replace(request, page=1, limit=MAX_LIMIT)
        self.first: SearchResults = engine.search(self.request)

    @property
    def expected(self) -> int:
        """How many hits the export will hold at most: the total matches, capped."""
        return min(self.first.total, self.cap)

    def hits(self) -> Iterator[dict]:
        """Yield each hit once, best first, pages of the Engine in turn, until the matches or the cap run out."""
        seen: set[str] = set()
        page, results = 1, self.first
        while True:
            for hit in results.hits:
                if hit["id"] in seen:
                    continue  # a commit between two pages can shift a hit onto the next page
                if len(seen) == self.cap:
                    return
                seen.add(hit["id"])
                yield hit
            if not results.hits or page * MAX_LIMIT >= min(results.total, EXPORT_CAP) or len(seen) >= self.cap:
                return
            page += 1
            results = self.engine.search(replace(self.request, page=page))


def stored_articles(searcher) -> Iterator[dict]:
    """Yield the stored fields of every article a searcher sees, in index order (source records left out)."""
    for fields in searcher.reader().all_stored_fields():
        if fields.get("kind") == ARTICLE:
            yield fields


def plain_snippet(snippet: str) -> str:
    """Return a snippet without the **marks** around matched words, for readers that show plain text."""
    return snippet.replace(MARK, "")


def _cell(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def csv_row(hit: dict) -> list[str]:
    """Return one article as a CSV row of CSV_COLUMNS: tags joined, snippet unmarked, no cell a formula."""
    cluster = hit.get("cluster") or {}
    values = {
        **hit,
        "tags": TAG_SEPARATOR.join(hit.get("tags") or []),
        "snippet": plain_snippet(hit.get("snippet", "")),
        "cluster": cluster.get("id", ""),
        "reprises": cluster.get("reprises", ""),
    }
    return [_cell(values.get(column)) for column in CSV_COLUMNS]


def csv_lines(hits, bom: bool = False) -> Iterator[str]:
    """Yield the CSV text of hits (RFC 4180, CRLF line ends) line by line, header first, a BOM on request."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield (BOM if bom else "") + flush()
    for hit in hits:
        writer.writerow(csv_row(hit))
        yield flush()


def jsonl_lines(hits) -> Iterator[str]:
    """Yield one JSON object per hit, as in the `hits` of the JSON contract, each on its own line."""
    for hit in hits:
        yield json.dumps(hit, ensure_ascii=False) + "\n"


def json_chunks(export: Export) -> Iterator[str]:
    """Yield the JSON contract of `newsearch query --json` with every exported hit in `hits` (page 1 of 1)."""
    data = export.first.to_dict()
    head = {key: data[key] for key in ("query", "total", "total_with_copies")}
    yield json.dumps(head, ensure_ascii=False)[:-1] + ', "page": 1, "pages": 1, "hits": ['
    for i, hit in enumerate(export.hits()):
        yield ("" if i == 0 else ", ") + json.dumps(hit, ensure_ascii=False)
    tail = {key: value for key, value in data.items() if key not in (*head, "page", "pages", "hits")}
    yield "], " + json.dumps(tail, ensure_ascii=False)[1:] + "\n"


def export_chunks(export: Export, fmt: str, bom: bool = False) -> Iterator[str]:
    """Yield the text of an export in one of FORMATS."""
    if fmt == "csv":
        return csv_lines(export.hits(), bom=bom)
    if fmt == "jsonl":
        return jsonl_lines(export.hits())
    if fmt == "json":
        return json_chunks(export)
    raise QueryError("bad_export_format", value=fmt, choices=", ".join(FORMATS))
