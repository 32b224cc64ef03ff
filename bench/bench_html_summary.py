"""HTML pages' summaries against the JSONL reference: how many pages get one, exact matches, token overlap."""

from __future__ import annotations

import gzip
import json
import re
import sys
from collections import Counter
from pathlib import Path

from newsearch.errors import ParseError
from newsearch.parse import parse_file

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"


def words(text: str) -> list[str]:
    """Return the lowercased words of text, for the overlap score."""
    return re.findall(r"\w+", text.lower())


def overlap(found: str, reference: str) -> float:
    """Return the token F1 of found against reference (1.0 both empty)."""
    a, b = Counter(words(found)), Counter(words(reference))
    if not a and not b:
        return 1.0
    common = sum((a & b).values())
    if not common:
        return 0.0
    precision, recall = common / sum(a.values()), common / sum(b.values())
    return 2 * precision * recall / (precision + recall)


def main(shared: Path = SHARED) -> None:
    """Parse every page of orangesum-html and print one table row of how its summaries compare."""
    pages = {p.stem: p for p in sorted((shared / "orangesum-html").glob("*.html"))}
    reference = {}
    with gzip.open(shared / "orangesum.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if record["id"] in pages:
                reference[record["id"]] = record
    squeeze = " ".join
    given = with_summary = exact = body_exact_start = 0
    scores: list[float] = []
    for key, path in pages.items():
        try:
            article = parse_file(path)
        except ParseError:
            continue
        ref = reference[key].get("summary") or ""
        given += bool(ref.strip())
        with_summary += bool(article.articles[0].summary)
        found = article.articles[0].summary
        exact += bool(ref.strip()) and squeeze(found.split()) == squeeze(ref.split())
        if ref.strip():
            scores.append(overlap(found, ref))
        body_exact_start += squeeze(article.articles[0].body.split()[:8]) == squeeze(
            (reference[key].get("body") or "").split()[:8]
        )
    mean = sum(scores) / len(scores) if scores else 0.0
    print("| pages | reference summaries | pages with a summary | exact | mean token F1 | body starts as the JSONL's |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {len(pages)} | {given} | {with_summary} | {exact} | {mean:.3f} | {body_exact_start} |")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else SHARED)
