"""The Lucene peer of issue 18: newsearch and Lucene side by side on one subset, in one run, as ratios.

Usage: python bench/bench_lucene.py [--rounds N] [--lucene-warmup N] [--index-runs N] [--first N] [--skip-short]
                                    [--markdown] [--json PATH]
       python bench/bench_lucene.py --report RUN.json [--markdown]      (print a saved run again)

`make bench-lucene` (and `make bench`) runs it with the defaults; Lucene comes from Debian's liblucene8-java
(the Makefile's `lucene` target installs it, and a JDK, when missing), and bench/lucene/LuceneBench.java is
compiled into bench/data/lucene-classes/ when missing or older than its source.

The subset is the known-item one of ../shared/eval/README.md: the first 10,000 articles of the corpus plus the
600 dev answers, every summary dropped. It is measured:
- indexing from scratch: newsearch (`Indexer(IndexStore(dir)).run([file], full=True)`, in a fresh child
  process) and Lucene (LuceneBench index, a fresh JVM): the time inside the process (Python's after its imports,
  the JVM's after its start-up) and the wall time of the whole process, CPU user+system of the process and its
  children (newsearch's workers, the JVM's GC and JIT threads), peak RSS (wait4: its largest process);
- long queries: the 600 dev summaries, 10 hits; newsearch through `Engine.search(SearchRequest(q=summary,
  limit=10, collapse=False))` (facets and snippets included: the engine always computes them), Lucene as the OR
  of all analyzed words over title and body (FrenchAnalyzer, BM25); untimed warm-up passes (newsearch 1, Lucene
  --lucene-warmup, 3: the JVM's JIT compiler keeps the 2 cores busy for about 3 passes, and Lucene's mean after a
  single pass is shown too), then --rounds timed passes over the whole list; mean and median per query, CPU time
  of the searching thread, and MRR@10 / Recall@10 of both;
- short queries as the UI asks them: 100 of 1-3 words, some with tag or date filters, facets and snippets, through
  newsearch only: Lucene has no peer for that row here (LuceneBench has neither facets nor snippets).
The load average is printed with every step: the machine's 2 cores are shared with other jobs, so compare the
figures of one run with each other, not with another run's. Results go to stdout and, as JSON, to
bench/data/lucene-last-run.json (--json to change). See bench/RESULTS.md, section "Lucene peer (issue 18)".
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from run import CORPUS, DATA, INDEX_CHILD, SRC, load, log, machine, run_child  # noqa: E402

DEV_IDS = ROOT.parent / "shared" / "eval" / "known-item-dev.txt"
JAVA_SOURCE = ROOT / "bench" / "lucene" / "LuceneBench.java"
CLASSES = DATA / "lucene-classes"
JARS = ("lucene-core", "lucene-analyzers-common")
JAVA_DIR = Path("/usr/share/java")

# Issue 18's targets, as ratios newsearch / Lucene.
TARGETS = {"index": 7.0, "long_mean": 3.0}
# The README's reference for Lucene 8.7 on this subset (MRR@10, Recall@10).
README_LUCENE = (0.851, 0.938)

# Short queries as people type them (1-3 words, common and rare), then some of them again with the filters the UI
# offers: a tag (among the subset's commonest), a year or a month, both, or sorted by date. 100 in all.
WORDS = [
    "macron", "covid", "confinement", "masque", "vaccin", "grève", "retraites", "police", "trump", "chine",
    "incendie", "meurtre", "élections", "municipales", "hôpital", "gilets jaunes", "coronavirus france",
    "réforme des retraites", "assurance chômage", "violences policières", "voiture électrique", "tour de france",
    "black lives matter", "brexit", "biden", "racisme", "festival", "cannes", "enchères", "tesla", "renault",
    "attentat", "procès", "tribunal", "prison", "école", "bac", "université", "météo", "canicule", "tempête",
    "inondations", "réchauffement climatique", "pollution", "nucléaire", "pétrole", "économie", "chômage",
    "impôts", "smartphone", "facebook", "twitter", "google", "apple", "netflix", "cinéma", "musique", "concert",
    "football", "psg", "ligue 1", "jeux olympiques", "paris", "marseille", "lyon", "bretagne", "corse",
    "états-unis", "russie", "poutine", "iran", "israël", "liban", "syrie", "algérie", "maroc", "afrique",
    "migrants", "ehpad", "télétravail",
]  # fmt: skip
FILTERED = [
    {"q": "masque", "tags": ["santé"]},
    {"q": "vaccin", "tags": ["virus"]},
    {"q": "hôpital", "tags": ["épidémie"]},
    {"q": "meurtre", "tags": ["Fait-divers"]},
    {"q": "élections", "tags": ["Politique"]},
    {"q": "trump", "tags": ["USA"]},
    {"q": "police manifestation", "tags": ["France"]},
    {"q": "film", "tags": ["Culture"]},
    {"q": "voiture", "tags": ["Environnement"]},
    {"q": "macron", "since": "2019", "until": "2019"},
    {"q": "grève", "since": "2019-12", "until": "2020-01"},
    {"q": "confinement", "since": "2020-03", "until": "2020-03"},
    {"q": "gilets jaunes", "since": "2018", "until": "2018"},
    {"q": "masque", "since": "2020-05"},
    {"q": "coronavirus", "tags": ["santé"], "since": "2020-01", "until": "2020-06"},
    {"q": "vaccin", "tags": ["santé"], "since": "2020"},
    {"q": "chine", "tags": ["Monde"], "since": "2020-01", "until": "2020-04"},
    {"q": "police", "sort": "date"},
    {"q": "incendie", "tags": ["Fait-divers"], "sort": "date"},
    {"q": "tempête", "since": "2019", "sort": "date"},
]
SHORT_QUERIES = [{"q": w} for w in WORDS] + FILTERED
assert len(SHORT_QUERIES) == 100, len(SHORT_QUERIES)


# --- the subset and the files for Java --------------------------------------------------------------


def build_subset(records, answers: set[str], first: int = 10_000) -> list[dict]:
    """The first `first` records plus every later one whose id is in `answers`, in corpus order, without their
    summaries (the known-item setup: the summaries are the queries)."""
    subset = []
    for n, rec in enumerate(records):
        if n < first or rec.get("id") in answers:
            subset.append({k: v for k, v in rec.items() if k != "summary"})
    return subset


def escape(text: str) -> str:
    """One field for LuceneBench: backslash, tab, newline and carriage return as two characters each."""
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def unescape(text: str) -> str:
    """What LuceneBench reads back from escape() (for the tests)."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            i += 1
            c = {"t": "\t", "n": "\n", "r": "\r"}.get(text[i], text[i])
        out.append(c)
        i += 1
    return "".join(out)


def article_line(rec: dict) -> str:
    """One article for LuceneBench: id, title, body, tags joined by U+001F, date; tab-separated, escaped."""
    tags = "\x1f".join(t.replace("\x1f", " ") for t in rec.get("tags") or [])
    fields = [rec.get("id", ""), rec.get("title") or "", rec.get("body") or "", tags, rec.get("date") or ""]
    return "\t".join(escape(str(f)) for f in fields) + "\n"


def write_subset(subset: list[dict]) -> tuple[Path, Path]:
    """Write the subset as JSONL (for newsearch) and as LuceneBench's articles file."""
    DATA.mkdir(parents=True, exist_ok=True)
    jsonl, tsv = DATA / "lucene-subset.jsonl", DATA / "lucene-subset.tsv"
    with open(jsonl, "w", encoding="utf-8") as js, open(tsv, "w", encoding="utf-8") as ts:
        for rec in subset:
            js.write(json.dumps(rec, ensure_ascii=False) + "\n")
            ts.write(article_line(rec))
    return jsonl, tsv


# --- Java ----------------------------------------------------------------------------------------


def classpath() -> str:
    """Lucene's jars from Debian's liblucene8-java (named 8.7.0 there, 8.8.1 inside) and our compiled classes."""
    jars = []
    for name in JARS:
        found = sorted(JAVA_DIR.glob(f"{name}-8*.jar")) or sorted(JAVA_DIR.glob(f"{name}.jar"))
        if not found:
            sys.exit(f"no {name} jar in {JAVA_DIR}: `make lucene` (apt-get install liblucene8-java) installs it")
        jars.append(str(found[-1]))
    return os.pathsep.join([str(CLASSES), *jars])


def compile_java() -> str:
    """Compile LuceneBench.java into bench/data/lucene-classes/ when missing or stale; return the class path."""
    cp = classpath()
    target = CLASSES / "LuceneBench.class"
    if not target.is_file() or target.stat().st_mtime < JAVA_SOURCE.stat().st_mtime:
        if not shutil.which("javac"):
            sys.exit("javac not found: `make lucene` installs a JDK")
        CLASSES.mkdir(parents=True, exist_ok=True)
        log(f"compiling {JAVA_SOURCE.name}")
        subprocess.run(["javac", "-d", str(CLASSES), "-cp", cp, str(JAVA_SOURCE)], check=True)
    return cp


def java_version() -> str:
    out = subprocess.run(["java", "-version"], capture_output=True, text=True)
    return (out.stderr or out.stdout).splitlines()[0] if (out.stderr or out.stdout) else "?"


# --- indexing ------------------------------------------------------------------------------------


def index_newsearch(jsonl: Path, index_dir: Path) -> dict:
    """Index the subset from scratch with newsearch in a fresh child process (run.py's INDEX_CHILD)."""
    shutil.rmtree(index_dir, ignore_errors=True)
    log(f"newsearch: indexing {jsonl.name}")
    wall, rss, out, cpu, total = run_child([sys.executable, "-c", INDEX_CHILD, str(index_dir), str(jsonl), str(SRC)])
    report = json.loads(out.strip().splitlines()[-1])
    result = {"documents": report["documents"], "inside_s": report["seconds"], "wall_s": wall, "cpu_s": cpu,
              "peak_rss_mb": rss / 2**20, "peak_rss_total_mb": total / 2**20}  # fmt: skip
    log(f"newsearch: {result['documents']} articles in {wall:.1f} s wall, {cpu:.1f} s CPU")
    return result


def index_lucene(cp: str, tsv: Path, index_dir: Path) -> dict:
    """Index the subset from scratch with Lucene in a fresh JVM."""
    shutil.rmtree(index_dir, ignore_errors=True)
    log(f"Lucene: indexing {tsv.name}")
    argv = ["java", "-cp", cp, "LuceneBench", "index", str(tsv), str(index_dir)]
    wall, rss, out, cpu, total = run_child(argv)
    report = json.loads(out.strip().splitlines()[-1])
    result = {"documents": report["documents"], "inside_s": report["index_ms"] / 1000, "wall_s": wall, "cpu_s": cpu,
              "peak_rss_mb": rss / 2**20, "peak_rss_total_mb": total / 2**20, "lucene": report["lucene"],
              "java": report["java"]}  # fmt: skip
    log(f"Lucene: {result['documents']} articles in {wall:.1f} s wall, {cpu:.1f} s CPU")
    return result


def median_run(runs: list[dict]) -> dict:
    """One indexing result from several runs: the median of every figure, and the runs themselves."""
    if len(runs) == 1:
        return runs[0]
    numbers = [k for k, v in runs[0].items() if isinstance(v, (int, float))]
    return dict(runs[0], **{k: statistics.median(r[k] for r in runs) for k in numbers}, runs=runs)


# --- queries -------------------------------------------------------------------------------------


def ranking(ranked: list[list[str]], answers: list[str]) -> dict:
    """MRR@10 and Recall@10 of ranked id lists against one answer each."""
    reciprocal, found = [], []
    for ids, answer in zip(ranked, answers, strict=True):
        rank = ids[:10].index(answer) + 1 if answer in ids[:10] else None
        reciprocal.append(1 / rank if rank else 0.0)
        found.append(1.0 if rank else 0.0)
    return {"MRR@10": sum(reciprocal) / len(answers), "R@10": sum(found) / len(answers)}


def latency(ms: list[float], cpu_ms: list[float]) -> dict:
    return {"mean_ms": statistics.fmean(ms), "median_ms": statistics.median(ms), "max_ms": max(ms),
            "cpu_mean_ms": statistics.fmean(cpu_ms), "cpu_median_ms": statistics.median(cpu_ms), "n": len(ms)}  # fmt: skip


def timed_passes(search, requests: list, rounds: int) -> tuple[list, list[float], list[float], int, float]:
    """One warm-up pass over the requests, then `rounds` timed passes; return what the warm-up pass answered,
    the wall and CPU milliseconds of every timed search, how many requests raised, and the warm-up's seconds."""
    from newsearch.errors import QueryError

    answers, errors = [], 0
    warming = time.perf_counter()
    for request in requests:
        try:
            answers.append(search(request))
        except QueryError:  # e.g. a summary made only of stop words: a miss, as for any engine
            answers.append(None)
            errors += 1
    warmup_s = time.perf_counter() - warming
    ms, cpu = [], []
    for _ in range(rounds):
        for request in requests:
            started, cpu_started = time.perf_counter(), time.process_time()
            try:
                search(request)
            except QueryError:
                pass
            ms.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
    return answers, ms, cpu, errors, warmup_s


def long_newsearch(index_dir: Path, queries: list[tuple[str, str]], rounds: int) -> dict:
    from newsearch.search import Engine, SearchRequest

    log(f"newsearch: {len(queries)} long queries, warm-up + {rounds} timed passes")
    engine = Engine(index_dir)
    requests = [SearchRequest(q=text, limit=10, collapse=False) for _, text in queries]
    results, ms, cpu, errors, warmup_s = timed_passes(engine.search, requests, rounds)
    engine.close()
    ranked = [[h["id"] for h in r.hits] if r is not None else [] for r in results]
    n = len(requests)
    pass_means = [statistics.fmean(ms[k * n : (k + 1) * n]) for k in range(rounds)]
    result = dict(latency(ms, cpu), **ranking(ranked, [a for a, _ in queries]), query_errors=errors,
                  warmup_passes=1, warmup_s=warmup_s, after_one_warmup_mean_ms=pass_means[0],
                  pass_means_ms=pass_means)  # fmt: skip
    log(f"newsearch: mean {result['mean_ms']:.1f} ms, MRR@10 {result['MRR@10']:.3f}")
    return result


def long_lucene(cp: str, index_dir: Path, queries: list[tuple[str, str]], rounds: int, warmup: int) -> dict:
    """Lucene in a fresh JVM: `warmup` untimed passes (LuceneBench's own, then ours: the first timed passes are set
    aside), then `rounds` timed ones. Also returns the mean of the pass right after one warm-up pass."""
    log(f"Lucene: {len(queries)} long queries, {warmup} warm-up + {rounds} timed passes")
    qfile = DATA / "lucene-queries.txt"
    qfile.write_text("".join(escape(text) + "\n" for _, text in queries), encoding="utf-8")
    passes = warmup - 1 + rounds
    wall, rss, out, cpu_s, _ = run_child(["java", "-cp", cp, "LuceneBench", "query", str(index_dir), str(qfile),
                                          str(passes)])  # fmt: skip
    totals, *lines = [json.loads(line) for line in out.splitlines() if line.strip()]
    if len(lines) != len(queries):
        raise RuntimeError(f"LuceneBench answered {len(lines)} queries of {len(queries)}")
    kept = slice(warmup - 1, passes)
    ms = [t for r in range(passes)[kept] for line in lines for t in [line["ms"][r]]]
    cpu = [t for r in range(passes)[kept] for line in lines for t in [line["cpu_ms"][r]]]
    ranked = [line["ids"] for line in lines]
    pass_means = [statistics.fmean(line["ms"][r] for line in lines) for r in range(passes)]
    first_pass_s = totals["warmup_ms"] / 1000
    result = dict(latency(ms, cpu), **ranking(ranked, [a for a, _ in queries]), process_wall_s=wall,
                  process_cpu_s=cpu_s, peak_rss_mb=rss / 2**20, open_ms=totals["open_ms"], warmup_passes=warmup,
                  warmup_s=first_pass_s, after_one_warmup_mean_ms=pass_means[0], pass_means_ms=pass_means)  # fmt: skip
    log(f"Lucene: mean {result['mean_ms']:.2f} ms, MRR@10 {result['MRR@10']:.3f}")
    return result


def short_newsearch(index_dir: Path, rounds: int) -> dict:
    from newsearch.search import Engine, SearchRequest

    log(f"newsearch: {len(SHORT_QUERIES)} short queries with facets and snippets, warm-up + {rounds} timed passes")
    engine = Engine(index_dir)
    requests = [SearchRequest(**args) for args in SHORT_QUERIES]
    results, ms, cpu, errors, _ = timed_passes(engine.search, requests, rounds)
    engine.close()
    with_snippets = sum(1 for r in results if r is not None and any(h.get("snippet") for h in r.hits))
    no_hit = sum(1 for r in results if r is None or not r.hits)
    result = dict(latency(ms, cpu), query_errors=errors, with_snippets=with_snippets, no_hit=no_hit)
    log(f"newsearch: short mean {result['mean_ms']:.1f} ms")
    return result


# --- report --------------------------------------------------------------------------------------


def render(res: dict, markdown: bool) -> str:
    ni, li = res["index_newsearch"], res["index_lucene"]
    nl, ll = res["long_newsearch"], res["long_lucene"]
    sh = res.get("short_newsearch")

    def ratio(a, b):
        return f"{a / b:.1f}×" if b else "–"

    def pair(label, ours, theirs, key, ours_fmt=".1f", theirs_fmt=".1f", target=None):
        """One row comparing a measure of both engines, with their ratio (and the issue's target, if any)."""
        shown = ratio(ours[key], theirs[key]) + (f" (target ≤ {TARGETS[target]:.0f}×)" if target else "")
        return label, format(ours[key], ours_fmt), format(theirs[key], theirs_fmt), shown

    queries = nl["n"] // res["rounds"]
    rows = [
        pair("indexing: time inside the process (s)", ni, li, "inside_s"),
        pair("indexing: wall time of the process (s)", ni, li, "wall_s", target="index"),
        pair("indexing: CPU user+sys, with workers/threads (s)", ni, li, "cpu_s"),
        pair("indexing: peak RSS, largest process (MB)", ni, li, "peak_rss_mb", ".0f", ".0f"),
        pair("indexing: peak RSS, all processes together (MB, sampled)", ni, li, "peak_rss_total_mb", ".0f", ".0f"),
        pair(f"long queries ({queries} summaries): mean (ms)", nl, ll, "mean_ms", ".1f", ".2f", "long_mean"),
        pair("long queries: median (ms)", nl, ll, "median_ms", ".1f", ".2f"),
        pair("long queries: CPU mean (ms)", nl, ll, "cpu_mean_ms", ".1f", ".2f"),
        pair("long queries: mean of the pass right after one warm-up pass (ms)", nl, ll, "after_one_warmup_mean_ms",
             ".1f", ".2f"),
        pair("long queries: the first (warm-up) pass, all queries (s)", nl, ll, "warmup_s"),
        ("long queries: MRR@10", f"{nl['MRR@10']:.3f}", f"{ll['MRR@10']:.3f} (README {README_LUCENE[0]})",
         f"{nl['MRR@10'] - ll['MRR@10']:+.3f}"),
        ("long queries: Recall@10", f"{nl['R@10']:.3f}", f"{ll['R@10']:.3f} (README {README_LUCENE[1]})",
         f"{nl['R@10'] - ll['R@10']:+.3f}"),
    ]  # fmt: skip
    if sh:
        rows += [
            (f"short queries, facets + snippets ({sh['n'] // res['rounds']}): mean (ms)", f"{sh['mean_ms']:.1f}",
             "no peer", "–"),
            ("short queries: median (ms)", f"{sh['median_ms']:.1f}", "no peer", "–"),
        ]  # fmt: skip
    head = ("measure", "newsearch", "Lucene", "newsearch / Lucene")
    m = res["machine"]
    notes = [
        f"{res['subset']['articles']:,} articles (first {res['subset']['first']:,} + "
        f"{res['subset']['articles'] - res['subset']['first']} later dev answers), summaries dropped",
        f"commit {m['commit']}, {m['date']}, {m['nproc']} cores ({m['cpu']}), Python {m['python']}, "
        f"Whoosh {m['whoosh']}, Lucene {li['lucene']}, {res['java']}",
        f"load average (1/5/15 min): start {m['load_start']}, "
        + ", ".join(f"after {k} {res[k + '_load']}" for k in STEPS if k + "_load" in res and k != "index_newsearch"),
        f"indexing: {len(ni.get('runs', [ni]))} run(s) of each engine, alternated (medians); newsearch with "
        f"{res.get('workers', '?')} worker processes, Lucene with one indexing thread (merges in the background)",
        "indexing runs, wall (CPU) s and 1-minute load after: "
        + "; ".join(
            f"newsearch {n['wall_s']:.1f} ({n['cpu_s']:.1f}) {n.get('load_after', '?').split()[0]}, "
            f"Lucene {lu['wall_s']:.1f} ({lu['cpu_s']:.1f}) {lu.get('load_after', '?').split()[0]}"
            for n, lu in zip(ni.get("runs", [ni]), li.get("runs", [li]), strict=True)
        ),
        f"queries: {res['rounds']} timed passes over the whole list after {nl['warmup_passes']} untimed warm-up pass "
        f"(newsearch) and {ll['warmup_passes']} (Lucene: its JIT compiler, on these 2 shared cores, needs about 3 "
        "passes to settle); newsearch errors (no query left): "
        f"long {nl['query_errors']}" + (f", short {sh['query_errors']}" if sh else ""),
    ]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines) + "\n\n" + "\n".join(f"- {n}" for n in notes)
    widths = [max(len(str(r[i])) for r in [head, *rows]) for i in range(len(head))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in [head, *rows]]
    return "\n".join(lines) + "\n\n" + "\n".join(notes)


STEPS = ["index_newsearch", "index_lucene", "long_newsearch", "long_lucene", "short_newsearch"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="timed passes over each query list (default 2)")
    parser.add_argument("--index-runs", type=int, default=3, help="index with each engine N times, alternated; "
                        "the table shows the medians (default 3)")  # fmt: skip
    parser.add_argument("--lucene-warmup", type=int, default=3, help="untimed passes before Lucene's timed ones "
                        "(default 3: its JIT compiler needs them; newsearch gets 1)")  # fmt: skip
    parser.add_argument("--first", type=int, default=10_000, help="articles from the start of the corpus")
    parser.add_argument("--skip-short", action="store_true", help="leave out the short faceted queries")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    parser.add_argument("--json", type=Path, default=DATA / "lucene-last-run.json")
    parser.add_argument("--report", type=Path, metavar="JSON", help="measure nothing: print a saved run")
    args = parser.parse_args()
    if args.report:
        print(render(json.loads(args.report.read_text()), args.markdown))
        return
    cp = compile_java()
    from newsearch.indexer import Indexer
    from newsearch.store import IndexStore

    workers = Indexer(IndexStore(DATA / "lucene-peer-newsearch")).workers
    res: dict = {"machine": machine(), "rounds": args.rounds, "java": java_version(), "workers": workers}
    log(f"machine {res['machine']}")
    answers = DEV_IDS.read_text().split()
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    subset = build_subset(records, set(answers), args.first)
    summaries = {rec["id"]: rec.get("summary") for rec in records}
    del records
    kept = {rec["id"] for rec in subset}
    queries = [(i, summaries[i]) for i in answers if i in kept and summaries.get(i)]
    res["subset"] = {"articles": len(subset), "first": args.first, "queries": len(queries)}
    jsonl, tsv = write_subset(subset)
    del subset, summaries
    ns_dir, lu_dir = DATA / "lucene-peer-newsearch", DATA / "lucene-peer-lucene"

    def step(key, fn, *fargs):
        res[key] = fn(*fargs)
        res[key + "_load"] = load()
        args.json.write_text(json.dumps(res, indent=1, ensure_ascii=False))

    ns_runs, lu_runs = [], []
    for _ in range(args.index_runs):  # alternated, so that a burst of load from other jobs hits both
        ns_runs.append(dict(index_newsearch(jsonl, ns_dir), load_after=load()))
        lu_runs.append(dict(index_lucene(cp, tsv, lu_dir), load_after=load()))
    step("index_newsearch", median_run, ns_runs)
    step("index_lucene", median_run, lu_runs)
    step("long_newsearch", long_newsearch, ns_dir, queries, args.rounds)
    step("long_lucene", long_lucene, cp, lu_dir, queries, args.rounds, args.lucene_warmup)
    if not args.skip_short:
        step("short_newsearch", short_newsearch, ns_dir, args.rounds)
    print(render(res, args.markdown))
    print(f"\nraw results: {args.json}")


if __name__ == "__main__":
    main()
