"""Load benchmark (issue 14): cheap queries measured while costly clients hammer a real `newsearch serve`.

Run: .venv/bin/python bench/bench_overload.py [--index DIR] [--costly 30 200] [--seconds 20] [--searches N]
     .venv/bin/python bench/bench_overload.py --calibrate      (the cost estimate next to measured times)

The server runs in its own process (the real CLI, waitress and admission control included) on a loopback
port; this process is the clients. For each flood size M: 2 cheap clients send everyday queries one after the
other while M costly clients (each its own keep-alive connection) send hostile ones (2,000 characters of
nonsense words, fuzzy words, pasted passages, the deepest page) for --seconds, never waiting between requests
(Retry-After ignored, as a hostile client would). Then the flood stops, and the table gives the seconds until a
cheap query is answered within 1 s and until a costly one is admitted again, with the cheap queries' median,
p99 and max and the costly requests' times and status counts.
--searches passes `serve --searches` (e.g. 16 to see the server with admission control out of the way).
"""

from __future__ import annotations

import argparse
import http.client
import random
import statistics
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode

from bench_api import DEFAULT_CORPUS, ensure_index, free_port, percentile, start_server

ROOT = Path(__file__).resolve().parents[1]
SHARED_INDEX = Path("/work/full-index")
DEFAULT_INDEX = SHARED_INDEX if (SHARED_INDEX / "CURRENT").is_file() else ROOT / "bench" / "data" / "index-full"

CHEAP = [
    {"q": "retraites"},
    {"q": "gilets jaunes"},
    {"q": '"réforme des retraites"'},
    {"q": "grève", "tag": "France"},
    {"q": "macron", "since": "2019"},
    {},
]
_rng = random.Random(14)
NONSENSE = " ".join("".join(_rng.choice("bcdfghjklmnpqrstvxz") for _ in range(7)) for _ in range(250))
COSTLY = [
    {"q": NONSENSE[:1990]},
    {"q": NONSENSE[:200]},
    {"q": "hopitale~ gouvernment~ eleciton~ manifestattion~"},
    {"q": "le gouvernement a annoncé mardi de nouvelles mesures pour soutenir les entreprises " * 3},
    {"q": "france", "page": "100", "limit": "100", "sort": "recent"},
]


def path_of(args: dict) -> str:
    return "/api/search?" + urlencode(args)


class Client(threading.Thread):
    """Sends its queries in turn on one keep-alive connection until stopped; records (status, seconds)."""

    def __init__(self, port: int, queries: list[dict], stop: threading.Event, offset: int = 0):
        super().__init__(daemon=True)
        self.port, self.queries, self.stop, self.offset = port, queries, stop, offset
        self.samples: list[tuple[int, float]] = []

    def run(self):
        connection = None
        n = self.offset
        while not self.stop.is_set():
            path = path_of(self.queries[n % len(self.queries)])
            n += 1
            started = time.perf_counter()
            try:
                connection = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                status = response.status
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException):
                status = 0  # no answer: refused, reset or timed out
                connection = None
            self.samples.append((status, time.perf_counter() - started))


def single(port: int, args: dict) -> tuple[int, float]:
    started = time.perf_counter()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", path_of(args))
        response = connection.getresponse()
        response.read()
        connection.close()
        return response.status, time.perf_counter() - started
    except (OSError, http.client.HTTPException):
        return 0, time.perf_counter() - started


def recovery(port: int) -> tuple[float, float]:
    """Seconds from now until a cheap query is answered 200 within 1 s, and until a costly one is answered 200."""
    started = time.monotonic()
    cheap = costly = float("inf")
    while time.monotonic() - started < 120 and (cheap == float("inf") or costly == float("inf")):
        if cheap == float("inf"):
            status, seconds = single(port, CHEAP[0])
            if status == 200 and seconds <= 1.0:
                cheap = time.monotonic() - started
        if costly == float("inf") and single(port, COSTLY[3])[0] == 200:
            costly = time.monotonic() - started
        time.sleep(0.1)
    return cheap, costly


def flood(port: int, costly_clients: int, seconds: float) -> dict:
    stop = threading.Event()
    cheap = [Client(port, CHEAP, stop, offset=i) for i in range(2)]
    costly = [Client(port, COSTLY, stop, offset=i) for i in range(costly_clients)]
    for client in costly + cheap:
        client.start()
    time.sleep(seconds)
    stop.set()
    recovered = recovery(port)
    for client in costly + cheap:
        client.join(180)
    return {
        "cheap": [s for c in cheap for s in c.samples],
        "costly": [s for c in costly for s in c.samples],
        "recovery": recovered,
    }


def print_rows(rows: list[tuple[int, dict]], idle: list[float]) -> None:
    print("\n/api/search on the full corpus, loopback, 2 cheap clients while M costly clients hammer (seconds)\n")
    head = f"{'M':>4} {'cheap n':>7} {'median':>7} {'p99':>7} {'max':>7} {'cheap statuses':<18}"
    head += f" {'costly n':>8} {'median':>7} {'max':>7} {'costly statuses':<28} {'back: cheap':>11} {'costly':>7}"
    print(head)
    print("-" * len(head))
    print(f"{0:>4} {len(idle):>7} {statistics.median(idle):>7.3f} {percentile(idle, 99):>7.3f} {max(idle):>7.3f}")
    for m, result in rows:
        cheap = [t for _, t in result["cheap"]]
        costly = [t for _, t in result["costly"]]
        cheap_status = dict(sorted(Counter(s for s, _ in result["cheap"]).items()))
        costly_status = dict(sorted(Counter(s for s, _ in result["costly"]).items()))
        ok = [t for s, t in result["costly"] if s == 200]
        line = (
            f"{m:>4} {len(cheap):>7} {statistics.median(cheap):>7.3f} {percentile(cheap, 99):>7.3f} {max(cheap):>7.3f}"
        )
        line += f" {str(cheap_status):<18} {len(costly):>8} {statistics.median(costly):>7.3f} {max(costly):>7.3f}"
        line += f" {str(costly_status):<28} {result['recovery'][0]:>11.2f} {result['recovery'][1]:>7.2f}"
        print(line)
        if ok:
            print(f"{'':>4} costly answered 200: median {statistics.median(ok):.3f} s, max {max(ok):.3f} s")
    print("\nstatus 0 = no answer (refused, reset or timed out); back = seconds from the end of the flood until a")
    print("cheap query is answered 200 within 1 s, and until a costly one is answered 200 (not 503)")


def calibrate(index: Path) -> None:
    """Print each benchmark query's estimated cost next to its measured time (Engine, time limit 2 s)."""
    from newsearch.admission import COSTLY as THRESHOLD
    from newsearch.admission import estimate_cost
    from newsearch.errors import NewsearchError
    from newsearch.search import Engine
    from newsearch.web import search_request_from_args

    class Args(dict):
        def getlist(self, name):
            return [self[name]] if name in self else []

    engine = Engine(index, time_limit=2.0)
    print(f"{'query':<52} {'estimate':>8} {'lane':<7} {'median s':>8}")
    for args in CHEAP + COSTLY:
        request = search_request_from_args(Args(args))
        times = []
        for _ in range(3):
            started = time.perf_counter()
            try:
                engine.search(search_request_from_args(Args(args)))
            except NewsearchError:
                pass
            times.append(time.perf_counter() - started)
        cost = estimate_cost(request)
        label = urlencode(args)[:50] or "(browse)"
        lane = "costly" if cost >= THRESHOLD else "cheap"
        print(f"{label:<52} {cost:>8.1f} {lane:<7} {statistics.median(times):>8.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--costly", type=int, nargs="+", default=[30, 200], help="flood sizes M")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long each flood lasts")
    parser.add_argument("--threads", type=int, default=16, help="serve --threads")
    parser.add_argument("--searches", type=int, default=None, help="serve --searches")
    parser.add_argument("--calibrate", action="store_true")
    options = parser.parse_args()

    ensure_index(options.index, options.corpus)
    if options.calibrate:
        calibrate(options.index)
        return
    port = free_port()
    extra = ["--searches", str(options.searches)] if options.searches else []
    server = start_server(options.index, port, options.threads, *extra)
    try:
        for args in CHEAP + COSTLY:
            single(port, args)  # warm-up: first sight of each query
        idle = [single(port, CHEAP[i % len(CHEAP)])[1] for i in range(30)]
        rows = []
        for m in options.costly:
            rows.append((m, flood(port, m, options.seconds)))
            print(f"flood of {m} done", file=sys.stderr)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(
        f"index {options.index} · serve --threads {options.threads} {' '.join(extra)} · {options.seconds:.0f} s floods"
    )
    print_rows(rows, idle)


if __name__ == "__main__":
    main()
