"""Benchmark /api/search latency over loopback against `newsearch serve` on the full OrangeSum corpus.

Run: .venv/bin/python bench/bench_api.py [--rounds 20] [--threads 4]

The server runs in its own process (the real CLI, waitress included); this process is the client, one
keep-alive connection, one request at a time. Each query is sent once to warm up, then --rounds times;
the table shows median and 95th-percentile wall time per query, facets included (the Engine always
computes them). The index is built into bench/data/index-full (git-ignored) when missing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
NEWSEARCH = Path(sys.executable).with_name("newsearch")
DEFAULT_INDEX = ROOT / "bench" / "data" / "index-full"
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "orangesum.jsonl.gz"

# (label, query arguments): words, phrases, operators, fields, filters, sorting, deep pages, typos, browsing.
QUERIES = [
    ("one word", {"q": "macron"}),
    ("two words", {"q": "gilets jaunes"}),
    ("rare word", {"q": "ornithorynque"}),
    ("phrase", {"q": '"réforme des retraites"'}),
    ("French quotes", {"q": "« état d'urgence sanitaire »"}),
    ("OR", {"q": "coupe du monde OR mondial"}),
    ("exclusion", {"q": "incendie -forêt"}),
    ("title field", {"q": "titre:trump"}),
    ("tag field", {"q": "tag:santé vaccin"}),
    ("typo → suggestion", {"q": "emanuel macrom"}),
    ("fuzzy", {"q": "hopitale~1"}),
    ("pasted passage", {"q": "le gouvernement a annoncé mardi de nouvelles mesures pour soutenir les entreprises"}),
    ("word + tag", {"q": "grève", "tag": "France"}),
    ("word + 2 tags", {"q": "masques", "tag": ["santé", "France"]}),
    ("word + year", {"q": "élections", "since": "2017", "until": "2017"}),
    ("word + month", {"q": "confinement", "since": "2020-03", "until": "2020-03"}),
    ("word, by date", {"q": "police", "sort": "date"}),
    ("word, page 5", {"q": "france", "page": "5"}),
    ("word, 100 hits", {"q": "paris", "limit": "100"}),
    ("browse all", {}),
    ("browse tag", {"tag": "Politique"}),
    ("browse year", {"since": "2019", "until": "2019"}),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_index(index_dir: Path, corpus: Path) -> None:
    """Build the full-corpus index when it is missing (takes a minute or two)."""
    if (index_dir / "CURRENT").is_file():
        return
    if not corpus.is_file():
        sys.exit(f"no index in {index_dir} and no corpus at {corpus}")
    print(f"indexing {corpus} into {index_dir} …", file=sys.stderr)
    subprocess.run([str(NEWSEARCH), "index", str(corpus), "--index", str(index_dir)], check=True)


def start_server(index_dir: Path, port: int, threads: int, *options: str) -> subprocess.Popen:
    """Start `newsearch serve` (with more `options` if given) and wait until it answers."""
    # The server's log goes to a file: a pipe nobody reads fills up under load (waitress warns of its task queue
    # depth) and then blocks every thread that logs.
    log = tempfile.TemporaryFile("w+")
    server = subprocess.Popen(
        [str(NEWSEARCH), "serve", "--index", str(index_dir), "--port", str(port), "--threads", str(threads), *options],
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            sys.exit(f"newsearch serve exited with {server.returncode}: {log.read()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/api/search?limit=1")
            if conn.getresponse().status == 200:
                conn.close()
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    sys.exit("newsearch serve did not answer within 120 s")


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least p% of samples at or below it."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)]


def timed_get(conn: http.client.HTTPConnection, path: str) -> tuple[float, int, dict]:
    started = time.perf_counter()
    conn.request("GET", path)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    return elapsed, response.status, json.loads(body)


def run(port: int, rounds: int) -> list[tuple[str, int, int, list[float]]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    rows = []
    for label, args in QUERIES:
        path = "/api/search?" + urlencode(args, doseq=True)
        _, status, data = timed_get(conn, path)  # warm-up: first sight of a query, searcher caches
        if status != 200:
            sys.exit(f"{label}: HTTP {status}: {data}")
        samples = [timed_get(conn, path)[0] for _ in range(rounds)]
        rows.append((label, data["total"], samples))
    conn.close()
    return rows


def print_table(rows, rounds: int) -> None:
    print(f"\n/api/search over loopback, {rounds} timed requests per query after one warm-up (ms)\n")
    print(f"{'query':<20} {'hits':>7} {'median':>8} {'p95':>8} {'max':>8}")
    print("-" * 55)
    every = []
    for label, total, samples in rows:
        every += samples
        ms = [s * 1000 for s in samples]
        print(f"{label:<20} {total:>7} {statistics.median(ms):>8.1f} {percentile(ms, 95):>8.1f} {max(ms):>8.1f}")
    ms = [s * 1000 for s in every]
    print("-" * 55)
    print(f"{'all queries':<20} {'':>7} {statistics.median(ms):>8.1f} {percentile(ms, 95):>8.1f} {max(ms):>8.1f}")
    print(f"\n{len(every)} requests, {len(every) / sum(every):.1f} requests/s one at a time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--threads", type=int, default=4, help="waitress threads of the server")
    options = parser.parse_args()

    ensure_index(options.index, options.corpus)
    port = free_port()
    server = start_server(options.index, port, options.threads)
    try:
        rows = run(port, options.rounds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"index {options.index} · server pid {server.pid} · client pid {os.getpid()}")
    print_table(rows, options.rounds)


if __name__ == "__main__":
    main()
