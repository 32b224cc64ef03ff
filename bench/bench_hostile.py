"""Hostile queries against the Engine on the full corpus, with the web app's 2 s budget: time and outcome.

    python bench/bench_hostile.py [--index bench/data/index-full] [--runs 5]

Each query runs --runs times in a row (the first cold, the others on filled caches); prints the outcome
(ok, partial, 400, 503), the median and the slowest time. Run it with PYTHONPATH=<other checkout>/src
to measure another version of the Engine on the same index.
"""

from __future__ import annotations

import argparse
import random
import statistics
import string
import time
from pathlib import Path

from newsearch.errors import NewsearchError
from newsearch.search import Engine, SearchRequest

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 2.0


def nonsense(chars: int, seed: int = 14) -> str:
    """Words of random letters, chars long: no index word, every one a candidate for "did you mean"."""
    rng = random.Random(seed)
    words = []
    while sum(len(w) + 1 for w in words) < chars:
        words.append("".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(5, 12))))
    return " ".join(words)[:chars].rsplit(" ", 1)[0]


CASES = {
    "cheap: retraites": {"q": "retraites"},
    "2,000 chars of nonsense words": {"q": nonsense(1990)},
    "6 nonsense words (keywords)": {"q": " ".join(nonsense(200).split()[:6])},
    "60 nonsense words OR-ed (keywords)": {"q": " OR ".join(nonsense(800).split()[:60])},
    "» alone": {"q": "»"},
    "[~": {"q": "[~"},
    "retraites AND": {"q": "retraites AND"},
    "title:": {"q": "title:"},
    "since=9999": {"q": "", "since": "9999"},
    "700 tags": {"q": "santé", "tags": [f"t{i}" for i in range(700)]},
    "OR of 60 common words": {"q": " OR ".join(["france", "prix", "gouvernement", "police", "ville"] * 12)},
}


def run_case(engine: Engine, fields: dict, runs: int) -> tuple[str, list[float]]:
    times, outcome = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        try:
            results = engine.search(SearchRequest(**fields))
            outcome = "partial" if getattr(results, "partial", False) else f"ok ({results.total})"
        except NewsearchError as exc:
            outcome = str(getattr(exc, "status", 400))
        except Exception as exc:  # what the bench is for: an older Engine may crash on these
            outcome = f"crash {type(exc).__name__}"
        times.append(time.perf_counter() - start)
    return outcome, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, default=ROOT / "bench" / "data" / "index-full")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    engine = Engine(args.index, time_limit=BUDGET)
    engine.search(SearchRequest(q="retraites"))  # facet and leaf caches built, as in a running server
    print(f"{'query':34} {'outcome':14} {'median s':>9} {'max s':>7}")
    for name, fields in CASES.items():
        outcome, times = run_case(engine, fields, args.runs)
        print(f"{name:34} {outcome:14} {statistics.median(times):9.3f} {max(times):7.3f}")


if __name__ == "__main__":
    main()
