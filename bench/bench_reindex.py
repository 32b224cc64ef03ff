"""Reindexing benchmark (issue 4): first run, no-change run, touch-only run and small-change run, medians.

Usage: python bench/bench_reindex.py [--small-files N] [--first-rounds N] [--rounds N] [--skip-big] [--batch-size N]

Two corpora: the full ../shared/corpus/orangesum.jsonl.gz (one big JSONL file, copied into bench/data/reindex/
so that articles can be appended to it) and a folder of many small text files written by this script. For each:
the first run into an empty index, a run with nothing changed, a run after touching every file (new mtime,
same bytes), and a run after a small change (10 articles appended to the JSONL file; 1 % of the small files
edited). Everything lives under bench/data/ (git-ignored); the index is rebuilt by each first run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from newsearch.indexer import Indexer  # noqa: E402
from newsearch.store import IndexStore  # noqa: E402

DATA = ROOT / "bench" / "data" / "reindex"
CORPUS = ROOT.parent / "shared" / "corpus" / "orangesum.jsonl.gz"
WORDS = (
    "pluie gouvernement réforme école hôpital grève élection village rivière tempête marché prix énergie "
    "santé médecin agriculteur récolte football musée théâtre département conseil maire budget"
).split()


def timed(index_dir: Path, source: Path, batch_size: int):
    started = time.perf_counter()
    report = Indexer(IndexStore(index_dir), batch_size=batch_size).run([source])
    return time.perf_counter() - started, report


def touch_all(folder: Path) -> None:
    now = time.time()
    for p in folder.rglob("*"):
        if p.is_file():
            os.utime(p, (now, now))


def append_articles(path: Path, round_no: int, n: int = 10) -> None:
    """Append n new articles to a .jsonl.gz file as one more gzip member (a valid gzip stream)."""
    lines = [
        json.dumps(
            {
                "id": f"bench-{round_no}-{i}",
                "title": f"Article ajouté {round_no}-{i}",
                "body": "Un texte ajouté. " * 40,
            },
            ensure_ascii=False,
        )
        + "\n"
        for i in range(n)
    ]
    with open(path, "ab") as fh:
        fh.write(gzip.compress("".join(lines).encode("utf-8")))


def make_small_files(folder: Path, count: int, seed: int = 4) -> None:
    rng = random.Random(seed)
    shutil.rmtree(folder, ignore_errors=True)
    for i in range(count):
        p = folder / f"d{i % 50:02d}" / f"article-{i:05d}.txt"
        p.parent.mkdir(parents=True, exist_ok=True)
        body = "\n\n".join(" ".join(rng.choice(WORDS) for _ in range(60)).capitalize() + "." for _ in range(4))
        p.write_text(f"Titre {i} : {' '.join(rng.choice(WORDS) for _ in range(5))}\n\n{body}\n", "utf-8")


def edit_some(folder: Path, fraction: float, round_no: int) -> None:
    files = sorted(folder.rglob("*.txt"))
    for p in random.Random(round_no).sample(files, max(1, int(len(files) * fraction))):
        p.write_text(p.read_text("utf-8") + f"\nMise à jour numéro {round_no}.\n", "utf-8")


def bench(name, source, index_dir, first_rounds, rounds, batch_size, small_change, change_label) -> dict:
    print(f"[{name}] first run ×{first_rounds} …", file=sys.stderr, flush=True)
    first, report = [], None
    for _ in range(first_rounds):
        shutil.rmtree(index_dir, ignore_errors=True)
        seconds, report = timed(index_dir, source, batch_size)
        first.append(seconds)
    articles = report.documents
    print(f"[{name}] {articles} articles; no-change, touch and {change_label} runs …", file=sys.stderr, flush=True)
    results = {"no change": [], "touch only": [], change_label: []}
    for r in range(rounds):
        seconds, report = timed(index_dir, source, batch_size)
        assert not (report.added or report.updated or report.deleted), report.to_dict()
        results["no change"].append(seconds)
        touch_all(source if source.is_dir() else source.parent)
        seconds, report = timed(index_dir, source, batch_size)
        assert not (report.added or report.updated or report.deleted), report.to_dict()
        results["touch only"].append(seconds)
        small_change(r)
        seconds, report = timed(index_dir, source, batch_size)
        assert report.added or report.updated, report.to_dict()
        results[change_label].append(seconds)
    return {"corpus": name, "articles": articles, "first run": first, **results}


def fmt(values) -> str:
    return f"{statistics.median(values):8.2f} s" if values else "       -"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small-files", type=int, default=2000)
    parser.add_argument("--first-rounds", type=int, default=1, help="first runs of the big corpus (slow)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--skip-big", action="store_true", help="skip the full orangesum corpus")
    args = parser.parse_args(argv)
    DATA.mkdir(parents=True, exist_ok=True)
    rows = []

    small = DATA / "small"
    make_small_files(small, args.small_files)
    rows.append(
        bench(
            f"{args.small_files} small .txt files",
            small,
            DATA / "small-index",
            max(args.first_rounds, 3),
            args.rounds,
            args.batch_size,
            lambda r: edit_some(small, 0.01, r),
            "small change",
        )
    )
    if not args.skip_big:
        if not CORPUS.is_file():
            print(f"skipping the big corpus: {CORPUS} not found", file=sys.stderr)
        else:
            big = DATA / "orangesum" / CORPUS.name
            big.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(CORPUS, big)  # a fresh copy: earlier rounds appended to it
            rows.append(
                bench(
                    "orangesum.jsonl.gz (1 file)",
                    big.parent,
                    DATA / "orangesum-index",
                    args.first_rounds,
                    args.rounds,
                    args.batch_size,
                    lambda r: append_articles(big, r),
                    "small change",
                )
            )

    print()
    print(f"{'corpus':34} {'articles':>9} {'first run':>11} {'no change':>11} {'touch only':>11} {'small change':>13}")
    for row in rows:
        print(
            f"{row['corpus']:34} {row['articles']:>9} {fmt(row['first run']):>11} {fmt(row['no change']):>11} "
            f"{fmt(row['touch only']):>11} {fmt(row['small change']):>13}"
        )
    print(
        "\nmedians; small change = 1 % of the small files edited, or 10 articles appended to the JSONL file "
        f"(batch size {args.batch_size}, first runs: {max(args.first_rounds, 3)} small / {args.first_rounds} big)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
