"""Make a 10x corpus for the scale benchmark: bench/data/scale10.jsonl.gz (339,540 articles).

Usage: python bench/make_scale.py [--copies 10] [--out PATH] [--seed 6] [--perturb 0.02]

Copy 0 is the shared corpus as it is (same ids). Copy k (1..9) of each article gets the id `<id>~k`, its date
moved back by k years (or, for odd k, by k years and k months, so copies do not stack on the same months),
and about 2% of the words of its title, summary and body replaced by words drawn from the corpus vocabulary,
so that copies are near-duplicates rather than identical (they then score and snippet like real articles).
Everything is deterministic: the same seed gives the same file byte for byte (gzip mtime 0).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import time
import zlib
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus" / "orangesum.jsonl.gz"
OUT = ROOT / "bench" / "data" / "scale10.jsonl.gz"
TEXT_FIELDS = ("title", "summary", "body")


def shift_date(iso: str, years: int, months: int) -> str:
    """Move an ISO 8601 date back by whole years and months; the day is clamped (29 Feb -> 28 Feb)."""
    try:
        moment = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return iso
    total = moment.year * 12 + (moment.month - 1) - years * 12 - months
    year, month = divmod(total, 12)
    month += 1
    for day in (moment.day, 30, 29, 28):
        try:
            return moment.replace(year=year, month=month, day=min(moment.day, day)).isoformat()
        except ValueError:
            continue
    return iso


def perturb(text: str, rng: random.Random, vocabulary: list[str], rate: float) -> str:
    """Replace about rate of the space-separated words of text by vocabulary words."""
    if not text:
        return text
    words = text.split(" ")
    n = len(words)
    count = int(n * rate + rng.random())  # rounds up with probability = fractional part: rate on average
    for i in rng.sample(range(n), min(count, n)):
        words[i] = rng.choice(vocabulary)
    return " ".join(words)


def build_vocabulary(records: list[dict], seed: int, size: int = 50_000) -> list[str]:
    """Return a deterministic sample of body words (with repetition, so frequent words stay frequent)."""
    rng = random.Random(seed)
    pool = []
    for rec in rng.sample(records, min(2000, len(records))):
        pool.extend(w for w in (rec.get("body") or "").split(" ") if w.isalpha())
    return [rng.choice(pool) for _ in range(size)] if pool else ["mot"]


def make_copy(rec: dict, k: int, vocabulary: list[str], seed: int, rate: float) -> dict:
    """Return copy k of an article (copy 0 is the article itself)."""
    if k == 0:
        return rec
    out = dict(rec)
    out["id"] = f"{rec['id']}~{k}"
    if rec.get("url"):
        out["url"] = f"{rec['url']}?copy={k}"
    if rec.get("date"):
        out["date"] = shift_date(rec["date"], k, k if k % 2 else 0)
    rng = random.Random(zlib.crc32(f"{seed}:{k}:{rec['id']}".encode()))
    for name in TEXT_FIELDS:
        if isinstance(rec.get(name), str):
            out[name] = perturb(rec[name], rng, vocabulary, rate)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument("--perturb", type=float, default=0.02, help="fraction of words replaced in copies 1..")
    args = parser.parse_args()

    started = time.monotonic()
    with gzip.open(args.corpus, "rt", encoding="utf-8") as fh:
        records = [json.loads(line) for line in fh if line.strip()]
    vocabulary = build_vocabulary(records, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    count = 0
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=3, mtime=0) as gz:
        for k in range(args.copies):
            lines = []
            for rec in records:
                lines.append(json.dumps(make_copy(rec, k, vocabulary, args.seed, args.perturb), ensure_ascii=False))
            gz.write(("\n".join(lines) + "\n").encode("utf-8"))
            count += len(lines)
            print(f"copy {k}: {count} articles ({time.monotonic() - started:.0f} s)", file=sys.stderr)
    tmp.replace(args.out)
    size = args.out.stat().st_size / 1e6
    print(f"wrote {count} articles to {args.out} ({size:.0f} MB) in {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
