"""Indexing speed (issue 18): one or more versions of newsearch, interleaved, on the 10k subset or the full corpus.

Usage: python bench/bench_indexspeed.py [--src REV_OR_DIR]… [--runs 3] [--full-corpus] [--workers N]

Each run is `Indexer(IndexStore(tmp)).run([corpus], full=True)` in a fresh child process (clusters and facet
cache included, as `newsearch index` does), for each --src in turn, round after round, so that the machine's
drift falls on every version alike. Prints, per version, the median wall and CPU time (user + system of the job
and its workers, from wait4) and the peak RSS of the job and its workers together (sampled every 0.25 s).
--keep DIR keeps each version's last index (DIR/0, DIR/1…), to compare their content. --src is a commit (a clean snapshot of its src/ is measured) or a folder holding the newsearch package's
parent; the default is this checkout's src/. The subset is the corpus's first 10,000 articles, written once to
bench/data/subset-10k.jsonl.gz.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from run import CORPUS, DATA, INDEX_CHILD, load, run_child  # noqa: E402

SUBSET = DATA / "subset-10k.jsonl.gz"
SUBSET_SIZE = 10_000


def subset() -> Path:
    """Return the file of the corpus's first 10,000 articles, writing it the first time."""
    if not SUBSET.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        tmp = SUBSET.with_suffix(".tmp")
        with gzip.open(CORPUS, "rt", encoding="utf-8") as src, gzip.open(tmp, "wt", encoding="utf-8") as out:
            for n, line in enumerate(src):
                if n >= SUBSET_SIZE:
                    break
                out.write(line)
        tmp.replace(SUBSET)
    return SUBSET


def source_dir(spec: str) -> tuple[str, Path]:
    """Return (label, folder holding the newsearch package) for a --src value."""
    if Path(spec).is_dir():
        return spec, Path(spec).resolve()
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", spec], check=True, capture_output=True, text=True
    ).stdout.strip()
    target = DATA / f"src-{sha}"
    if not (target / "src" / "newsearch").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", sha, "src"], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return f"{spec} ({sha})", target / "src"


CHILD_WORKERS = """
import json, sys, time
sys.path.insert(0, sys.argv[3])
from newsearch.indexer import Indexer
from newsearch.store import IndexStore
started = time.monotonic()
report = Indexer(IndexStore(sys.argv[1]), workers=int(sys.argv[4])).run([sys.argv[2]], full=True)
print(json.dumps({"documents": report.documents, "seconds": time.monotonic() - started,
                  "commits": report.commits, "skipped": len(report.skipped)}))
"""


def one_run(src: Path, corpus: Path, workers: int | None, keep: Path | None = None) -> dict:
    index_dir = Path(tempfile.mkdtemp(prefix="bench-indexspeed-"))
    try:
        argv = [sys.executable, "-c", INDEX_CHILD, str(index_dir), str(corpus), str(src)]
        if workers is not None:
            argv = [sys.executable, "-c", CHILD_WORKERS, str(index_dir), str(corpus), str(src), str(workers)]
        wall, _, out, cpu, total = run_child(argv)
        report = json.loads(out.strip().splitlines()[-1])
    finally:
        if keep is not None:
            shutil.rmtree(keep, ignore_errors=True)
            shutil.move(str(index_dir), keep)
        shutil.rmtree(index_dir, ignore_errors=True)
    return {"wall": wall, "cpu": cpu, "rss_mb": total / 2**20, "documents": report["documents"], "load": load()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--src", action="append", help="commit or folder (repeatable); default: this checkout")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--full-corpus", action="store_true", help="the 33,954 articles instead of the 10k subset")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--keep", type=Path, help="keep each version's last index in KEEP/<n> (n: its --src position)")
    args = parser.parse_args()
    corpus = CORPUS if args.full_corpus else subset()
    versions = [source_dir(s) for s in (args.src or [str(ROOT / "src")])]
    results: dict[str, list[dict]] = {label: [] for label, _ in versions}
    for round_no in range(args.runs):
        for n, (label, src) in enumerate(versions):
            r = one_run(src, corpus, args.workers, args.keep / str(n) if args.keep else None)
            results[label].append(r)
            print(
                f"round {round_no + 1} {label}: {r['wall']:.1f} s wall, {r['cpu']:.1f} s CPU, "
                f"{r['rss_mb']:.0f} MB, {r['documents']} articles, load {r['load']}",
                file=sys.stderr,
                flush=True,
            )
    print(f"\n{corpus.name}, {args.runs} runs each, interleaved; {os.cpu_count()} cores\n")
    print("| version | wall median (s) | CPU median (s) | peak RSS, all processes (MB) | runs (wall) |")
    print("|---|---:|---:|---:|---|")
    for label, runs in results.items():
        walls = [r["wall"] for r in runs]
        print(
            f"| {label} | {statistics.median(walls):.1f} | {statistics.median(r['cpu'] for r in runs):.1f} | "
            f"{max(r['rss_mb'] for r in runs):.0f} | {' / '.join(f'{w:.1f}' for w in walls)} |"
        )


if __name__ == "__main__":
    main()
