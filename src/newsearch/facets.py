"""Per-searcher facet data: which articles carry each tag, section, entity and day, as bitsets.

Reading it from the index means one postings list per tag, section and entity value (28,000 on the full
corpus, about 2 s): it is built once per index commit and saved beside the index (`facets-<TOC>.pickle` in the
generation directory, written atomically), so that the next reader of the same commit, in this process or
another one (the one-shot CLI), loads it in milliseconds. The file names the TOC generation and the segments
(with their deletions) it was built from: after a commit it no longer matches and is rebuilt; a damaged or
partial file is ignored and rebuilt.

Facet counts come from bitsets: `(matched & tag_bits).bit_count()` per tag, values tried in decreasing
document frequency and stopped once no further value can reach the top (broad queries), or a walk over the
matched articles' values (narrow queries).
"""

from __future__ import annotations

import bisect
import heapq
import os
import pickle
import threading
from array import array
from collections import Counter, OrderedDict
from datetime import date
from functools import cached_property
from itertools import accumulate, chain, repeat
from pathlib import Path

from .clusters import CLUSTERS_FILE, load_clusters
from .dates import bucket_label, ordinal_to_date
from .docsets import DocSet, bits_of
from .parse import tag_key
from .schema import ARTICLE, ENTITY_FIELDS, INDEX_VERSION
from .sections import section_label
from .tuning import DEFAULT_TUNING, Tuning
from .whoosh_compat import iter_blocks, segment_terms

MAX_ORDINAL = 3_652_059  # date(9999, 12, 31); a missing value reads as the column maximum
CACHE_FORMAT = 3  # 2: section labels in French (sections.py); 3: tag and section keys blind to plurals
CACHE_PREFIX = "facets-"
CACHE_SUFFIX = ".pickle"
# Facets either walk the matched articles' values (about 2 per article and field), or AND each value's bitset
# with the matched set, values by decreasing frequency until none can reach the top. Bitsets are built on
# first use and kept per searcher: the cheaper way is chosen from these costs (microseconds, measured on the
# full corpus), so that a one-shot query walks and a server, once its frequent bitsets exist, ANDs them.
WALK_US_PER_DOC = 0.55


def and_us(n: int) -> float:
    """Microseconds to AND and popcount two bitsets of n documents (1.6 on the full corpus, 12 at 10x)."""
    return 0.5 + n / 30_000


def build_us(n: int) -> float:
    """Microseconds to build one value's bitset (about 40 on the full corpus, 190 at 10x)."""
    return 20 + n / 2_000


# Later queries of the same searcher reuse a built bitset: from its second query on, a searcher counts the
# building at 1/8 (the first query, all a one-shot CLI run makes, counts it whole).
REUSE = 8


def _leaves(reader) -> list:
    """Return (segment reader, docnum offset) for each segment of reader."""
    leaves = reader.leaf_readers() if hasattr(reader, "leaf_readers") else [(reader, 0)]
    # An index with no segment yet (every file given was skipped) reads as one segment-less empty reader.
    return [(sub, offset) for sub, offset in leaves if sub.segment() is not None]


def _segments_key(reader) -> tuple:
    return tuple(
        (sub.segment().segment_id(), sub.doc_count_all(), sub.doc_count_all() - sub.doc_count())
        for sub, _ in _leaves(reader)
    )


def _segment_postings(sub, field_name: str):
    """Yield (value bytes, docnums) of every value of a field in one segment, deleted documents included (the
    caller keeps live articles only), or return None when the segment is not Whoosh 3's.

    reader.postings() looks each value up in the terms hash and wraps a matcher around it: 28,000 values
    took ~1 s. Here the terms are read in order with their term infos; postings of one document are inlined
    in the term info, longer ones are read block by block.
    """
    found = segment_terms(sub, field_name)
    if found is None:
        return None
    codec, postfile, items = found
    fmt = sub.schema[field_name].format

    def values():
        for (fname, raw), info in items:
            if fname != field_name:
                break
            if info.is_inlined():
                ids = list(info.inlined_postings()[0])
            else:
                m = codec.postings_reader(postfile, info, fmt, term=(fname, raw))
                ids = []
                for block, _, first, end in iter_blocks(m):
                    ids.extend(block[first:end])
            yield raw, ids

    return values()


# A segment's postings never change (deletions are applied through the set of live articles): they are kept
# per process, so that after a commit only the segments it wrote are read (a server during a reindex).
_SEGMENTS: OrderedDict = OrderedDict()
_SEGMENTS_LOCK = threading.Lock()
SEGMENT_CACHE_ENTRIES = 512  # (segment, field) pairs


def _cached_segment_postings(sub, field_name: str, where: str | None):
    """Return [(value bytes, docnums array)] of a field in one segment, from the process cache when where (the
    generation directory) is given; None when the segment is not Whoosh 3's."""
    key = (where, sub.segment().segment_id(), field_name)
    if where is not None:
        with _SEGMENTS_LOCK:
            found = _SEGMENTS.get(key)
            if found is not None:
                _SEGMENTS.move_to_end(key)
                return found
    values = _segment_postings(sub, field_name)
    if values is None:
        return None
    found = [(raw, array("I", ids)) for raw, ids in values]
    if where is not None:
        with _SEGMENTS_LOCK:
            _SEGMENTS[key] = found
            while len(_SEGMENTS) > SEGMENT_CACHE_ENTRIES:
                _SEGMENTS.popitem(last=False)
    return found


def _column_values(reader, field_name: str, n: int) -> list:
    """Every document's value of a column, read in one pass (not one lookup per document)."""
    values = list(reader.column_reader(field_name))
    if len(values) != n:  # not expected; index each document as before
        column = reader.column_reader(field_name)
        values = [column[d] for d in range(n)]
    return values


def _clusters_stamp(gen_dir: Path | None) -> tuple:
    if gen_dir is None:
        return ()
    try:
        st = (Path(gen_dir) / CLUSTERS_FILE).stat()
    except OSError:
        return ()
    return (st.st_mtime_ns, st.st_size)


class ValueIndex:
    """The documents of each value of a keyword field, and the values of each document.

    Values are numbered by decreasing document frequency (ties alphabetical).
    """

    def __init__(self, names, post_offsets, post_docs, doc_offsets, doc_vals):
        self.names: list[str] = names
        self.post_offsets: array = post_offsets
        self.post_docs: array = post_docs
        self.doc_offsets: array = doc_offsets
        self.doc_vals: array = doc_vals
        self._bits: dict[int, int] = {}
        self._built = 0  # values 0.._built-1 have their bitset
        # How to count (tuning.Tuning's facet knobs), set by the FacetCache that holds this index.
        self.bitset_bytes = DEFAULT_TUNING.facet_bitset_bytes
        self.strategy = DEFAULT_TUNING.facet_strategy

    @classmethod
    def build(cls, docs_of: dict[str, list[int]], n: int) -> ValueIndex:
        names = sorted(docs_of, key=lambda name: (-len(docs_of[name]), name))
        post_offsets, post_docs, post_vals = array("I", [0]), array("I"), array("I")
        for i, name in enumerate(names):
            docs = docs_of[name]
            post_docs.extend(docs)
            post_vals.extend(repeat(i, len(docs)))
            post_offsets.append(len(post_docs))
        # The same postings grouped by document (a stable sort keeps each document's values in order), with
        # C-level calls only: a Python loop per posting took 1 s of the 10x build.
        by_doc = sorted(range(len(post_docs)), key=post_docs.__getitem__)
        doc_vals = array("I", map(post_vals.__getitem__, by_doc))
        per_doc = Counter(post_docs)
        doc_offsets = array("I", [0])
        doc_offsets.extend(accumulate(map(per_doc.get, range(n), repeat(0))))
        return cls(names, post_offsets, post_docs, doc_offsets, doc_vals)

    def state(self) -> tuple:
        return (
            self.names,
            self.post_offsets.tobytes(),
            self.post_docs.tobytes(),
            self.doc_offsets.tobytes(),
            self.doc_vals.tobytes(),
        )

    @classmethod
    def from_state(cls, state: tuple) -> ValueIndex:
        names, *raw = state
        arrays = []
        for chunk in raw:
            a = array("I")
            a.frombytes(chunk)
            arrays.append(a)
        return cls(names, *arrays)

    @cached_property
    def index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}

    def df(self, i: int) -> int:
        return self.post_offsets[i + 1] - self.post_offsets[i]

    def docs(self, i: int):
        return self.post_docs[self.post_offsets[i] : self.post_offsets[i + 1]]

    def bits_at(self, i: int, n: int) -> int:
        bits = self._bits.get(i)
        if bits is None:
            bits = bits_of(self.docs(i), n)
            if (len(self._bits) + 1) * (n // 8 + 32) <= self.bitset_bytes:
                self._bits[i] = bits
        return bits

    def bits(self, name: str, n: int) -> int:
        i = self.index.get(name)
        return 0 if i is None else self.bits_at(i, n)

    def _prefer_walk(self, matched: int, n: int, size: int | None, reuse: int) -> bool:
        if self.strategy is not None or size is None or not self.names:
            return self.strategy != "bits" or size is None
        # Values a bitset scan would try if values were spread evenly: those whose frequency, scaled to the
        # matched share, reaches that of the size-th value.
        bound = self.df(min(size, len(self.names)) - 1) * matched / max(1, n)
        end = bisect.bisect_right(self._neg_df, -bound)
        while self._built < len(self.names) and self._built in self._bits:
            self._built += 1
        if max(end, len(self._bits)) * (n // 8 + 32) > self.bitset_bytes:
            return True  # the bitsets would not all be kept
        cost = end * and_us(n) + max(0, end - self._built) * build_us(n) / reuse
        return matched * WALK_US_PER_DOC <= cost

    @cached_property
    def _neg_df(self) -> list[int]:
        return [-self.df(i) for i in range(len(self.names))]

    def counts(self, matched: DocSet, n: int, size: int | None, reuse: int = REUSE) -> Counter:
        """Return {value: count} over the matched documents: at least the `size` most frequent (all if None)."""
        if self._prefer_walk(len(matched), n, size, reuse):
            offsets, vals = self.doc_offsets, self.doc_vals
            docs = matched.docs
            slices = map(slice, map(offsets.__getitem__, docs), map(offsets.__getitem__, (d + 1 for d in docs)))
            by_index = Counter(chain.from_iterable(map(vals.__getitem__, slices)))
            return Counter({self.names[i]: c for i, c in by_index.items()})
        # Values by decreasing frequency: stop once a value's documents cannot beat the size-th count.
        top: list[int] = []  # min-heap of the best `size` counts
        found = Counter()
        bits = matched.bits
        for i in range(len(self.names)):
            if len(top) >= size and self.df(i) < top[0]:
                break
            c = (self.bits_at(i, n) & bits).bit_count()
            if not c:
                continue
            found[self.names[i]] = c
            if len(top) < size:
                heapq.heappush(top, c)
            elif c > top[0]:
                heapq.heapreplace(top, c)
        return found


class FacetCache:
    """What filters and facets need per searcher: articles, tags, sections, entities, days, wire copies."""

    def __init__(self, searcher, gen_dir: Path | None = None, tuning: Tuning = DEFAULT_TUNING):
        self.tuning = tuning
        reader = searcher.reader()
        self.n = reader.doc_count_all()
        self.path = None
        key = (CACHE_FORMAT, INDEX_VERSION, reader.generation(), _segments_key(reader))
        stamp = _clusters_stamp(gen_dir)
        state = None
        if gen_dir is not None:
            self.path = Path(gen_dir) / f"{CACHE_PREFIX}{reader.generation()}{CACHE_SUFFIX}"
            state = self._load(self.path, key)
        dirty = state is None
        if state is None:
            state = self._build(searcher)
        if state.get("clusters_stamp") != stamp or "clusters" not in state:
            clusters = load_clusters(gen_dir) if gen_dir is not None else {}
            state["clusters"] = self._cluster_maps(searcher, clusters, state["articles"])
            state["clusters_stamp"] = stamp
            dirty = True
        self._set(state)
        if dirty and self.path is not None:
            self._save(self.path, key, state)

    # -- persistence ------------------------------------------------------------------------------

    @staticmethod
    def _load(path: Path, key) -> dict | None:
        try:
            with open(path, "rb") as fh:
                saved = pickle.load(fh)
        except FileNotFoundError:
            return None
        except Exception:  # a damaged or partial file is only a cache: build it again
            return None
        if not isinstance(saved, dict) or saved.get("key") != key:
            return None
        return saved.get("state")

    @staticmethod
    def _save(path: Path, key, state: dict) -> None:
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                pickle.dump({"key": key, "state": state}, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError:  # a read-only index directory: keep it in memory only
            try:
                tmp.unlink()
            except OSError:
                pass
            return
        for old in path.parent.glob(f"{CACHE_PREFIX}*{CACHE_SUFFIX}"):
            if old.name != path.name:
                try:
                    old.unlink()
                except OSError:
                    pass

    # -- building from the index ---------------------------------------------------------------------

    @staticmethod
    def _postings(reader, field_name: str, articles: set[int], where: str | None = None) -> dict[str, list[int]]:
        """Return {value: ascending article docnums} of a keyword field, read segment by segment."""
        out: dict[str, list[int]] = {}
        if field_name not in reader.schema:
            return out
        for sub, offset in _leaves(reader):
            values = _cached_segment_postings(sub, field_name, where)
            if values is None:  # not a Whoosh 3 segment: the public API, one lookup per value
                values = ((raw, list(sub.postings(field_name, raw).all_ids())) for raw in sub.lexicon(field_name))
            for raw, local in values:
                docs = [d + offset for d in local]
                docs = [d for d in docs if d in articles]
                if docs:
                    out.setdefault(raw.decode("utf-8"), []).extend(docs)
        return out

    def _build(self, searcher) -> dict:
        reader = searcher.reader()
        n = self.n
        article_list = sorted(searcher.document_numbers(kind=ARTICLE))
        articles = set(article_list)
        state: dict = {"articles": bits_of(article_list, n)}
        where = str(self.path.parent) if self.path is not None else None
        state["tags"] = ValueIndex.build(self._postings(reader, "tag", articles, where), n).state()
        state["entities"] = {
            f: ValueIndex.build(self._postings(reader, f, articles, where), n).state() for f in ENTITY_FIELDS
        }
        # Sections are keyed like tags ("Santé" and "sante" are one), labelled by their most frequent spelling.
        sections: dict[str, set[int]] = {}
        spellings: dict[str, tuple[tuple[int, int], str]] = {}
        for name, docs in self._postings(reader, "section", articles, where).items():
            key = tag_key(name)
            if not key:
                continue
            sections.setdefault(key, set()).update(docs)
            rank = (len(docs), sum(1 for ch in name if ord(ch) > 127 or ch.isupper()))
            if key not in spellings or rank > spellings[key][0]:
                spellings[key] = (rank, name)
        state["sections"] = {key: sorted(docs) for key, docs in sections.items()}
        state["section_labels"] = {key: section_label(name) for key, (_, name) in spellings.items()}
        state["labels"] = self._labels(reader)
        doc_day = array("i", bytes(4 * n))
        doc_month = array("i", bytes(4 * n))
        if reader.has_column("day"):
            days = _column_values(reader, "day", n)
            month_of: dict[int, int] = {}
            for d in article_list:
                day = days[d]
                if 0 < day <= MAX_ORDINAL:
                    doc_day[d] = day
                    month = month_of.get(day)
                    if month is None:
                        moment = ordinal_to_date(day)
                        month = month_of[day] = moment.year * 12 + moment.month - 1
                    doc_month[d] = month
        doc_ts = array("q", bytes(8 * n))
        if reader.has_column("ts"):
            stamps = _column_values(reader, "ts", n)
            for d in article_list:
                try:
                    doc_ts[d] = stamps[d]
                except OverflowError:
                    doc_ts[d] = 2**63 - 1
        by_day = sorted((doc_day[d], d) for d in article_list if doc_day[d])
        state["doc_day"] = doc_day.tobytes()
        state["doc_month"] = doc_month.tobytes()
        state["doc_ts"] = doc_ts.tobytes()
        state["by_day"] = array("I", [d for _, d in by_day]).tobytes()
        state["day_keys"] = array("i", [day for day, _ in by_day]).tobytes()
        # Browsing: newest first; articles without a day last; ties by docnum.
        browse = sorted(article_list, key=lambda d: (-(doc_ts[d] if doc_day[d] else 0), d))
        state["browse"] = array("I", browse).tobytes()
        return state

    @staticmethod
    def _labels(reader) -> dict[str, str]:
        best: dict[str, tuple[tuple[int, int], str]] = {}
        for raw in reader.lexicon("tagform"):
            form = raw.decode("utf-8")
            freq = reader.doc_frequency("tagform", raw)
            key = tag_key(form)
            # The most frequent spelling wins; ties go to the one with accents and capitals.
            rank = (freq, sum(1 for ch in form if ord(ch) > 127 or ch.isupper()))
            if key not in best or rank > best[key][0]:
                best[key] = (rank, form)
        return {key: form for key, (_, form) in best.items()}

    @staticmethod
    def _cluster_maps(searcher, clusters: dict[str, list[str]], articles_bits: int) -> dict:
        """Wire copies: docnum → its cluster's representative docnum, and the members of each cluster."""
        articles = DocSet(articles_bits)
        members_of: dict[int, list[int]] = {}
        if clusters:
            reader = searcher.reader()
            ids = _column_values(reader, "id", reader.doc_count_all()) if reader.has_column("id") else None
            if ids is not None:
                docnum_of = {}
                for d in articles:
                    docnum_of[ids[d]] = d
                lookup = docnum_of.get
            else:

                def lookup(article_id):
                    return searcher.document_number(id=article_id)

            for members in clusters.values():
                docnums = [lookup(m) for m in members]
                docnums = [d for d in docnums if d is not None and d in articles]
                if len(docnums) > 1:
                    members_of[docnums[0]] = docnums
        return members_of

    # -- in memory --------------------------------------------------------------------------------

    def _set(self, state: dict) -> None:
        n = self.n
        self.articles_bits: int = state["articles"]
        self.tags = ValueIndex.from_state(state["tags"])
        self.entities = {f: ValueIndex.from_state(s) for f, s in state["entities"].items()}
        for values in (self.tags, *self.entities.values()):
            values.bitset_bytes, values.strategy = self.tuning.facet_bitset_bytes, self.tuning.facet_strategy
        self._sections = state["sections"]
        self.section_labels: dict[str, str] = state["section_labels"]
        self.labels: dict[str, str] = state["labels"]
        self._section_bits: dict[str, int] = {}
        self.doc_day_array = _array("i", state["doc_day"])
        self.doc_month = _array("i", state["doc_month"])
        self.doc_ts_array = _array("q", state["doc_ts"])
        self.by_day_docs = _array("I", state["by_day"])
        self.day_keys = _array("i", state["day_keys"])
        self.browse_order = _array("I", state["browse"])
        self.cluster_members: dict[int, list[int]] = state["clusters"]
        self.cluster_of: dict[int, int] = {d: rep for rep, ds in self.cluster_members.items() for d in ds}
        self._month_bits: dict[int, int] = {}
        self._reuse = 1  # see REUSE
        assert len(self.doc_day_array) == n

    # -- filters ------------------------------------------------------------------------------------

    @cached_property
    def articles(self) -> frozenset[int]:
        """The article docnums (not source records, not deleted)."""
        return frozenset(DocSet(self.articles_bits).docs)

    def tag_bits(self, key: str) -> int:
        return self.tags.bits(key, self.n)

    def entity_bits(self, field_name: str, name: str) -> int:
        values = self.entities.get(field_name)
        return values.bits(name, self.n) if values is not None else 0

    def section_bits(self, key: str) -> int:
        bits = self._section_bits.get(key)
        if bits is None:
            bits = self._section_bits[key] = bits_of(self._sections.get(key, ()), self.n)
        return bits

    def value_bits(self, field_name: str, value: str) -> int:
        """Return the bitset of the articles with this value of a facet's field (a tag key, a section key, a name)."""
        if field_name == "tag":
            return self.tag_bits(value)
        if field_name == "section":
            return self.section_bits(value)
        return self.entity_bits(field_name, value)

    def in_days(self, first: int | None, last: int | None) -> int:
        """Return the bitset of the articles whose day lies in [first, last]."""
        lo = 0 if first is None else bisect.bisect_left(self.day_keys, first)
        hi = len(self.day_keys) if last is None else bisect.bisect_right(self.day_keys, last)
        return bits_of(self.by_day_docs[lo:hi], self.n)

    def bits_of(self, docs) -> int:
        return bits_of(docs, self.n)

    # -- per-document values ------------------------------------------------------------------------

    @cached_property
    def doc_day(self) -> dict[int, int]:
        """docnum → day ordinal, for the dated articles."""
        return {d: day for d, day in zip(self.by_day_docs, self.day_keys, strict=True)}

    def tag_counts(self) -> dict[str, int]:
        """Articles per tag key."""
        return {name: self.tags.df(i) for i, name in enumerate(self.tags.names)}

    # -- counting ---------------------------------------------------------------------------------

    def counted(self) -> None:
        """Note that a search's facets were counted (bitsets built from now on serve later searches)."""
        self._reuse = REUSE

    def count_values(self, field_name: str, matched: DocSet, size: int | None) -> Counter:
        """Return {value: matched articles} for a facet's field, the size most frequent at least."""
        if field_name == "tag":
            return self.count_tags(matched, size)
        if field_name == "section":
            return self.count_sections(matched)
        return self.count_entities(field_name, matched, size)

    def value_labels(self, field_name: str) -> dict[str, str]:
        """Return how each value of a facet's field is shown, where it differs from the value (keys → forms)."""
        return {"tag": self.labels, "section": self.section_labels}.get(field_name, {})

    def count_tags(self, matched: DocSet, size: int | None) -> Counter:
        return self.tags.counts(matched, self.n, size, self._reuse)

    def count_entities(self, field_name: str, matched: DocSet, size: int | None) -> Counter:
        values = self.entities.get(field_name)
        return values.counts(matched, self.n, size, self._reuse) if values is not None else Counter()

    def count_sections(self, matched: DocSet) -> Counter:
        return _count_bits(self._sections, self.section_bits, matched.bits)

    def count_months(self, matched: DocSet) -> Counter:
        """Return {year * 12 + month - 1: matched articles of that month}."""
        if self.tuning.facet_strategy is None:
            unbuilt = len(self._months) - len(self._month_bits)
            cost = len(self._months) * and_us(self.n) + unbuilt * build_us(self.n) / self._reuse
            walk = len(matched) * WALK_US_PER_DOC / 4 <= cost  # one value per article, not four fields of them
        else:
            walk = self.tuning.facet_strategy == "walk"
        if walk:
            counts = Counter(map(self.doc_month.__getitem__, matched.docs))
            counts.pop(0, None)
            return counts
        return _count_bits(self._months, self._bits_of_month, matched.bits)

    @cached_property
    def _months(self) -> list[int]:
        return sorted(set(self.doc_month) - {0})

    def _bits_of_month(self, month: int) -> int:
        bits = self._month_bits.get(month)
        if bits is None:
            year, m = divmod(month, 12)
            first = date(year, m + 1, 1).toordinal()
            last = (date(year + 1, 1, 1) if m == 11 else date(year, m + 2, 1)).toordinal() - 1
            bits = self._month_bits[month] = self.in_days(first, last)
        return bits


def month_histogram(months: Counter) -> list[dict]:
    """Count articles by month, or by year when the months span three years or more ."""
    if not months:
        return []
    first, last = min(months), max(months)
    by_year = last - first >= 36
    counts: Counter = Counter()
    for month, n in months.items():
        year, m = divmod(month, 12)
        counts[f"{year:04d}" if by_year else f"{year:04d}-{m + 1:02d}"] += n
    return [{"value": key, "label": bucket_label(key), "count": counts[key]} for key in sorted(counts)]


def _array(typecode: str, raw: bytes) -> array:
    a = array(typecode)
    a.frombytes(raw)
    return a


def _count_bits(keys, bits_of, matched_bits: int) -> Counter:
    """Return {key: matched articles holding it} for the keys whose bitset (bits_of(key)) meets the matched ones."""
    counts = Counter()
    for key in keys:
        c = (bits_of(key) & matched_bits).bit_count()
        if c:
            counts[key] = c
    return counts
