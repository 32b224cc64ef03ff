"""Profiles behind bench/RESULTS.md: where search, the one-shot CLI and indexing spend their time.

Usage:
  python bench/profile_hotspots.py search INDEX [--rounds 5] [--label L]… [--pyspy]
                                          cProfile (or py-spy sampling) over run.py's query set
  python bench/profile_hotspots.py oneshot INDEX                           imports and cProfile of one `query`
  python bench/profile_hotspots.py index CORPUS [--rate 100]               py-spy sampling of a full index build
  python bench/profile_hotspots.py phases INDEX [--rounds 5]              time per phase of Engine.search
  python bench/profile_hotspots.py memory CORPUS [--limitmb MB]…          peak RSS after each step of indexing

Each prints the top functions as file:function with self (tottime) and inclusive (cumtime) time, per search
for `search`. `index` needs py-spy (pip install py-spy); it indexes into bench/data/profile-index.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import io
import os
import pstats
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = Path(os.environ.get("BENCH_SRC") or ROOT / "src")  # BENCH_SRC=bench/data/src-<sha>/src: a snapshot
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(ROOT / "bench"))

DATA = ROOT / "bench" / "data"


def short(filename: str) -> str:
    for marker in ("site-packages/", "/src/", "/lib/python3"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def print_stats(profile: cProfile.Profile, per: int, top: int, title: str) -> None:
    stats = pstats.Stats(profile, stream=io.StringIO())
    rows = []
    for (filename, _line, func), (_cc, nc, tt, ct, _callers) in stats.stats.items():
        rows.append((f"{short(filename)}:{func}", nc, tt, ct))
    total = max(ct for *_, ct in rows)
    for key, name in ((2, "self time (tottime)"), (3, "inclusive time (cumtime)")):
        print(f"\n{title}: top {top} by {name}, ms per unit of work (÷{per}); total {total / per * 1000:.1f} ms\n")
        print(f"{'function':<70} {'calls':>9} {'self ms':>9} {'incl ms':>9} {'incl %':>7}")
        for fn, nc, tt, ct in sorted(rows, key=lambda r: -r[key])[:top]:
            print(f"{fn[:70]:<70} {nc / per:>9.1f} {tt / per * 1000:>9.2f} {ct / per * 1000:>9.2f} {ct / total:>7.1%}")


def profile_search(index_dir: Path, rounds: int, labels: list[str], top: int) -> None:
    from newsearch.search import Engine
    from run import QUERIES, request_of

    queries = [(lab, a) for lab, a in QUERIES if not labels or lab in labels]
    engine = Engine(index_dir)
    for _, args in queries:  # warm-up, as in run.py
        engine.search(request_of(args))
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    for _ in range(rounds):
        for _, args in queries:
            engine.search(request_of(args))
    profile.disable()
    n = rounds * len(queries)
    print(f"{n} searches ({len(queries)} queries × {rounds}) in {time.perf_counter() - started:.1f} s under cProfile")
    print_stats(profile, n, 30, "search")
    # The FacetCache is built once per commit and saved beside the index: profile an open that loads it, then
    # one that builds it (the saved file removed first: it is only a cache).
    profile = cProfile.Profile()
    profile.enable()
    engine._open()
    profile.disable()
    print_stats(profile, 1, 15, "Engine._open (open + saved FacetCache)")
    for saved in engine.store.current_dir().glob("facets-*.pickle"):
        saved.unlink()
    profile = cProfile.Profile()
    profile.enable()
    engine._open()
    profile.disable()
    print_stats(profile, 1, 15, "Engine._open (open + FacetCache built from the postings)")


PHASES = {
    "refresh": ("Engine", "refresh"),
    "parse": ("module", "parse_query"),
    "match+count": ("Engine", "_run"),
    "snippets": ("Engine", "_hit"),
    "facets": ("Engine", "_facets"),
    "suggest": ("Engine", "suggest"),
}


def profile_phases(index_dir: Path, rounds: int) -> None:
    """Wall time of each phase of Engine.search per query (median over rounds), by wrapping its methods."""
    import statistics

    from newsearch import search as ns
    from run import QUERIES, request_of

    spent: dict[str, float] = {}

    def wrap(owner, name, phase):
        inner = getattr(owner, name)

        def timed(*a, **kw):
            started = time.perf_counter()
            try:
                return inner(*a, **kw)
            finally:
                spent[phase] = spent.get(phase, 0.0) + time.perf_counter() - started

        setattr(owner, name, staticmethod(timed) if isinstance(ns.Engine.__dict__.get(name), staticmethod) else timed)

    for phase, (where, name) in PHASES.items():
        wrap(ns.Engine if where == "Engine" else ns, name, phase)
    engine = ns.Engine(index_dir)
    samples: dict[str, dict[str, list[float]]] = {label: {} for label, _ in QUERIES}
    for r in range(rounds + 1):
        for label, args in QUERIES:
            spent.clear()
            started = time.perf_counter()
            engine.search(request_of(args))
            total = time.perf_counter() - started
            if r == 0:
                continue  # warm-up
            spent["other"] = total - sum(spent.values())
            spent["total"] = total
            for phase, value in spent.items():
                samples[label].setdefault(phase, []).append(value)
    cols = [*PHASES, "other", "total"]
    print(f"median ms per phase of Engine.search over {rounds} rounds ({index_dir})\n")
    print(f"{'query':<26}" + "".join(f"{c:>12}" for c in cols))
    for label, phases in samples.items():
        row = [statistics.median(phases[c]) * 1000 if c in phases else 0.0 for c in cols]
        print(f"{label:<26}" + "".join(f"{v:>12.1f}" for v in row))


def profile_oneshot(index_dir: Path, top: int) -> None:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import newsearch.cli, newsearch.search"],
        capture_output=True,
        text=True,
    ).stderr
    rows = []
    for line in out.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), int(m.group(1)), len(m.group(3)), m.group(4)))
    print("\nimports of newsearch.cli + newsearch.search: top 25 by cumulative µs (-X importtime)\n")
    for cum, own, depth, name in sorted(rows, reverse=True)[:25]:
        print(f"{cum / 1000:>9.1f} ms cumulative {own / 1000:>8.1f} ms self  {'.' * (depth // 2)}{name}")
    from newsearch.cli import cli

    profile = cProfile.Profile()
    profile.enable()
    try:
        cli(["query", "macron", "--index", str(index_dir), "--json"], standalone_mode=False)
    except SystemExit:
        pass
    profile.disable()
    print_stats(profile, 1, top, "one `newsearch query macron --json` after imports")


def print_samples(raw: Path, top: int, title: str) -> None:
    """Aggregate py-spy raw stacks by function (file:function): self and inclusive share of the samples."""
    own: collections.Counter = collections.Counter()
    incl: collections.Counter = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        frames = [re.sub(r"^(\S+) \((.*)\)$", lambda m: f"{short(m.group(2))}:{m.group(1)}", f) for f in frames]
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    for counter, name in ((own, "self"), (incl, "inclusive")):
        print(f"\n{title}: top {top} functions by {name} samples (of {total})\n")
        for fn, n in counter.most_common(top):
            print(f"{n / total:>7.1%}  {fn}")


def search_loop(index_dir: Path, rounds: int, labels: list[str]) -> None:
    """The query set, rounds times, without a profiler (py-spy samples it from outside)."""
    from newsearch.search import Engine
    from run import QUERIES, request_of

    queries = [(lab, a) for lab, a in QUERIES if not labels or lab in labels]
    engine = Engine(index_dir)
    for _ in range(rounds):
        for _, args in queries:
            engine.search(request_of(args))


def profile_search_sampled(index_dir: Path, rounds: int, labels: list[str], rate: int, top: int) -> None:
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    raw = DATA / "profile-search.txt"
    argv = [sys.executable, __file__, "loop", str(index_dir), "--rounds", str(rounds)]
    for label in labels:
        argv += ["--label", label]
    started = time.perf_counter()
    subprocess.run([pyspy, "record", "--rate", str(rate), "--format", "raw", "--output", str(raw), "--", *argv],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    print(f"search loop ({rounds} rounds, Engine open included) in {time.perf_counter() - started:.1f} s under py-spy")
    print_samples(raw, top, "search (py-spy)")


def profile_index(corpus: Path, rate: int, top: int) -> None:
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    target = DATA / "profile-index"
    shutil.rmtree(target, ignore_errors=True)
    raw = DATA / "profile-index.txt"
    child = (
        "import sys; sys.path.insert(0, sys.argv[3]);"
        "from newsearch.indexer import Indexer; from newsearch.store import IndexStore;"
        "Indexer(IndexStore(sys.argv[1])).run([sys.argv[2]], full=True)"
    )
    started = time.perf_counter()
    subprocess.run(
        [pyspy, "record", "--rate", str(rate), "--format", "raw", "--output", str(raw), "--",
         sys.executable, "-c", child, str(target), str(corpus), str(SRC)],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wall = time.perf_counter() - started
    print(f"indexed {corpus} in {wall:.0f} s under py-spy at {rate} Hz")
    print_samples(raw, top, "indexing")
    shutil.rmtree(target, ignore_errors=True)


MEMORY_STEPS = {
    "python + imports": "import newsearch.indexer",
    "read the file (gunzip)": "from newsearch.parse import read_bytes; d = read_bytes(P)",
    "read + parse all articles": "from newsearch.parse import parse_file; f = parse_file(P)",
    "read + parse + documents and hashes (Indexer._update before writing)": (
        "from newsearch.parse import parse_file; from newsearch.indexer import article_document, document_hash\n"
        "f = parse_file(P); docs = {a.id: (d, document_hash(d)) for a in f.articles for d in [article_document(a)]}"
    ),
}


def profile_memory(corpus: Path, limitmbs: list[int]) -> None:
    """Peak RSS (wait4) of child processes that stop after each step of indexing one big file."""

    def peak(code: str) -> tuple[float, float]:
        started = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(SRC)!r})\n"
                                 f"from pathlib import Path; P = Path({str(corpus)!r})\n{code}"])  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        if os.waitstatus_to_exitcode(status):
            raise RuntimeError(f"step failed: {code}")
        return usage.ru_maxrss / 1024, time.perf_counter() - started

    print(f"peak RSS of a child process that stops after each step, indexing {corpus}\n")
    for label, code in MEMORY_STEPS.items():
        rss, wall = peak(code)
        print(f"{rss:>8.0f} MB  {wall:>6.1f} s  {label}")
    for mb in limitmbs:
        target = DATA / "profile-memory-index"
        shutil.rmtree(target, ignore_errors=True)
        rss, wall = peak(
            "from newsearch.indexer import Indexer; from newsearch.store import IndexStore\n"
            f"Indexer(IndexStore({str(target)!r}), limitmb={mb}).run([P], full=True)"
        )
        shutil.rmtree(target, ignore_errors=True)
        print(f"{rss:>8.0f} MB  {wall:>6.1f} s  whole index run, Indexer(limitmb={mb})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("search")
    p.add_argument("index", type=Path)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--label", action="append", default=[])
    p.add_argument("--pyspy", action="store_true", help="sample with py-spy instead of cProfile")
    p.add_argument("--rate", type=int, default=200)
    p = sub.add_parser("loop")
    p.add_argument("index", type=Path)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--label", action="append", default=[])
    p = sub.add_parser("phases")
    p.add_argument("index", type=Path)
    p.add_argument("--rounds", type=int, default=5)
    p = sub.add_parser("memory")
    p.add_argument("corpus", type=Path)
    p.add_argument("--limitmb", type=int, action="append", default=[], help="also index with this limitmb")
    p = sub.add_parser("oneshot")
    p.add_argument("index", type=Path)
    p = sub.add_parser("index")
    p.add_argument("corpus", type=Path)
    p.add_argument("--rate", type=int, default=100)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    if args.what == "search" and args.pyspy:
        profile_search_sampled(args.index, args.rounds, args.label, args.rate, args.top)
    elif args.what == "search":
        profile_search(args.index, args.rounds, args.label, args.top)
    elif args.what == "phases":
        profile_phases(args.index, args.rounds)
    elif args.what == "memory":
        profile_memory(args.corpus, args.limitmb)
    elif args.what == "loop":
        search_loop(args.index, args.rounds, args.label)
    elif args.what == "oneshot":
        profile_oneshot(args.index, args.top)
    else:
        profile_index(args.corpus, args.rate, args.top)


if __name__ == "__main__":
    main()
