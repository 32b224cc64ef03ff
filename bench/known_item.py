"""Known-item ranking check on ../shared: query = an article's summary, answer = that article.

Usage: python bench/known_item.py [--task summary|title] [--subset] [--limit-ids N] [--rebuild] [--page N]
                                 [--set NAME=VALUE ...] [--against NAME=VALUE ...]

--set changes a knob of newsearch's tuning.Tuning for the run (e.g. --set passage_title_coverage=0); --against runs the
queries a second time with other settings (on top of the defaults) and prints both rows side by side.

The corpus is indexed without any summary (and, for the title task, without the titles), into
bench/data/known-item-<task>/, rebuilt only when missing or built by another index version. --subset indexes
eval/README.md's smaller corpus instead, the first 10,000 articles plus the dev answers, into
bench/data/known-item-<task>-subset/. Prints MRR@10, Recall@10, Recall@100, nDCG@10 and the mean and median
latency of the known-item call (limit 100, no collapsing; --page 10 times a page of 10 instead, ranking
measured on those 10) next to the reference engines of eval/README.md.
"""

from __future__ import annotations

import argparse
import ast
import gzip
import json
import math
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from newsearch.errors import QueryError  # noqa: E402
from newsearch.indexer import Indexer  # noqa: E402
from newsearch.search import Engine, SearchRequest  # noqa: E402
from newsearch.store import IndexStore  # noqa: E402
from newsearch.tuning import DEFAULT_TUNING, Tuning  # noqa: E402

SHARED = ROOT.parent / "shared"
DATA = ROOT / "bench" / "data"
REFERENCES = {
    "summary": [("Lucene 8.7 FrenchAnalyzer BM25", 0.730, 0.888), ("tantivy 0.27 fr_stem", 0.733, 0.880),
                ("SQLite FTS5 unicode61", 0.751, 0.893)],
    "summary-subset": [("Lucene 8.7 FrenchAnalyzer BM25", 0.851, 0.938), ("tantivy 0.27 fr_stem", 0.845, 0.932),
                       ("SQLite FTS5 unicode61", 0.868, 0.942)],
    "title": [("Lucene 8.7 FrenchAnalyzer BM25", 0.28, None)],
    "title-subset": [],
}  # fmt: skip
SUBSET_FIRST = 10_000  # eval/README.md's smaller corpus: the first 10,000 articles plus the dev answers


def load_corpus() -> dict[str, dict]:
    """Read every record of the shared corpus, keyed by id."""
    with gzip.open(SHARED / "corpus" / "orangesum.jsonl.gz", "rt", encoding="utf-8") as fh:
        return {rec["id"]: rec for rec in map(json.loads, fh)}


def subset_of(corpus: dict[str, dict], answers: list[str], first: int = SUBSET_FIRST) -> dict[str, dict]:
    """Return the first `first` articles of the corpus (in file order) plus the answers, in corpus order."""
    keep = set(list(corpus)[:first]) | set(answers)
    return {i: rec for i, rec in corpus.items() if i in keep}


def build_index(corpus: dict[str, dict], task: str, rebuild: bool, name: str | None = None) -> Path:
    """Index the corpus without summaries (and without titles for the title task) into bench/data/<name>."""
    name = name or f"known-item-{task}"
    index_dir = DATA / name
    store = IndexStore(index_dir)
    if store.exists() and not rebuild:
        try:
            store.check_version(store.current_dir())
            return index_dir
        except Exception:
            pass
    DATA.mkdir(parents=True, exist_ok=True)
    source = DATA / f"corpus-{name.removeprefix('known-item-')}.jsonl"
    with open(source, "w", encoding="utf-8") as out:
        for rec in corpus.values():
            rec = {k: v for k, v in rec.items() if k != "summary"}
            if task == "title":
                rec.pop("title", None)
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    started = time.monotonic()
    report = Indexer(store).run([source], full=True)
    print(f"indexed {report.documents} articles in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return index_dir


def evaluate(engine: Engine, queries: list[tuple[str, str]], depth: int = 100) -> dict:
    """Run the queries; return MRR@10, Recall@10, Recall@100, nDCG@10 and the mean and median latency."""
    reciprocal, r10, r100, ndcg, times = [], [], [], [], []
    for answer, text in queries:
        started = time.perf_counter()
        try:
            # Ranking alone: with wire copies collapsed the answer could hide behind its own copy.
            hits = engine.search(SearchRequest(q=text, limit=depth, collapse=False)).hits
        except QueryError:  # e.g. a summary made only of stop words: a miss, as for any engine
            hits = []
        times.append(time.perf_counter() - started)
        ids = [h["id"] for h in hits]
        rank = ids.index(answer) + 1 if answer in ids else None
        reciprocal.append(1 / rank if rank and rank <= 10 else 0.0)
        r10.append(1.0 if rank and rank <= 10 else 0.0)
        r100.append(1.0 if rank else 0.0)
        ndcg.append(1 / math.log2(rank + 1) if rank and rank <= 10 else 0.0)
    n = len(queries)
    return {
        "MRR@10": sum(reciprocal) / n,
        "R@10": sum(r10) / n,
        "R@100": sum(r100) / n,
        "nDCG@10": sum(ndcg) / n,
        "median ms": statistics.median(times) * 1000,
        "mean ms": statistics.fmean(times) * 1000,
        "queries": n,
    }


def tuning_of(settings: list[str]) -> Tuning:
    """Return the default tuning with the knobs of NAME=VALUE strings changed (a misspelt name stops the run)."""
    changes = {}
    for item in settings:
        name, _, value = item.partition("=")
        changes[name.removeprefix("tuning.")] = ast.literal_eval(value)
    try:
        return DEFAULT_TUNING.changed(changes)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def run_config(index_dir, queries, settings: list[str], depth: int = 100) -> dict:
    """Evaluate the queries on an Engine of its own with some knobs changed."""
    return evaluate(Engine(index_dir, tuning=tuning_of(settings)), queries, depth)


def row(name: str, result: dict) -> str:
    """One Markdown table row of a result."""
    return (
        f"| {name} | {result['MRR@10']:.4f} | {result['R@10']:.4f} | {result['R@100']:.4f} "
        f"| {result['nDCG@10']:.4f} | {result['median ms']:.1f} | {result['mean ms']:.1f} |"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["summary", "title"], default="summary")
    parser.add_argument("--subset", action="store_true", help="the first 10,000 articles plus the dev answers")
    parser.add_argument("--limit-ids", type=int, default=None, help="only the first N dev ids")
    parser.add_argument("--page", type=int, default=100, help="hits asked for (100; 10 times a page of 10)")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--set", dest="settings", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--against", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args()
    corpus = load_corpus()
    dev_ids = (SHARED / "eval" / "known-item-dev.txt").read_text().split()
    name = f"known-item-{args.task}"
    if args.subset:
        corpus = subset_of(corpus, dev_ids)
        name += "-subset"
    ids = dev_ids[: args.limit_ids]
    field = "summary" if args.task == "summary" else "title"
    queries = [(i, corpus[i][field]) for i in ids if corpus.get(i, {}).get(field)]
    index_dir = build_index(corpus, args.task, args.rebuild, name)
    result = run_config(index_dir, queries, args.settings, args.page)
    other = run_config(index_dir, queries, args.against, args.page) if args.against else None
    print(
        f"\nKnown-item task: query = {field}, {result['queries']} dev ids, {len(corpus)} articles, {args.page} hits\n"
    )
    print("| engine | MRR@10 | R@10 | R@100 | nDCG@10 | median ms | mean ms |")
    print("|---|---|---|---|---|---|---|")
    print(row("newsearch" + "".join(f" {s}" for s in args.settings), result))
    if other is not None:
        print(row("newsearch" + "".join(f" {s}" for s in args.against), other))
        delta = {k: other[k] - result[k] for k in ("MRR@10", "R@10", "R@100", "nDCG@10", "median ms", "mean ms")}
        print(row("difference (second − first)", delta))
    for engine_name, mrr, r10 in REFERENCES[name.removeprefix("known-item-")]:
        print(f"| {engine_name} | {mrr:.3f} | {r10 if r10 is not None else '–'} | – | – | – | – |")


if __name__ == "__main__":
    main()
