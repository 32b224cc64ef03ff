"""Near-duplicate articles (one wire story republished with small edits): fingerprints and clusters.

Texts are compared as sets of word 3-shingles of their folded words, fingerprinted by `minhash(text)`: 64
MinHash values (one-permutation hashing), whose share of equal positions estimates the Jaccard similarity of
two texts' shingle sets. On the sample corpus the copies of one story have Jaccard 0.62 to 0.87 and the
closest unrelated pair 0.07, a wide margin. A 64-bit SimHash was tried and dropped: it only fits copies edited
very little (on the same sample the copies were 4 to 20 bits apart and unrelated pairs from 21 bits).

`cluster` joins articles whose estimated Jaccard similarity reaches JACCARD_THRESHOLD, finding candidate
pairs by LSH banding (BANDS bands of ROWS values: a pair shares a band with probability
1 - (1 - J^ROWS)^BANDS, 0.94 at J = 0.5 and 0.02 at J = 0.1), so its cost grows with the number of
articles, not its square. Articles more than MAX_DAYS_APART days apart are not joined. Groups are
transitive: A~B and B~C put A, B and C in one cluster.

Measured on the shared corpus (33,954 OrangeSum articles): 301 similar pairs, 292 clusters (283 of two,
9 of three) holding 593 articles (1.7 %); 20 pairs drawn at random and read by eye were all one story
told twice (rewrites of one dispatch, same-day updates, a republication), so precision is about 1.0, at
least 0.86 at 95 % confidence. Costs: minhash 0.9 ms an article (5 minutes for 340,000), cluster 16 s
and 350 MB for 340,000 packed signatures.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections import defaultdict
from collections.abc import Iterable

from .analysis import fold_all
from .dates import parse_iso, to_utc_timestamp

SHINGLE_WORDS = 3
MINHASH_SIZE = 64
BANDS, ROWS = 21, 3  # 63 of the 64 values; threshold of the S-curve (1/BANDS)^(1/ROWS) ≈ 0.36
# Copies of one story in the sample: 0.62–0.87; unrelated articles: ≤ 0.07. See the shared-corpus test.
JACCARD_THRESHOLD = 0.5
# Copies of a wire story appear within days; articles weeks apart that share most of their text are
# mostly templates (polls' methodology, a TV show's rules) or a later stage of a case retold with the
# same background. On the shared corpus the pairs 4–8 days apart were the same story, those 20+ apart
# mostly not (see the shared-corpus test).
MAX_DAYS_APART = 14
# In one LSH bucket each article is compared with at most this many earlier groups: a bucket of
# thousands of copies of one text stays linear, and its copies join the first group anyway.
MAX_BUCKET_GROUPS = 16

_WORD_RE = re.compile(r"\w+")
# MinHash values are kept to 32 bits: two different minima agree by chance once in 4 billion, and a
# signature packs into 256 bytes (340,000 of them as tuples of Python ints would take about 1 GB).
_MASK32 = (1 << 32) - 1
# Spreads a value borrowed from a neighbour bin by its distance, so that empty bins of two texts agree
# only when their neighbours do (densified one-permutation hashing, Shrivastava & Li 2014).
_SPREAD = 0x9E3779B97F4A7C15


def shingles(text: str, size: int = SHINGLE_WORDS) -> set[str]:
    """Return the set of runs of size consecutive folded words (all the words when there are fewer)."""
    words = list(filter(None, fold_all(_WORD_RE.findall(text))))
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return set(map(" ".join, zip(*(words[i:] for i in range(size)), strict=False)))  # runs stop at the last word


def _hashes64(values) -> tuple[int, ...]:
    """Return a 64-bit hash of each value, the digests turned into integers in one call."""
    # blake2b, not hash(): fingerprints are stored in the index and must not change between runs.
    values = list(values)
    digests = b"".join([hashlib.blake2b(v.encode("utf-8"), digest_size=8).digest() for v in values])
    return struct.unpack(f">{len(values)}Q", digests)


def minhash(text: str, k: int = MINHASH_SIZE) -> tuple[int, ...]:
    """Return k MinHash values of text's shingles (empty for a text without words)."""
    # One hash per shingle: its remainder picks one of k bins, the quotient competes for the bin's minimum.
    # In descending order, the last hash written to a bin is its smallest.
    lowest = {h % k: h // k for h in sorted(_hashes64(shingles(text)), reverse=True)}
    bins: list[int | None] = [lowest.get(slot) for slot in range(k)]
    if all(v is None for v in bins):
        return ()
    out = []
    for slot in range(k):
        distance = 0
        while bins[(slot + distance) % k] is None:
            distance += 1
        out.append((bins[(slot + distance) % k] + distance * _SPREAD) & _MASK32)
    return tuple(out)


def pack(values: tuple[int, ...]) -> bytes:
    """Return a MinHash signature as 4 bytes a value, to store it or to hand many to cluster()."""
    return struct.pack(f">{len(values)}I", *values)


def unpack(data: bytes) -> tuple[int, ...]:
    """Return the MinHash values packed by pack()."""
    return struct.unpack(f">{len(data) // 4}I", data)


Signature = tuple[int, ...] | bytes


def similarity(a: Signature, b: Signature) -> float:
    """Return the Jaccard similarity two MinHash signatures (tuples or packed) estimate, 0.0 if either is empty."""
    a = unpack(a) if isinstance(a, bytes) else a
    b = unpack(b) if isinstance(b, bytes) else b
    if not a or not b or len(a) != len(b):
        return 0.0
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


class _Groups:
    """Union-find over item positions."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def _band(sig: Signature | None, band: int) -> bytes | None:
    """Return the packed values of one band of a signature, None when it has no such band."""
    lo, hi = band * ROWS, band * ROWS + ROWS
    if isinstance(sig, bytes):
        return sig[4 * lo : 4 * hi] if len(sig) >= 4 * hi else None
    return pack(sig[lo:hi]) if sig and len(sig) >= hi else None


def similar_pairs(
    signatures: list[Signature | None],
    days: list[int | None] | None = None,
    threshold: float = JACCARD_THRESHOLD,
    max_days: int | None = MAX_DAYS_APART,
) -> Iterable[tuple[int, int, float]]:
    """Yield (i, j, similarity) for positions whose signatures are similar (and days close), each pair once.

    Signatures are minhash() tuples or their pack()ed bytes (a tenth of the memory for large collections).

    days holds each item's day number (None when unknown); pairs more than max_days apart are not similar.
    """
    days = days or [None] * len(signatures)

    def close(i: int, j: int) -> bool:
        return max_days is None or days[i] is None or days[j] is None or abs(days[i] - days[j]) <= max_days

    groups = _Groups(len(signatures))
    for band in range(BANDS):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        for i, sig in enumerate(signatures):
            if key := _band(sig, band):
                buckets[key].append(i)
        for members in buckets.values():
            if len(members) < 2:
                continue
            leaders: list[int] = []  # one member per group met in this bucket
            for i in members:
                joined = False
                for j in leaders:
                    if groups.find(i) == groups.find(j):
                        joined = True
                        continue
                    if not close(i, j):
                        continue
                    score = similarity(signatures[i], signatures[j])
                    if score >= threshold:
                        groups.union(i, j)
                        joined = True
                        yield j, i, score
                if not joined and len(leaders) < MAX_BUCKET_GROUPS:
                    leaders.append(i)


def _when(value: str) -> tuple[int, int] | None:
    """Return (day number, UTC seconds) of an ISO date, None when missing or unreadable."""
    moment = parse_iso(value) if value else None
    return (moment.toordinal(), to_utc_timestamp(moment)) if moment else None


def cluster(
    items: list[tuple[str, str, Signature | None]],
    threshold: float = JACCARD_THRESHOLD,
    max_days: int | None = MAX_DAYS_APART,
) -> dict[str, str]:
    """Map each article id to its cluster's representative, given (id, ISO date or "", minhash) items.

    The signature is minhash()'s tuple or its pack()ed bytes, None or empty for an article without text.

    The representative is the earliest dated member (undated ones come last), ties broken by id; an
    article with no near-duplicate is its own representative.
    """
    groups = _Groups(len(items))
    when = [_when(day) for _, day, _ in items]
    days = [w[0] if w else None for w in when]
    for i, j, _ in similar_pairs([sig for _, _, sig in items], days, threshold, max_days):
        groups.union(i, j)

    def seniority(i: int) -> tuple:
        # Dated before undated, then earliest, then by id.
        return (when[i] is None, when[i][1] if when[i] else 0, items[i][0])

    best: dict[int, int] = {}
    for i in range(len(items)):
        root = groups.find(i)
        if root not in best or seniority(i) < seniority(best[root]):
            best[root] = i
    return {article_id: items[best[groups.find(i)]][0] for i, (article_id, _, _) in enumerate(items)}
