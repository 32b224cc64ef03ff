"""Benchmark `newsearch query --format csv` (a whole result set, streamed) on the full OrangeSum corpus.

Run: .venv/bin/python bench/bench_export.py [--index DIR] [--runs 3]

Each export runs the real CLI in its own process, output to /dev/null; the table shows the median wall time
of --runs runs, the rows written, and the peak RSS, against one page of the same query with --json.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import time

from bench_api import NEWSEARCH
from bench_suggest import pick_index

QUERIES = ["ornithorynque OR kangourou", "incendie", "macron", "france"]


def run(args: list[str]) -> tuple[float, int, int]:
    """Return (seconds, lines written, peak RSS in MB of the child) for one CLI run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([str(NEWSEARCH), *args], capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    peak = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return elapsed, done.stdout.count(b"\n"), peak // 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    index = str(pick_index(args.index))
    print("| query | rows | CSV export, median s | rows/s | one --json page, median s | peak RSS MB (max so far) |")
    print("|---|---:|---:|---:|---:|---:|")
    for q in QUERIES:
        exports = [run(["query", q, "--index", index, "--format", "csv"]) for _ in range(args.runs)]
        pages = [run(["query", q, "--index", index, "--json"]) for _ in range(args.runs)]
        seconds = statistics.median(e[0] for e in exports)
        rows = exports[0][1] - 1
        print(f"| {q} | {rows} | {seconds:.2f} | {rows / seconds:.0f} | "
              f"{statistics.median(p[0] for p in pages):.2f} | {max(e[2] for e in exports)} |")  # fmt: skip


if __name__ == "__main__":
    main()
