"""Make a 10x search index in two minutes, for search latency only: the full-corpus index, merged into one
segment, listed N times in one Whoosh table of contents.

Usage: python bench/replicate_index.py [--source bench/data/index-full] [--out bench/data/replica10-index]
                                       [--times 10]

Building the real 10x index (bench/make_scale.py + `newsearch index`) takes about an hour and ~20 GB of RAM.
This replica has exactly N times every posting list, document frequency, field length and facet value, so
what search does per query (postings walked, matches scored, counted and faceted) scales as on a real 10x
index. What differs: every article appears N times (same ids, same dates), the N segments share one file
(so its pages are cached once), and a real index has different text in its copies (bench/make_scale.py
rewrites words). Use it with `bench/run.py --scale-index-dir DIR`; do not index into it.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from whoosh.index import TOC  # noqa: E402

from newsearch.store import META, DurableFileStorage, IndexStore, open_whoosh  # noqa: E402

DATA = ROOT / "bench" / "data"
REPLICA_META = "replica.json"


def merged_copy(source: Path, work: Path) -> Path:
    """Copy the live generation of an index directory and merge it into one segment; return the copy."""
    shutil.rmtree(work, ignore_errors=True)
    gen = IndexStore(source).current_dir()
    shutil.copytree(gen, work)
    ix = open_whoosh(work)
    ix.writer(limitmb=256).commit(optimize=True)
    return work


def replicate(source: Path, out: Path, times: int) -> dict:
    started = time.perf_counter()
    work = merged_copy(source, DATA / "replica-merged.tmp")
    toc = open_whoosh(work)._read_toc()
    (segment,) = toc.segments
    shutil.rmtree(out, ignore_errors=True)
    gen = out / "gen-000001"
    gen.mkdir(parents=True)
    for name in (META, "clusters.json"):
        if (work / name).exists():
            shutil.copy(work / name, gen / name)
    for name in os.listdir(work):
        if name.startswith(f"MAIN_{segment.segid}"):
            os.replace(work / name, gen / name)
    # The same segment N times: its compound file names its parts by its id, so the copies share the file.
    TOC(toc.schema, [copy.copy(segment) for _ in range(times)], 1).write(DurableFileStorage(str(gen)), "MAIN")
    (out / "CURRENT").write_text("gen-000001\n", encoding="utf-8")
    shutil.rmtree(work, ignore_errors=True)
    reader = open_whoosh(gen).reader()
    meta = {
        "source": str(source),
        "times": times,
        "documents": reader.doc_count(),
        "made": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "seconds": round(time.perf_counter() - started, 1),
    }
    reader.close()
    (out / REPLICA_META).write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return meta


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DATA / "index-full")
    parser.add_argument("--out", type=Path, default=DATA / "replica10-index")
    parser.add_argument("--times", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(replicate(args.source, args.out, args.times)))


if __name__ == "__main__":
    main()
