"""Benchmark /api/suggest (browser search-bar completion) over loopback on the full OrangeSum corpus.

Run: .venv/bin/python bench/bench_suggest.py [--index DIR] [--rounds 30]

Uses --index, else /work/full-index when it holds a usable index (opened read-only), else builds
bench/data/index-full from ../shared like bench_api.py. Prints the time to build the lexicon (the first
suggestion after a start or a commit pays it), then median and 95th-percentile latency per kind of typing,
the server in its own process (`newsearch serve`, waitress), one keep-alive connection, one request at a time.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from bench_api import DEFAULT_CORPUS, DEFAULT_INDEX, ensure_index, free_port, percentile, start_server, timed_get
from newsearch.search import Engine
from newsearch.suggest import Lexicon

SHARED_INDEX = Path("/work/full-index")
TYPED = [
    ("1 letter", ["r", "m", "é", "p", "c"]),
    ("2 letters", ["ré", "ma", "gr", "pa", "co"]),
    ("3-4 letters", ["réfo", "macr", "grèv", "pari", "covi"]),
    ("whole word", ["retraites", "macron", "confinement", "police", "incendie"]),
    ("two words", ["réforme des re", "gilets ja", "coupe du mo", "état d'ur", "emmanuel ma"]),
    ("elision", ["l'é", "d'ur", "l’ass", "qu'o", "jusqu'à"]),
    ("nothing", ["zzqx", "ornithorynqx", "", "   ", "«»"]),
]


def pick_index(given: str | None) -> Path:
    if given:
        return Path(given)
    if (SHARED_INDEX / "CURRENT").is_file():
        try:
            Engine(SHARED_INDEX)
            return SHARED_INDEX
        except Exception as exc:  # another version or a build in progress: fall back to our own index
            print(f"not using {SHARED_INDEX}: {exc}", file=sys.stderr)
    ensure_index(DEFAULT_INDEX, DEFAULT_CORPUS)
    return DEFAULT_INDEX


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index")
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    index = pick_index(args.index)
    engine = Engine(index)
    searcher, cache = engine.refresh()
    builds = []
    for _ in range(3):
        start = time.perf_counter()
        lexicon = Lexicon(searcher)
        builds.append(time.perf_counter() - start)
    print(
        f"index {index}: {len(cache.articles)} articles; lexicon {len(lexicon.titles)} titles, {len(lexicon.words)} words"
    )
    print(f"lexicon build (in process, 3 runs): median {statistics.median(builds):.2f} s")

    port = free_port()
    server = start_server(index, port, threads=4)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

        def get(typed):
            elapsed, status, body = timed_get(conn, "/api/suggest?" + urlencode({"q": typed}))
            assert status == 200, body
            return elapsed, body

        first, _ = get("ré")  # builds the server's lexicon
        print(f"first /api/suggest after start (builds the lexicon): {first * 1000:.0f} ms\n")
        print("| typed | median ms | p95 ms | suggestions (first query) |\n|---|---:|---:|---|")
        every = []
        for label, typed_list in TYPED:
            times = []
            for typed in typed_list:
                get(typed)
                times += [get(typed)[0] for _ in range(args.rounds)]
            every += times
            shown = get(typed_list[0])[1][1][:4]
            print(f"| {label} | {statistics.median(times) * 1000:.2f} | {percentile(times, 95) * 1000:.2f} | {shown} |")
        print(f"| **all** | **{statistics.median(every) * 1000:.2f}** | **{percentile(every, 95) * 1000:.2f}** | |")
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
