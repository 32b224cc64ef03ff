"""Plain Whoosh defaults, the baseline of bench/run.py: what a first attempt without newsearch's work looks like.

Usage: python bench/baseline.py index CORPUS.jsonl[.gz] DIR     (prints {"documents": N} as JSON)
       python bench/baseline.py query DIR "QUERY" [--tag T] [--since D] [--until D] [--sort date]

Schema: StandardAnalyzer TEXT title and body (stored, for highlights), KEYWORD tags (comma-separated, stored:
tags hold spaces), DATETIME date (UTC, stored), ID id. One writer with Whoosh's defaults (limitmb=128,
procs=1), one commit. Search: Whoosh's default MultifieldParser over title and body (AND of words; a pasted
passage of more than 6 words is parsed with OrGroup, as newsearch does, else it matches nothing), the BM25F
default weighting, tag and date filters as a `filter=` query, facets with `groupedby` (FieldFacet on tags,
DateRangeFacet by month over the corpus's dates, or by year when they span more than three years), sort by
date with `sortedby="date", reverse=True`, and snippets from `hit.highlights("body")` (ContextFragmenter,
HtmlFormatter).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from whoosh import index, qparser, sorting
from whoosh import query as wq
from whoosh.fields import DATETIME, ID, KEYWORD, TEXT, Schema
from whoosh.support.relativedelta import relativedelta

META = "baseline.json"
LONG_QUERY_WORDS = 6


def build_schema() -> Schema:
    return Schema(
        id=ID(stored=True, unique=True),
        title=TEXT(stored=True),
        body=TEXT(stored=True),
        tags=KEYWORD(stored=True, commas=True, lowercase=True),
        date=DATETIME(stored=True),
    )


def to_utc(text: str | None) -> datetime | None:
    """Return a naive UTC datetime (Whoosh compares DATETIME values without their offsets)."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def parse_bound(text: str, end: bool = False) -> datetime:
    """YYYY, YYYY-MM or YYYY-MM-DD as the first (or, with end, the last) moment of that period."""
    parts = [int(p) for p in text.split("-")]
    start = datetime(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    if not end:
        return start
    step = relativedelta(years=1) if len(parts) == 1 else relativedelta(months=1) if len(parts) == 2 else timedelta(1)
    return start + step - timedelta(microseconds=1)


def records(path: Path):
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def build(corpus: Path, index_dir: Path) -> dict:
    """Index a JSONL corpus with Whoosh's defaults."""
    index_dir.mkdir(parents=True, exist_ok=True)
    ix = index.create_in(str(index_dir), build_schema())
    writer = ix.writer()
    count, first, last = 0, None, None
    for rec in records(corpus):
        doc = {"id": rec["id"], "title": rec.get("title") or "", "body": rec.get("body") or ""}
        if rec.get("tags"):
            doc["tags"] = ",".join(rec["tags"])
        moment = to_utc(rec.get("date"))
        if moment is not None:
            doc["date"] = moment
            first = moment if first is None or moment < first else first
            last = moment if last is None or moment > last else last
        writer.add_document(**doc)
        count += 1
    writer.commit()
    meta = {
        "documents": count,
        "first": first.isoformat() if first else None,
        "last": last.isoformat() if last else None,
    }
    (index_dir / META).write_text(json.dumps(meta))
    return meta


class Baseline:
    """A searcher over a baseline index, answering the same requests as newsearch's Engine."""

    def __init__(self, index_dir: Path):
        self.ix = index.open_dir(str(index_dir))
        self.searcher = self.ix.searcher()
        meta = json.loads((Path(index_dir) / META).read_text())
        first, last = datetime.fromisoformat(meta["first"]), datetime.fromisoformat(meta["last"])
        start = datetime(first.year, first.month, 1)
        by_year = (last.year - first.year) * 12 + (last.month - first.month) >= 36
        if by_year:
            start = datetime(first.year, 1, 1)
        self.date_facet = sorting.DateRangeFacet(
            "date", start, last + timedelta(seconds=1), relativedelta(years=1) if by_year else relativedelta(months=1)
        )
        self.parsers = {
            group: qparser.MultifieldParser(["title", "body"], self.ix.schema, group=group)
            for group in (qparser.AndGroup, qparser.OrGroup)
        }

    def search(self, q: str = "", tags=(), since=None, until=None, sort="relevance", page=1, limit=10) -> dict:
        long_query = len(q.split()) > LONG_QUERY_WORDS
        query = self.parsers[qparser.OrGroup if long_query else qparser.AndGroup].parse(q) if q else wq.Every()
        filters = [wq.Term("tags", t.lower()) for t in tags]
        if since or until:
            filters.append(
                wq.DateRange(
                    "date", parse_bound(since) if since else None, parse_bound(until, end=True) if until else None
                )
            )
        flt = wq.And(filters) if len(filters) > 1 else (filters[0] if filters else None)
        kwargs = {"sortedby": "date", "reverse": True} if sort == "date" else {}
        facets = {"tags": sorting.FieldFacet("tags", allow_overlap=True), "date": self.date_facet}
        results = self.searcher.search_page(query, page, pagelen=limit, filter=flt, groupedby=facets, **kwargs)
        hits = [
            {"id": hit["id"], "title": hit["title"], "date": hit.get("date"), "snippet": hit.highlights("body")}
            for hit in results
        ]
        groups = results.results.groups
        return {
            "total": len(results),
            "hits": hits,
            "facets": {
                "tags": sorted(((k, len(v)) for k, v in groups("tags").items()), key=lambda kv: -kv[1]),
                "date": sorted((str(k), len(v)) for k, v in groups("date").items()),
            },
        }

    def close(self):
        self.searcher.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("index")
    p.add_argument("corpus", type=Path)
    p.add_argument("index_dir", type=Path)
    p = sub.add_parser("query")
    p.add_argument("index_dir", type=Path)
    p.add_argument("q")
    p.add_argument("--tag", action="append", default=[])
    p.add_argument("--since")
    p.add_argument("--until")
    p.add_argument("--sort", default="relevance")
    args = parser.parse_args()
    if args.command == "index":
        print(json.dumps(build(args.corpus, args.index_dir)))
    else:
        base = Baseline(args.index_dir)
        out = base.search(args.q, tags=args.tag, since=args.since, until=args.until, sort=args.sort)
        json.dump(out, sys.stdout, ensure_ascii=False, indent=1, default=str)
        print()


if __name__ == "__main__":
    main()
