"""How many bodies of the shared corpus the glued-sentence repair changes, old rule against new, with samples."""

from __future__ import annotations

import gzip
import json
import random
import re
import sys
from pathlib import Path

from newsearch.parse import _GLUED, _unglue, html_to_text

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "orangesum.jsonl.gz"
# The rule before issue 16: a full stop right after two lowercase letters or digits, then a capitalised word.
BEFORE = re.compile(r"([.!?])(?<=[a-zà-ÿ0-9\)»\"]{2}[.!?])(?=[A-ZÀ-ÖØ-Þ][a-zà-ÿ])")


def spaces(raw: str) -> tuple[set[int], set[int]]:
    """Return where the old rule and the new one put a space in raw."""
    old = {m.end() for m in BEFORE.finditer(raw)}
    new = {m.end() for m in _GLUED.finditer(raw) if _unglue(m) != m.group()}
    return old, new


def main(path: Path = CORPUS, sample: int = 10) -> None:
    """Print how many bodies each rule changes, and samples of the spots where they disagree."""
    bodies = by_old = by_new = differ = 0
    only_new: list[str] = []
    only_old: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            raw = html_to_text(json.loads(line).get("body") or "")
            old, new = spaces(raw)
            bodies += 1
            by_old += bool(old)
            by_new += bool(new)
            differ += old != new
            only_new += [raw[max(0, at - 25) : at + 20].replace("\n", " ") for at in new - old]
            only_old += [raw[max(0, at - 25) : at + 20].replace("\n", " ") for at in old - new]
    print("| bodies | changed by the old rule | by the new rule | where they differ | spots new only | old only |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {bodies:,} | {by_old:,} | {by_new:,} | {differ:,} | {len(only_new):,} | {len(only_old):,} |")
    random.seed(16)
    for name, spots in (("new rule only", only_new), ("old rule only", only_old)):
        print(f"\n{name} (sample of {min(sample, len(spots))}):")
        for spot in random.sample(spots, min(sample, len(spots))):
            print(f"  {spot!r}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else CORPUS)
