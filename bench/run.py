"""Speed and scale benchmark (issue 6): indexing, search latency, CLI start-up, 10x scale, a plain-Whoosh baseline.

Usage: python bench/run.py [--quick] [--skip-scale | --only-scale] [--index-dir DIR] [--markdown] [--rounds N]
                           [--scale-index-dir DIR]
                           [--src REV] [--json PATH] [--skip-baseline] [--rebuild-scale] [--no-memory-check]
       python bench/run.py --report RUN.json [RUN.json…] [--markdown]      (print saved results again)

`make bench` runs it with the defaults: everything, the 10x scale included. The 10x index
(bench/data/scale10-index, built from bench/data/scale10.jsonl.gz made by bench/make_scale.py) took 53 minutes
and 19.6 GB of RAM to build before indexing streamed big files (54e11fb); it is kept with its measurements in
bench/data/scale10-index.json and reused while the index version and the corpus file are unchanged, and it is
not built when it would not fit in the available RAM (less 2 GB for other jobs). --scale-index-dir DIR measures
10x search on another index instead, e.g. a replica made in two minutes by bench/replicate_index.py (the full
index listed 10 times: latency only, not indexing). Everything else is measured
afresh each run: the full corpus is indexed in a child process (wall and CPU time, peak RSS from wait4), then
searched through the Python API (one Engine), /api/search over loopback (`newsearch serve` in a child process),
and the CLI (one-shot and --batch); then searched while a `newsearch index` job commits into the same index;
then the same corpus is indexed and searched with plain Whoosh defaults (bench/baseline.py), for ratios.
--src REV measures a clean snapshot of a commit's src/ and web/ instead of the checkout. Results go to stdout
and, as JSON, to bench/data/last-run.json (--json to change). See bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
# The newsearch sources measured: the checkout's src/, or a snapshot of a commit (--src REV sets BENCH_SRC).
SRC = Path(os.environ.get("BENCH_SRC") or ROOT / "src")
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(ROOT / "bench"))

DATA = ROOT / "bench" / "data"
CORPUS = ROOT.parent / "shared" / "corpus" / "orangesum.jsonl.gz"
SCALE_CORPUS = DATA / "scale10.jsonl.gz"
SCALE_INDEX = DATA / "scale10-index"
SCALE_META = DATA / "scale10-index.json"
FULL_INDEX = DATA / "run-full"
BASELINE_INDEX = DATA / "run-baseline"
NEWSEARCH = Path(sys.executable).with_name("newsearch")

# Targets of issue 6.
TARGETS = {
    "index_seconds": 90.0,
    "index_rss_mb": 1024.0,
    "search_median_ms": 15.0,
    "search_p95_ms": 50.0,
    "scale_p95_ms": 200.0,
    "oneshot_s": 0.5,
    "reindex_ratio": 2.0,
}

# The fixed query set: what people type (1-3 words, rare and common), phrases, a pasted paragraph, with and
# without tag and date filters, sorted by date. Page 1, 10 hits, facets and snippets as the UI shows them.
PASSAGE = (
    "Le gouvernement a présenté mercredi en conseil des ministres un projet de loi destiné à réformer "
    "l'assurance chômage, alors que les syndicats dénoncent une baisse des droits des demandeurs d'emploi "
    "et appellent à une journée de mobilisation dans toute la France la semaine prochaine."
)
QUERIES = [
    ("1 word", {"q": "macron"}),
    ("no hit, suggestion", {"q": "ornithorynque"}),
    ("1 word, common", {"q": "france"}),
    ("2 words", {"q": "gilets jaunes"}),
    ("3 words", {"q": "réforme assurance chômage"}),
    ("phrase", {"q": '"réforme des retraites"'}),
    ("French quotes", {"q": "« état d'urgence sanitaire »"}),
    ("pasted paragraph", {"q": PASSAGE}),
    ("word + tag", {"q": "grève", "tags": ["France"]}),
    ("2 words + tag", {"q": "coupe monde", "tags": ["Sport"]}),
    ("word + year", {"q": "élections", "since": "2017", "until": "2017"}),
    ("word + month", {"q": "confinement", "since": "2020-03", "until": "2020-03"}),
    ("word + tag + dates", {"q": "vaccin", "tags": ["santé"], "since": "2020-01", "until": "2020-12"}),
    ("word, by date", {"q": "police", "sort": "date"}),
    ("2 words + tag, by date", {"q": "incendie forêt", "tags": ["France"], "sort": "date"}),
    ("phrase + year, by date", {"q": '"président de la République"', "since": "2019", "sort": "date"}),
]


# --- small helpers -------------------------------------------------------------------------------


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(len(ordered) * p / 100) - 1)]


def summary(samples: list[float]) -> dict:
    """Median, p95, max and count of samples in seconds, returned in milliseconds."""
    ms = [s * 1000 for s in samples]
    return {"median_ms": statistics.median(ms), "p95_ms": percentile(ms, 95), "max_ms": max(ms), "n": len(ms)}


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def log(*args) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] load {load()}:", *args, file=sys.stderr, flush=True)


def machine() -> dict:
    """What the numbers were measured on."""
    mem = 0
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), "")
    except OSError:
        pass
    import whoosh

    def git(*args):
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        except OSError:
            return ""

    # Others edit src/ in this checkout while benchmarks run: say which files differed from the commit.
    dirty = sorted(Path(line[3:]).name for line in git("status", "--porcelain", "src").splitlines() if line[3:])
    if os.environ.get("BENCH_SNAPSHOT"):
        return_commit = os.environ["BENCH_SNAPSHOT"] + " (clean snapshot of src/ and web/)"
    else:
        return_commit = git("rev-parse", "--short", "HEAD") + (f" + uncommitted {', '.join(dirty)}" if dirty else "")
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(mem / 2**30, 1),
        "python": platform.python_version(),
        "whoosh": whoosh.versionstring(),
        "commit": return_commit,
        "load_start": load(),
    }


# --- indexing in a child process -----------------------------------------------------------------

INDEX_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[3])
from newsearch.indexer import Indexer
from newsearch.store import IndexStore
started = time.monotonic()
report = Indexer(IndexStore(sys.argv[1])).run([sys.argv[2]], full=True)
print(json.dumps({"documents": report.documents, "seconds": time.monotonic() - started,
                  "commits": report.commits, "skipped": len(report.skipped)}))
"""


def tree_rss(pid: int) -> int:
    """Return the resident memory of a process and all its descendants, in bytes (0 once it is gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{p}/task/{p}/children") as fh:
                todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return total


def run_child(argv: list[str], stdout=subprocess.PIPE) -> tuple[float, int, str, float, int]:
    """Run a child process; return (wall seconds, peak RSS bytes from wait4 (its largest process), stdout, CPU
    seconds user+system of it and its workers, peak RSS bytes of all its processes together, sampled)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=stdout, stderr=subprocess.PIPE, text=True)
    peak_total = [0]

    def sample():
        while proc.returncode is None:
            peak_total[0] = max(peak_total[0], tree_rss(proc.pid))
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out_chunks, err_chunks = [], []
    readers = []
    for stream, sink in ((proc.stdout, out_chunks), (proc.stderr, err_chunks)):
        if stream is not None:
            t = threading.Thread(target=lambda s=stream, k=sink: k.append(s.read()), daemon=True)
            t.start()
            readers.append(t)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    sampler.join()
    for t in readers:
        t.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[:3]}… exited {proc.returncode}: {''.join(err_chunks)[-2000:]}")
    return wall, usage.ru_maxrss * 1024, "".join(out_chunks), usage.ru_utime + usage.ru_stime, peak_total[0]


def index_newsearch(corpus: Path, index_dir: Path) -> dict:
    """Index a corpus from scratch with newsearch in a child process."""
    shutil.rmtree(index_dir, ignore_errors=True)
    log(f"indexing {corpus.name} into {index_dir} with newsearch")
    wall, rss, out, cpu, total = run_child([sys.executable, "-c", INDEX_CHILD, str(index_dir), str(corpus), str(SRC)])
    report = json.loads(out.strip().splitlines()[-1])
    from newsearch.store import IndexStore

    result = {
        "wall_s": wall,
        "cpu_s": cpu,
        "documents": report["documents"],
        "docs_per_s": report["documents"] / wall,
        "peak_rss_mb": rss / 2**20,
        "peak_rss_total_mb": total / 2**20,
        "size_mb": IndexStore(index_dir).size_bytes() / 1e6,
        "commits": report["commits"],
        "skipped": report["skipped"],
    }
    log(
        f"indexed {result['documents']} in {wall:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB "
        f"({result['peak_rss_total_mb']:.0f} MB all processes together)"
    )
    return result


def index_baseline(corpus: Path, index_dir: Path) -> dict:
    """Index a corpus from scratch with plain Whoosh defaults in a child process."""
    shutil.rmtree(index_dir, ignore_errors=True)
    log(f"indexing {corpus.name} into {index_dir} with plain Whoosh defaults")
    wall, rss, out, cpu, _ = run_child(
        [sys.executable, str(ROOT / "bench" / "baseline.py"), "index", str(corpus), str(index_dir)]
    )
    report = json.loads(out.strip().splitlines()[-1])
    result = {
        "wall_s": wall,
        "cpu_s": cpu,
        "documents": report["documents"],
        "docs_per_s": report["documents"] / wall,
        "peak_rss_mb": rss / 2**20,
        "size_mb": dir_size(index_dir) / 1e6,
    }
    log(f"baseline indexed {result['documents']} in {wall:.1f} s, peak RSS {result['peak_rss_mb']:.0f} MB")
    return result


def corpus_identity(path: Path) -> dict:
    st = path.stat()
    return {"path": str(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


class ScaleSkipped(Exception):
    """The 10x index cannot be built on this machine now."""


def mem_available() -> int:
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def scale_memory_estimate() -> int:
    """RAM the 10x build will need: the last build's peak RSS, else 2 GB (since 54e11fb indexing streams a big JSONL
    file, so its memory no longer grows with the file; before, the first build peaked at 19.6 GB)."""
    try:
        return int(json.loads(SCALE_META.read_text())["peak_rss_mb"] * 1.1 * 2**20)
    except (OSError, ValueError, KeyError):
        return 2 * 2**30


def ensure_scale_index(rebuild: bool = False, memory_check: bool = True) -> dict:
    """Return the 10x indexing measurements, building the corpus and the index when missing or stale."""
    from newsearch.schema import INDEX_VERSION
    from newsearch.store import IndexStore

    if not SCALE_CORPUS.is_file():
        log("making the 10x corpus with bench/make_scale.py")
        subprocess.run([sys.executable, str(ROOT / "bench" / "make_scale.py"), "--out", str(SCALE_CORPUS)], check=True)
    store = IndexStore(SCALE_INDEX)
    if not rebuild and SCALE_META.is_file() and store.exists():
        meta = json.loads(SCALE_META.read_text())
        if (
            meta.get("index_version") == INDEX_VERSION
            and store.version_of(store.current_dir()) == INDEX_VERSION
            and meta.get("corpus") == corpus_identity(SCALE_CORPUS)
        ):
            log(f"reusing the 10x index built {meta['built']} (index version {INDEX_VERSION})")
            meta["reused"] = True
            return meta
    need = scale_memory_estimate()
    available = mem_available() - 2 * 2**30  # leave 2 GB to the other jobs on the machine
    if memory_check and need > available:
        raise ScaleSkipped(
            f"building the 10x index needs about {need / 2**30:.1f} GB of RAM (peak RSS of the last build), only {available / 2**30:.1f} GB is available beyond 2 GB left to "
            "others: skipped (--no-memory-check to build anyway)"
        )
    started = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    load_before = load()
    result = index_newsearch(SCALE_CORPUS, SCALE_INDEX)
    meta = dict(result, index_version=INDEX_VERSION, corpus=corpus_identity(SCALE_CORPUS), built=started,
                load_before=load_before, load_after=load(), commit=machine()["commit"])  # fmt: skip
    SCALE_META.write_text(json.dumps(meta, indent=1))
    meta["reused"] = False
    return meta


def describe_index(index_dir: Path) -> dict:
    """What the report says about a 10x index given with --scale-index-dir."""
    from newsearch.store import IndexStore

    reader = IndexStore(index_dir).open().reader()
    info = {"documents": reader.doc_count(), "reused": True, "built": f"another run ({index_dir})"}
    reader.close()
    replica = index_dir / "replica.json"
    if replica.is_file():
        meta = json.loads(replica.read_text())
        info["built"] = f"bench/replicate_index.py ({meta['times']}x {meta['source']}, {meta['made']})"
        info["replica"] = meta
    return info


# --- searching -----------------------------------------------------------------------------------


def request_of(args: dict):
    from newsearch.search import SearchRequest

    return SearchRequest(
        q=args.get("q", ""),
        tags=list(args.get("tags", [])),
        since=args.get("since"),
        until=args.get("until"),
        sort=args.get("sort", "relevance"),
    )


def timed_rounds(search, rounds: int) -> tuple[dict, dict[str, list[float]], dict[str, int]]:
    """Run every query once to warm up, then `rounds` rounds of the whole set (interleaved, so that a burst
    of load from other jobs spreads over all queries); return the pooled summary, samples and hit counts."""
    totals = {label: search(args) for label, args in QUERIES}
    samples: dict[str, list[float]] = {label: [] for label, _ in QUERIES}
    cpu: list[float] = []
    for _ in range(rounds):
        for label, args in QUERIES:
            started, cpu_started = time.perf_counter(), time.process_time()
            search(args)
            samples[label].append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    pooled = [s for values in samples.values() for s in values]
    # CPU time of this process: what a search costs with a core to itself (for the in-process API; over HTTP
    # the work is in the server process and this is only the client's share).
    cpu_summary = summary(cpu)
    return (
        dict(summary(pooled), cpu_median_ms=cpu_summary["median_ms"], cpu_p95_ms=cpu_summary["p95_ms"]),
        samples,
        totals,
    )


def measure_engine(index_dir: Path, rounds: int) -> dict:
    """Python API: open one Engine, time the cold first query, then the query set."""
    from newsearch.search import Engine

    log(f"Python API on {index_dir}")
    started = time.perf_counter()
    engine = Engine(index_dir)
    open_s = time.perf_counter() - started
    started = time.perf_counter()
    engine.search(request_of(QUERIES[0][1]))
    first_ms = (time.perf_counter() - started) * 1000
    result, samples, totals = timed_rounds(lambda a: engine.search(request_of(a)).total, rounds)
    engine.close()
    log(f"median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms")
    return dict(result, open_s=open_s, first_query_ms=first_ms, per_query=per_query(samples, totals))


def per_query(samples: dict[str, list[float]], totals: dict[str, int]) -> dict:
    return {label: {"hits": totals[label], **summary(values)} for label, values in samples.items()}


def measure_baseline_search(index_dir: Path, rounds: int) -> dict:
    from baseline import Baseline

    log(f"plain Whoosh search on {index_dir}")
    started = time.perf_counter()
    base = Baseline(index_dir)
    open_s = time.perf_counter() - started
    started = time.perf_counter()
    base.search(**QUERIES[0][1])
    first_ms = (time.perf_counter() - started) * 1000
    result, samples, totals = timed_rounds(lambda a: base.search(**a)["total"], rounds)
    base.close()
    log(f"baseline median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms")
    return dict(result, open_s=open_s, first_query_ms=first_ms, per_query=per_query(samples, totals))


def api_path(args: dict) -> str:
    params = [("q", args.get("q", ""))] + [("tag", t) for t in args.get("tags", [])]
    params += [(k, args[k]) for k in ("since", "until", "sort") if args.get(k)]
    return "/api/search?" + urlencode(params)


def start_server(index_dir: Path, port: int) -> tuple[subprocess.Popen, float]:
    """Start `newsearch serve`; return it and the seconds until it answered a search."""
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(NEWSEARCH), "serve", "--index", str(index_dir), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"newsearch serve exited with {server.returncode}: {server.stderr.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/search?limit=1", timeout=10) as resp:
                if resp.status == 200:
                    return server, time.perf_counter() - started
        except OSError:
            time.sleep(0.1)
    server.terminate()
    raise RuntimeError("newsearch serve did not answer within 300 s")


def measure_http(index_dir: Path, rounds: int) -> dict:
    """/api/search over loopback: `newsearch serve` in a child process, urllib here (a connection a request)."""
    port = free_port()
    log(f"/api/search on port {port}")
    server, ready_s = start_server(index_dir, port)
    try:
        base = f"http://127.0.0.1:{port}"

        errors: dict[str, int] = {}

        def get(args):
            try:
                with urllib.request.urlopen(base + api_path(args), timeout=60) as resp:
                    return json.loads(resp.read())["total"]
            except urllib.error.HTTPError as exc:  # e.g. 503 when SEARCH_TIME_LIMIT (2 s) ran out before matching ended
                body = exc.read().decode("utf-8", "replace")[:200]
                key = f"HTTP {exc.code}: {body}"
                errors[key] = errors.get(key, 0) + 1
                return -exc.code

        started = time.perf_counter()
        get(QUERIES[0][1])
        first_ms = (time.perf_counter() - started) * 1000
        result, samples, totals = timed_rounds(get, rounds)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    log(f"HTTP median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms")
    if errors:
        log(f"HTTP errors: {errors}")
    return dict(result, ready_s=ready_s, first_query_ms=first_ms, per_query=per_query(samples, totals), errors=errors)


def measure_cli(index_dir: Path, runs: int = 7) -> dict:
    """`newsearch query` one-shot (median of runs) and --batch per query (difference of a 1-line and an N-line
    batch, so that start-up cancels out); Python's own start-up alongside, for scale."""
    log(f"CLI on {index_dir}")

    def wall(argv, stdin=None) -> float:
        started = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, input=stdin, text=True)
        return time.perf_counter() - started

    oneshot = [wall([str(NEWSEARCH), "query", "macron", "--index", str(index_dir), "--json"]) for _ in range(runs)]
    python = [wall([sys.executable, "-c", "pass"]) for _ in range(runs)]
    imports = [wall([sys.executable, "-c", "import newsearch.cli, newsearch.search"]) for _ in range(runs)]
    lines = [args["q"] for _, args in QUERIES] * 5
    batch_cmd = [str(NEWSEARCH), "query", "--batch", "-", "--index", str(index_dir)]
    one = [wall(batch_cmd, lines[0] + "\n") for _ in range(3)]
    many = [wall(batch_cmd, "\n".join(lines) + "\n") for _ in range(3)]
    per = (statistics.median(many) - statistics.median(one)) / (len(lines) - 1)
    result = {
        "oneshot_s": statistics.median(oneshot),
        "oneshot_min_s": min(oneshot),
        "python_s": statistics.median(python),
        "imports_s": statistics.median(imports),
        "batch_per_query_ms": per * 1000,
        "batch_lines": len(lines),
        "batch_total_s": statistics.median(many),
    }
    log(f"one-shot {result['oneshot_s']:.2f} s, batch {result['batch_per_query_ms']:.1f} ms/query")
    return result


def reindex_batch(count: int = 10_000) -> Path:
    """New articles for the reindex test: copy 1 (new ids, shifted dates) of the corpus's first `count`."""
    from make_scale import build_vocabulary, make_copy

    path = DATA / f"reindex-new-{count}.jsonl.gz"
    if path.is_file():
        return path
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    vocabulary = build_vocabulary(records, 6)
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as out:
        for rec in records[:count]:
            out.write(json.dumps(make_copy(rec, 1, vocabulary, 7, 0.02), ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def measure_during_reindex(index_dir: Path, rounds: int) -> dict:
    """Search in a loop while `newsearch index` adds 10,000 articles (2 commits of 5,000) into the same index
    (a copy of it), and compare the median with the same loop just before."""
    from newsearch.search import Engine

    new = reindex_batch()
    work = DATA / "run-reindex"
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(index_dir, work)
    log(f"search during `newsearch index` into {work}")
    engine = Engine(work)

    def one_round(samples, stamps=None):
        for _, args in QUERIES:
            started = time.perf_counter()
            engine.search(request_of(args))
            samples.append(time.perf_counter() - started)
            if stamps is not None:
                stamps.append(time.perf_counter())

    one_round([])  # warm-up
    normal: list[float] = []
    for _ in range(rounds):
        one_round(normal)
    during: list[float] = []
    job = subprocess.Popen(
        [str(NEWSEARCH), "index", str(new), "--index", str(work), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    started = time.perf_counter()
    while job.poll() is None:
        one_round(during)
    job_s = time.perf_counter() - started
    out, err = job.communicate()
    if job.returncode != 0:
        raise RuntimeError(f"newsearch index exited {job.returncode}: {err[-2000:]}")
    after: list[float] = []
    one_round(after)  # the first round after the job picks up its last commit
    docs = engine.search(request_of({"q": ""})).total
    engine.close()
    shutil.rmtree(work, ignore_errors=True)
    result = {
        "normal": summary(normal),
        "during": summary(during),
        "after_first_round": summary(after),
        "ratio_median": statistics.median(during) / statistics.median(normal),
        "ratio_p95": percentile(during, 95) / percentile(normal, 95),
        "job_s": job_s,
        "job_report": json.loads(out.strip().splitlines()[-1]) if out.strip() else {},
        "documents_after": docs,
    }
    log(f"during reindex: median ×{result['ratio_median']:.2f}, p95 ×{result['ratio_p95']:.2f} ({job_s:.0f} s job)")
    return result


# --- the report ----------------------------------------------------------------------------------


def fmt(value, spec: str = ".1f", unit: str = "") -> str:
    return "–" if value is None else f"{value:{spec}}{unit}"


def ratio(base, ours) -> str:
    """How many times better newsearch is than the baseline (times, sizes: baseline / newsearch)."""
    if base is None or ours in (None, 0):
        return "–"
    return f"×{base / ours:.2f}"


def status(value, limit) -> str:
    if value is None:
        return "not measured"
    return "met" if value <= limit else "MISSED"


def get(d: dict | None, *keys):
    for key in keys:
        if d is None:
            return None
        d = d.get(key)
    return d


def build_tables(res: dict) -> list[tuple[str, list[str], list[list[str]]]]:
    """Return (title, header, rows) for the main table, the targets and the per-query detail."""
    ix, bix = res.get("index"), res.get("baseline_index")
    api, bapi, http, cli = res.get("api"), res.get("baseline_api"), res.get("http"), res.get("cli")
    sc, sapi, scli = res.get("scale_index"), res.get("scale_api"), res.get("scale_cli")
    rx = res.get("reindex")
    rows = []

    def row(what, ours, base=None, spec=".1f", gain=True, scale=None):
        rows.append([what, fmt(ours, spec), fmt(base, spec) if base is not None else "–",
                     ratio(base, ours) if gain and base is not None else "–", fmt(scale, spec)])  # fmt: skip

    n_docs = get(ix, "documents") or 33954
    row(f"index {n_docs:,} articles: wall (s)", get(ix, "wall_s"), get(bix, "wall_s"), scale=get(sc, "wall_s"))
    row("index: CPU time of the job (s)", get(ix, "cpu_s"), get(bix, "cpu_s"), scale=get(sc, "cpu_s"))
    rows.append(["index: docs/s", fmt(get(ix, "docs_per_s"), ".0f"), fmt(get(bix, "docs_per_s"), ".0f"),
                 ratio(get(ix, "docs_per_s"), get(bix, "docs_per_s")) if bix and ix else "–",
                 fmt(get(sc, "docs_per_s"), ".0f")])  # fmt: skip
    row("index: peak RSS (MB)", get(ix, "peak_rss_mb"), get(bix, "peak_rss_mb"), ".0f", scale=get(sc, "peak_rss_mb"))
    row("index: peak RSS, all its processes (MB)", get(ix, "peak_rss_total_mb"), None, ".0f",
        scale=get(sc, "peak_rss_total_mb"))  # fmt: skip
    row("index: size on disk (MB)", get(ix, "size_mb"), get(bix, "size_mb"), ".0f", scale=get(sc, "size_mb"))
    row("search, Python API: median (ms)", get(api, "median_ms"), get(bapi, "median_ms"), scale=get(sapi, "median_ms"))
    row("search, Python API: p95 (ms)", get(api, "p95_ms"), get(bapi, "p95_ms"), scale=get(sapi, "p95_ms"))
    row("search, Python API: median CPU time (ms)", get(api, "cpu_median_ms"), get(bapi, "cpu_median_ms"),
        scale=get(sapi, "cpu_median_ms"))  # fmt: skip
    row("search, Python API: p95 CPU time (ms)", get(api, "cpu_p95_ms"), get(bapi, "cpu_p95_ms"),
        scale=get(sapi, "cpu_p95_ms"))  # fmt: skip
    row("search, Python API: open index (s)", get(api, "open_s"), get(bapi, "open_s"), ".2f", scale=get(sapi, "open_s"))
    row("search, Python API: cold first query (ms)", get(api, "first_query_ms"), get(bapi, "first_query_ms"),
        scale=get(sapi, "first_query_ms"))  # fmt: skip
    row("search, /api/search loopback: median (ms)", get(http, "median_ms"))
    row("search, /api/search loopback: p95 (ms)", get(http, "p95_ms"))
    row("serve: start until first answer (s)", get(http, "ready_s"), spec=".2f")
    row("`newsearch query` one-shot (s, median)", get(cli, "oneshot_s"), spec=".2f", scale=get(scli, "oneshot_s"))
    row("  of which `python -c pass` (s)", get(cli, "python_s"), spec=".2f")
    row("  of which python + imports (s)", get(cli, "imports_s"), spec=".2f")
    row("`newsearch query --batch`: per query (ms)", get(cli, "batch_per_query_ms"),
        scale=get(scli, "batch_per_query_ms"))  # fmt: skip
    row("search during reindex: median normal (ms)", get(rx, "normal", "median_ms"))
    row("search during reindex: median during (ms)", get(rx, "during", "median_ms"))
    row("search during reindex: p95 during (ms)", get(rx, "during", "p95_ms"))
    main_table = ("Speed and scale", ["measure", "newsearch", "Whoosh defaults", "gain", "newsearch 10×"], rows)

    t = TARGETS
    targets = [
        ["index 33,954 articles ≤ 90 s", fmt(get(ix, "wall_s"), ".1f", " s"), status(get(ix, "wall_s"), t["index_seconds"])],
        # All processes together (the job and its workers) when sampled, else the largest one.
        ["index peak RSS ≤ 1 GB", fmt(get(ix, "peak_rss_total_mb") or get(ix, "peak_rss_mb"), ".0f", " MB"),
         status(get(ix, "peak_rss_total_mb") or get(ix, "peak_rss_mb"), t["index_rss_mb"])],
        ["search + facets + snippets: median ≤ 15 ms", fmt(get(api, "median_ms"), ".1f", " ms"),
         status(get(api, "median_ms"), t["search_median_ms"])],
        ["search + facets + snippets: p95 ≤ 50 ms", fmt(get(api, "p95_ms"), ".1f", " ms"),
         status(get(api, "p95_ms"), t["search_p95_ms"])],
        ["search at 10×: p95 ≤ 200 ms", fmt(get(sapi, "p95_ms"), ".1f", " ms"), status(get(sapi, "p95_ms"), t["scale_p95_ms"])],
        ["`newsearch query` one-shot ≤ 0.5 s", fmt(get(cli, "oneshot_s"), ".2f", " s"), status(get(cli, "oneshot_s"), t["oneshot_s"])],
        ["search during a reindex commit ≤ 2× normal (median)", fmt(get(rx, "ratio_median"), ".2f", "×"),
         status(get(rx, "ratio_median"), t["reindex_ratio"])],
    ]  # fmt: skip
    targets_table = ("Targets (issue 6)", ["target", "measured", "status"], targets)

    detail = []
    for label, _ in QUERIES:
        q = get(api, "per_query", label)
        detail.append([
            label,
            fmt(get(q, "hits"), "d"),
            fmt(get(q, "median_ms")),
            fmt(get(q, "p95_ms")),
            fmt(get(http, "per_query", label, "median_ms"))
            + (f" (HTTP {-h})" if (h := get(http, "per_query", label, "hits")) is not None and h < 0 else ""),
            fmt(get(bapi, "per_query", label, "median_ms")),
            fmt(get(bapi, "per_query", label, "hits"), "d"),
            fmt(get(sapi, "per_query", label, "median_ms")),
            fmt(get(sapi, "per_query", label, "p95_ms")),
        ])  # fmt: skip
    header = ["query", "hits", "API median", "API p95", "HTTP median", "baseline median", "baseline hits",
              "10× median", "10× p95"]  # fmt: skip
    detail_table = ("Per query (ms)", header, detail)
    return [main_table, targets_table, detail_table]


def render(tables, markdown: bool) -> str:
    out = []
    for title, header, rows in tables:
        if markdown:
            out.append(f"\n**{title}**\n")
            out.append("| " + " | ".join(header) + " |")
            out.append("|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|")
            out += ["| " + " | ".join(r) + " |" for r in rows]
        else:
            widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)]
            out.append(f"\n{title}\n")
            out.append(
                "  ".join(
                    h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=False))
                )
            )
            out.append("  ".join("-" * w for w in widths))
            for r in rows:
                out.append(
                    "  ".join(
                        c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=False))
                    )
                )
    return "\n".join(out)


def header_lines(res: dict, markdown: bool) -> str:
    m = res["machine"]
    lines = [
        f"{m['date']} · {m['nproc']} cores ({m['cpu']}) · {m['memory_gb']} GB · Python {m['python']} · "
        f"Whoosh {m['whoosh']} · commit {m['commit']}",
        f"load average (1/5/15 min) at start {m['load_start']}, at end {res.get('load_end', '?')}; "
        f"{res['rounds']} timed rounds of {len(QUERIES)} queries after one warm-up, page 1 of 10 hits, "
        "facets (tags, dates, sections) and snippets included",
    ]
    if len(res.get("runs", [])) > 1:
        lines += ["merged runs: " + "; ".join(res["runs"])]
    steps = [k[: -len("_load")] for k in res if k.endswith("_load") and k != "load_end"]
    if steps:
        lines.append(
            "1-minute load at the end of each step: " + ", ".join(f"{k} {res[k + '_load'].split()[0]}" for k in steps)
        )
    if res.get("scale_skipped"):
        lines.append("10×: " + res["scale_skipped"])
    sc = res.get("scale_index")
    if sc and sc.get("replica"):
        lines.append(
            f"10× index ({sc['documents']:,} documents): a replica made by {sc['built']}, the full index listed "
            f"{sc['replica']['times']} times; search latency only"
        )
    elif sc:
        how = "reused from" if sc.get("reused") else "built in"
        lines.append(
            f"10× index ({sc['documents']:,} articles) {how} run of {sc['built']} (load before {sc.get('load_before')})"
        )
    return "\n".join(("- " if markdown else "") + line for line in lines)


# --- main ----------------------------------------------------------------------------------------


def use_snapshot(rev: str) -> None:
    """Measure the committed sources of rev, not the checkout that others are editing: extract src/ and web/
    of that commit into bench/data/src-<sha>/ and point this process and its children (PYTHONPATH) at it."""
    global SRC
    sha = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True, check=True)
    sha = sha.stdout.strip()
    where = DATA / f"src-{sha}"
    if not (where / "src" / "newsearch").is_dir():
        tmp = DATA / f"src-{sha}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", sha, "src", "web"], cwd=ROOT, capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
        tmp.rename(where)
    SRC = where / "src"
    os.environ["BENCH_SRC"] = str(SRC)
    os.environ["BENCH_SNAPSHOT"] = sha
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), os.environ.get("PYTHONPATH")]))
    sys.path.insert(0, str(SRC))
    if "newsearch" in sys.modules:
        raise RuntimeError("newsearch was imported before the snapshot was chosen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the 10x scale and the baseline")
    parser.add_argument("--skip-scale", action="store_true")
    parser.add_argument("--only-scale", action="store_true", help="only the 10x measurements")
    parser.add_argument("--rebuild-scale", action="store_true", help="rebuild the 10x index even if it is current")
    parser.add_argument(
        "--scale-index-dir",
        type=Path,
        help="measure 10x search on this index (e.g. one made by bench/replicate_index.py) instead of the built one",
    )
    parser.add_argument(
        "--no-memory-check",
        action="store_true",
        help="build the 10x index even when it may not fit in the available RAM",
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--index-dir", type=Path, help="reuse this full-corpus index (skip indexing)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--rounds", type=int, default=15, help="timed rounds of the query set (default 15)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument(
        "--report",
        type=Path,
        nargs="+",
        metavar="JSON",
        help="measure nothing: print the tables of saved results (later files fill in missing parts)",
    )
    parser.add_argument("--src", metavar="REV", help="measure a clean snapshot of this commit (e.g. HEAD)")
    parser.add_argument("--json", type=Path, default=DATA / "last-run.json", help="where to save the raw results")
    args = parser.parse_args()
    if args.skip_scale and args.only_scale:
        parser.error("--skip-scale and --only-scale exclude each other")
    scale = not (args.quick or args.skip_scale)
    baseline = not (args.quick or args.skip_baseline or args.only_scale)
    if args.report:
        res, runs = {}, []
        for path in args.report:
            saved = json.loads(path.read_text())
            m = saved["machine"]
            parts = [k for k in ("index", "api", "baseline_api", "scale_index", "scale_api") if k in saved]
            runs.append(
                f"{path.name}: {m['date']}, commit {m['commit']}, load at start {m['load_start']} ({', '.join(parts)})"
            )
            res = {**saved, **res} if res else saved
        res["runs"] = runs
        print(header_lines(res, args.markdown))
        print(render(build_tables(res), args.markdown))
        return
    if not NEWSEARCH.exists():
        sys.exit(f"{NEWSEARCH} not found: run `make install` first")
    DATA.mkdir(parents=True, exist_ok=True)
    if args.src:
        use_snapshot(args.src)

    res: dict = {"machine": machine(), "rounds": args.rounds, "queries": QUERIES}
    args.json.parent.mkdir(parents=True, exist_ok=True)

    def step(key, fn, *fargs, **kwargs):
        """Run one measurement and save everything so far (a long run that fails keeps what it measured)."""
        res[key] = fn(*fargs, **kwargs)
        res[key + "_load"] = load()
        args.json.write_text(json.dumps(res, indent=1, ensure_ascii=False, default=str))

    log(f"machine {res['machine']}")
    if not args.only_scale:
        if args.index_dir:
            index_dir = args.index_dir
            res["index_reused"] = str(index_dir)
        else:
            if not args.corpus.is_file():
                sys.exit(f"no corpus at {args.corpus}")
            index_dir = FULL_INDEX
            step("index", index_newsearch, args.corpus, index_dir)
        step("api", measure_engine, index_dir, args.rounds)
        step("http", measure_http, index_dir, args.rounds)
        step("cli", measure_cli, index_dir)
        step("reindex", measure_during_reindex, index_dir, max(5, args.rounds // 2))
        if baseline:
            step("baseline_index", index_baseline, args.corpus, BASELINE_INDEX)
            step("baseline_api", measure_baseline_search, BASELINE_INDEX, args.rounds)
    if args.scale_index_dir:
        res["scale_index"] = describe_index(args.scale_index_dir)
        step("scale_api", measure_engine, args.scale_index_dir, max(5, args.rounds // 2))
        step("scale_cli", measure_cli, args.scale_index_dir, runs=3)
    elif scale or args.only_scale:
        try:
            step("scale_index", ensure_scale_index, rebuild=args.rebuild_scale, memory_check=not args.no_memory_check)
        except ScaleSkipped as exc:
            log(str(exc))
            res["scale_skipped"] = str(exc)
        else:
            step("scale_api", measure_engine, SCALE_INDEX, max(5, args.rounds // 2))
            step("scale_cli", measure_cli, SCALE_INDEX, runs=3)
    res["load_end"] = load()
    args.json.write_text(json.dumps(res, indent=1, ensure_ascii=False, default=str))
    print(header_lines(res, args.markdown))
    print(render(build_tables(res), args.markdown))
    print(f"\nraw results: {args.json}")


if __name__ == "__main__":
    main()
