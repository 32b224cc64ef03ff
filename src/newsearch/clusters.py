"""Wire-copy clusters: near-duplicate articles grouped after each indexing run, kept beside the index.

The grouping needs every article's MinHash signature at once, so it is not stored in the articles: an
indexing job recomputes it after its last commit and writes `clusters.json` into the generation
(atomically). Readers load it with the searcher; an article it does not name stands alone.
"""

from __future__ import annotations

import json
from pathlib import Path

from .dates import utc_iso
from .dedup import cluster
from .schema import ARTICLE
from .store import write_atomic

CLUSTERS_FILE = "clusters.json"


def build_clusters(ix) -> dict[str, list[str]]:
    """Return {representative id: [member ids, representative first]} for clusters of two or more."""
    with ix.searcher() as searcher:
        reader = searcher.reader()
        if not reader.has_column("minhash"):
            return {}
        hashes = reader.column_reader("minhash")
        stamps = reader.column_reader("ts") if reader.has_column("ts") else None
        ids = reader.column_reader("id") if reader.has_column("id") else None
        items = []
        for docnum in searcher.document_numbers(kind=ARTICLE):
            signature = hashes[docnum]
            if not signature:
                continue
            article_id = ids[docnum] if ids is not None else searcher.stored_fields(docnum)["id"]
            stamp = stamps[docnum] if stamps is not None else 0
            # An index written before dates were bounded may hold any stamp: one must not stop every run.
            when = utc_iso(stamp) if stamp else ""
            items.append((article_id, when, signature))
    groups: dict[str, list[str]] = {}
    for article_id, representative in cluster(items).items():
        groups.setdefault(representative, []).append(article_id)
    return {rep: [rep] + sorted(m for m in members if m != rep) for rep, members in groups.items() if len(members) > 1}


def save_clusters(gen_dir: Path, clusters: dict[str, list[str]]) -> None:
    """Write the clusters of a generation atomically."""
    write_atomic(Path(gen_dir) / CLUSTERS_FILE, json.dumps(clusters, ensure_ascii=False))


def load_clusters(gen_dir: Path) -> dict[str, list[str]]:
    """Read the clusters of a generation ({} when none were computed yet)."""
    try:
        return json.loads((Path(gen_dir) / CLUSTERS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
