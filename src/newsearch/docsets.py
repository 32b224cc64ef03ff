"""Document sets as Python big-int bitsets, and exact query matching from cached per-term postings.

Bit d of an int is document number d. AND, OR and popcount over 34,000 (or 340,000) documents take
microseconds, which is what makes totals and facets over every match cheap.

`LeafCache` matches a Whoosh query exactly as Whoosh's own matchers do (same documents, same BM25F
scores), but walks each leaf query (a term, a phrase, a fuzzy term) once per searcher and keeps its
{docnum: score}; the boolean structure on top (AND, OR, NOT) is then dict arithmetic. Whoosh's walk of a
union tree, document by document through every branch, was most of a search's time.
"""

from __future__ import annotations

import heapq
import math
import threading
from collections import OrderedDict
from functools import partial
from itertools import compress
from operator import add

from whoosh import query as wq
from whoosh import scoring
from whoosh.collectors import TimeLimit
from whoosh.reading import TermNotFound
from whoosh.support.levenshtein import distance
from whoosh.util.numeric import byte_to_length

from .whoosh_compat import (
    bm25_score_function,
    bm25f_parameters,
    iter_blocks,
    reader_length_bytes,
    unwrap_postings,
    unwrap_term_matcher,
)

_BITS01 = bytes.maketrans(b"01", b"\x00\x01")


def bits_of(docs, n: int) -> int:
    """Return the bitset of an iterable of document numbers below n."""
    if not isinstance(docs, (list, tuple, range)) and not hasattr(docs, "__len__"):
        docs = list(docs)
    if len(docs) * 100 < n:
        # Few documents: set bits in n/8 bytes (a 34,000-digit string costs 30-50 us whatever it holds).
        raw = bytearray((n + 7) >> 3)
        for d in docs:
            raw[d >> 3] |= 1 << (d & 7)
        return int.from_bytes(raw, "little")
    buf = bytearray(b"0") * n
    last = n - 1
    for d in docs:
        buf[last - d] = 49  # "1"
    return int(buf, 2) if n else 0


def top_keys(scores: dict, k: int, key=None) -> list:
    """Return the k keys of highest value (of highest key(d) if given), ties by lowest key, best first."""
    values = scores.values() if key is None else map(key, scores)
    if len(scores) > k:
        # The k-th best value, then only the keys reaching it, selected in C: no Python call per entry.
        threshold = heapq.nlargest(k, values)[-1]
        values = scores.values() if key is None else map(key, scores)
        keys = list(compress(scores, map(threshold.__le__, values)))
    else:
        keys = list(scores)
    value = scores.__getitem__ if key is None else key
    keys.sort(key=lambda d: (-value(d), d))
    return keys[:k]


def docs_of(bits: int) -> list[int]:
    """Return the document numbers of a bitset, ascending."""
    if not bits:
        return []
    flags = bin(bits)[:1:-1].encode().translate(_BITS01)  # bit 0 first
    return list(compress(range(len(flags)), flags))


class DocSet:
    """A set of document numbers held as a bitset: len, `in` and iteration (ascending)."""

    __slots__ = ("bits", "_bytes", "_docs")

    def __init__(self, bits: int, docs: list[int] | None = None):
        self.bits = bits
        self._bytes = None
        self._docs = docs

    def __len__(self) -> int:
        return self.bits.bit_count()

    def __bool__(self) -> bool:
        return bool(self.bits)

    def __contains__(self, docnum: int) -> bool:
        raw = self._bytes
        if raw is None:
            raw = self._bytes = self.bits.to_bytes((self.bits.bit_length() + 7) // 8, "little")
        i = docnum >> 3
        return 0 <= i < len(raw) and bool(raw[i] >> (docnum & 7) & 1)

    @property
    def docs(self) -> list[int]:
        if self._docs is None:
            self._docs = docs_of(self.bits)
        return self._docs

    def __iter__(self):
        return iter(self.docs)


# --- exact matching from cached leaves -----------------------------------------------------------------


# About 100 bytes each (a dict entry, its int and float): up to ~200 MB, reached only on a 10x index.
MAX_ENTRIES = 2_000_000
MEMO_ENTRIES = 10_000
_MISSING = object()


class LeafCache:
    """Per-searcher cache of each leaf query's {docnum: score}, least recently used dropped first."""

    def __init__(self, searcher, max_entries: int = MAX_ENTRIES):
        self.searcher = searcher
        self.max_entries = max_entries
        self._leaves: OrderedDict = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()
        self._prefixes: dict[tuple[str, str], list[str]] = {}
        self._lengths: dict = {}
        self._avg_lengths: dict[str, float] = {}
        self._frequencies: dict[tuple[str, str], int] = {}
        self._memo: dict = {}
        self._columns: dict = {}

    def doc_frequency(self, fieldname: str, text: str) -> int:
        """Return the reader's document frequency of a term, looked up once per searcher.

        Whoosh asks every segment's term table: a pasted paragraph's 50 words in two fields over 14
        segments were 1,400 lookups, a third of its search.
        """
        key = (fieldname, text)
        found = self._frequencies.get(key)
        if found is None:
            found = self.searcher.reader().doc_frequency(fieldname, text)
            if len(self._frequencies) >= MAX_ENTRIES:
                self._frequencies.clear()
            self._frequencies[key] = found
        return found

    def column(self, name: str):
        """Return the reader of a column, opened once per searcher: opening one reads its table of offsets (for
        the passage column, 0.4 ms of a 6.8 ms passage search when each search opened its own)."""
        found = self._columns.get(name)
        if found is None:
            found = self._columns[name] = self.searcher.reader().column_reader(name)
        return found

    def cached(self, q) -> dict[int, float] | None:
        """Return a leaf query's {docnum: score} when a search of this searcher computed it, else None: nothing
        is read. Its keys come in docnum order, as postings do."""
        with self._lock:
            return self._leaves.get(q)

    def remember(self, key, compute):
        """Return compute() for key, computed once per searcher: answers derived from the index that later
        searches ask again (how articles spell a word), bounded like the rest of the cache."""
        found = self._memo.get(key, _MISSING)
        if found is _MISSING:
            found = compute()
            if len(self._memo) >= MEMO_ENTRIES:
                self._memo.clear()
            self._memo[key] = found
        return found

    def terms_within(self, fieldname: str, text: str, maxdist: int, prefix: int = 0):
        """Yield the terms within maxdist Damerau-Levenshtein edits of text, as Whoosh's reader.terms_within
        (same terms, same order), with each prefix's term list read once per searcher and words whose
        length alone rules them out skipped before the distance is computed."""
        key = (fieldname, text[:prefix])
        words = self._prefixes.get(key)
        if words is None:
            reader = self.searcher.reader()
            field = reader.schema[fieldname]
            words = [field.from_bytes(b) for b in reader.expand_prefix(fieldname, text[:prefix])]
            with self._lock:
                self._prefixes[key] = words
        size = len(text)
        for word in words:
            if abs(len(word) - size) <= maxdist and distance(word, text, limit=maxdist) <= maxdist:
                yield word

    def scores(self, q, deadline=None) -> dict[int, float]:
        """Return {docnum: score} of every document q matches, scored as Whoosh scores it.

        deadline: a budget.Budget; TimeLimit is raised once it has expired.
        """
        return self._eval(q, deadline)

    # -- evaluation ---------------------------------------------------------------------------------

    def _eval(self, q, deadline):
        if deadline is not None and deadline.expired():
            raise TimeLimit()
        cls = type(q)
        if q is wq.NullQuery or isinstance(q, wq.NullQuery.__class__):
            return {}
        if isinstance(q, (wq.Or, wq.And)) and not _special_or(q):
            subs = [s for s in q.subqueries if s is not wq.NullQuery and not isinstance(s, wq.NullQuery.__class__)]
            if not subs:
                return {}
            if len(subs) == 1:
                out = self._eval(subs[0], deadline)
            elif isinstance(q, wq.And):
                out = self._intersection(subs, deadline)
            else:
                out = self._union(subs, deadline)
            return _boosted(out, q.boost) if len(subs) > 1 else out
        if cls is wq.AndNot:
            positive = self._eval(q.a, deadline)
            if not positive:
                return {}
            negative = self._eval(q.b, deadline)
            return _boosted({d: s for d, s in positive.items() if d not in negative}, q.boost)
        if cls is wq.Require:
            positive = self._eval(q.a, deadline)
            required = self._eval(q.b, deadline) if positive else {}
            return _boosted({d: s for d, s in positive.items() if d in required}, q.boost)
        if cls is wq.AndMaybe:
            positive = self._eval(q.a, deadline)
            maybe = self._eval(q.b, deadline) if positive else {}
            return _boosted({d: s + maybe[d] if d in maybe else s for d, s in positive.items()}, q.boost)
        return self._leaf(q, deadline)

    def _union(self, subs, deadline):
        out: dict[int, float] = {}
        for sub in subs:
            part = self._eval(sub, deadline)
            if not out:
                out = dict(part)
                continue
            # A plain loop: measured 2x faster than set intersection + dict.update with C maps (france, 10x).
            get = out.get
            for d, s in part.items():
                prev = get(d)
                out[d] = s if prev is None else prev + s
        return out

    def _intersection(self, subs, deadline):
        # Whoosh's And scores a NOT subquery through an InverseMatcher of weight 1: it adds 1 to the score.
        positives = [s for s in subs if not isinstance(s, wq.Not)]
        negatives = [s.query for s in subs if isinstance(s, wq.Not)]
        if not positives:
            return self._leaf(wq.And(subs), deadline)
        parts = [self._eval(s, deadline) for s in positives]
        parts.sort(key=len)
        common = parts[0].keys()
        for p in parts[1:]:
            common = common & p.keys()
        # Summed in the order of sum(p[d] for p in parts), by C calls only.
        sums = map(parts[0].__getitem__, common)
        for p in parts[1:]:
            sums = map(add, sums, map(p.__getitem__, common))
        out = dict(zip(common, sums, strict=True))
        for neg in negatives:
            if not out:
                break
            excluded = self._eval(neg, deadline)
            out = {d: s + 1.0 for d, s in out.items() if d not in excluded}
        return out

    def _term_blocks(self, m, subsearcher, fieldname, offset, out, deadline) -> bool:
        """Walk a term's postings block by block, with the score of each (weight, length byte) pair computed once.

        The same numbers as the matcher's own walk: BM25FScorer._score(weight, field length) times the boost,
        the length read from the same column; only Whoosh's per-posting method calls are saved (a cold
        walk was ~1 us per posting). Returns False, having done nothing, for any other kind of matcher.
        """
        parts = unwrap_term_matcher(m)
        if parts is None:
            return False
        leaf, skip, boost = parts
        lengths = self._length_bytes(subsearcher, fieldname)
        if lengths is None:
            return False
        _score, dfl = bm25_score_function(leaf.scorer)
        # A zero byte reads back as no length: ask the scorer, as the matcher would.
        _walk_blocks(leaf, skip, lengths, offset, out, deadline, lambda w, length: _score(w, length) * boost, dfl)
        return True

    def _term_walk(self, q, out, deadline) -> bool:
        """Score a Term's postings in every segment with one BM25F formula, as Whoosh's matchers score them.

        Whoosh builds a scorer per segment for each term (the field's average length summed over every
        segment, two more term look-ups): for a passage's 12 words in 4 fields over 17 segments, that set-up
        was most of its first stage. The statistics are global, so one set of numbers serves every segment;
        the per-posting arithmetic is BM25FScorer._score's, in the same order. Returns False, having done
        nothing, for another weighting or field kind (the matchers' walk is then used).
        """
        searcher = self.searcher
        weighting = searcher.weighting
        fieldname = q.fieldname
        if type(weighting) is not scoring.BM25F or fieldname not in searcher.schema:
            return False
        field = searcher.schema[fieldname]
        if not field.scorable:
            return False
        try:
            text = field.to_bytes(q.text)
        except ValueError:
            return False
        B, K1 = bm25f_parameters(weighting, fieldname)
        # WeightingModel.idf, BM25F's, from the document frequency cached per searcher (the passage's first
        # stage has looked it up already), instead of a look-up in every segment per term.
        n = self.doc_frequency(fieldname, q.text)
        if not n:
            return True  # no posting anywhere: nothing matches, as Whoosh's NullMatcher
        idf = math.log(searcher.doc_count_all() / (n + 1)) + 1
        avgfl = self._avg_lengths.get(fieldname)
        if avgfl is None:
            avgfl = self._avg_lengths[fieldname] = searcher.avg_field_length(fieldname) or 1
        boost = q.boost
        bm25 = scoring.bm25
        for subsearcher, offset in searcher.leaf_searchers():
            reader = subsearcher.reader()
            try:
                postings = reader.postings(fieldname, text)
            except (KeyError, TermNotFound):  # one look-up instead of two: `term in reader`, then postings
                continue
            parts = unwrap_postings(postings)
            lengths = self._length_bytes(subsearcher, fieldname)
            if parts is None or lengths is None:
                return False  # before any score is written for this segment: out is redone whole
            leaf, skip = parts
            _walk_blocks(
                leaf, skip, lengths, offset, out, deadline,
                lambda w, length: bm25(idf, w, length, avgfl, B, K1) * boost,
                partial(subsearcher.doc_field_length, fieldname=fieldname, default=1),
            )  # fmt: skip
        return True

    def _length_bytes(self, subsearcher, fieldname):
        """The field-length byte of every document of a segment (Whoosh's lengths column), or None."""
        reader = subsearcher.reader()
        key = (id(reader), fieldname)
        found = self._lengths.get(key)
        if found is None:
            found = reader_length_bytes(reader, fieldname)
            if found is None:  # no lengths, or another kind of reader: the generic walk
                return None
            self._lengths[key] = found
        return found

    def _leaf(self, q, deadline):
        leaves = self._leaves
        with self._lock:
            found = leaves.get(q)
            if found is not None:
                leaves.move_to_end(q)
                return found
        out: dict[int, float] = {}
        if type(q) is wq.Term:
            if self._term_walk(q, out, deadline):
                return self._keep(q, out)
            out.clear()
        searcher = self.searcher
        context = searcher.context()
        n = 0
        for subsearcher, offset in searcher.leaf_searchers():
            if deadline is not None and deadline.expired():
                raise TimeLimit()  # a fuzzy term's or a phrase's matcher costs before its first posting
            m = q.matcher(subsearcher, context)
            if type(q) is wq.Term and self._term_blocks(m, subsearcher, q.fieldname, offset, out, deadline):
                continue
            is_active, next_, id_, score = m.is_active, m.next, m.id, m.score
            while is_active():
                out[id_() + offset] = score()
                next_()
                n += 1
                if deadline is not None and not n & 4095 and deadline.expired():
                    raise TimeLimit()
        return self._keep(q, out)

    def _keep(self, q, out):
        leaves = self._leaves
        with self._lock:
            if q not in leaves:
                leaves[q] = out
                self._size += len(out)
            while self._size > self.max_entries and len(leaves) > 1:
                _, dropped = leaves.popitem(last=False)
                self._size -= len(dropped)
        return out


def _walk_blocks(leaf, skip, lengths, offset: int, out: dict, deadline, score_of, length_of) -> None:
    """Write into out the score of each posting of a term matcher's blocks (documents in skip left out).

    A posting's score depends only on its weight and its document's field-length byte: each pair is scored once,
    by score_of(weight, length); a zero byte reads back as no length, and length_of(docnum) is asked instead.
    """
    memo: dict = {}
    count = len(lengths)
    for ids, weights, first, end in iter_blocks(leaf, weights=True):
        for j in range(first, end):
            d = ids[j]
            if d in skip:
                continue
            byte = lengths[d] if d < count else 0
            key = (weights[j], byte)
            score = memo.get(key)
            if score is None:
                score = score_of(weights[j], byte_to_length(byte) if byte else length_of(d))
                if byte:
                    memo[key] = score
            out[d + offset] = score
        if deadline is not None and deadline.expired():
            raise TimeLimit()


def _special_or(q) -> bool:
    # Scaled or min-match unions score differently from a plain sum: let Whoosh match them whole.
    return isinstance(q, wq.Or) and (bool(getattr(q, "scale", None)) or getattr(q, "minmatch", 0) > 0)


def _boosted(scores: dict[int, float], boost: float) -> dict[int, float]:
    if boost == 1.0:
        return scores
    return {d: s * boost for d, s in scores.items()}
