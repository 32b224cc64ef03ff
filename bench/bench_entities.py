"""Precision of the entity facets, per kind, on a sample of the shared corpus labelled by hand.

Usage: python bench/bench_entities.py [--corpus PATH] [--labels bench/entity_labels.json] [--unlabelled]

The sample is SAMPLE_SIZE articles drawn with SAMPLE_SEED from the corpus; each article's entities are extracted as
the indexer extracts them (title, then summary and body up to ENTITY_CHARS). The labels file holds, per article
id and kind, each entity string found with true (right) or false (wrong): article ids and entity strings only, no
article text. An entity found that the file does not label is listed with --unlabelled, to be read and labelled;
it is left out of the precision.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from newsearch.entities import TYPES, extract_entities  # noqa: E402
from newsearch.indexer import ENTITY_CHARS  # noqa: E402
from newsearch.parse import article_from_record  # noqa: E402

SAMPLE_SEED, SAMPLE_SIZE = 16, 40


def sample(corpus: Path) -> list:
    """Return the sampled articles, in sample order."""
    with gzip.open(corpus, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh]
    picked = random.Random(SAMPLE_SEED).sample(records, SAMPLE_SIZE)
    return [article_from_record(r, corpus.name, r["id"]) for r in picked]


def entities_of(article) -> dict[str, list[str]]:
    """Extract an article's entities as the indexer does."""
    return extract_entities(article.title, (article.summary + "\n\n" + article.body)[:ENTITY_CHARS])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(ROOT.parent / "shared" / "corpus" / "orangesum.jsonl.gz"))
    parser.add_argument("--labels", default=str(ROOT / "bench" / "entity_labels.json"))
    parser.add_argument("--unlabelled", action="store_true", help="List the entities found that have no label.")
    args = parser.parse_args()
    labels = json.loads(Path(args.labels).read_text(encoding="utf-8")) if Path(args.labels).exists() else {}
    right = {kind: 0 for kind in TYPES}
    found = {kind: 0 for kind in TYPES}
    wrong, unlabelled = [], []
    for article in sample(Path(args.corpus)):
        for kind, names in entities_of(article).items():
            for name in names:
                label = labels.get(article.id, {}).get(kind, {}).get(name)
                if label is None:
                    unlabelled.append(f"{article.id}\t{kind}\t{name}")
                    continue
                found[kind] += 1
                right[kind] += bool(label)
                if not label:
                    wrong.append(f"{article.id}\t{kind}\t{name}")
    print(f"{SAMPLE_SIZE} articles (seed {SAMPLE_SEED}), {args.labels}")
    print("| kind | labelled entities found | right | precision |\n|---|---:|---:|---:|")
    for kind in TYPES:
        share = right[kind] / found[kind] if found[kind] else 0.0
        print(f"| {kind} | {found[kind]} | {right[kind]} | {share:.0%} |")
    total, good = sum(found.values()), sum(right.values())
    print(f"| **all** | {total} | {good} | {good / total if total else 0:.0%} |")
    print(f"{len(unlabelled)} entities found without a label")
    for line in wrong:
        print("  wrong: " + line)
    if args.unlabelled:
        for line in unlabelled:
            print("  unlabelled: " + line)


if __name__ == "__main__":
    main()
