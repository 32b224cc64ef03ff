"""Every touch of Whoosh-Reloaded 2.7.5's internals, in one place, each with why (tests/test_whoosh_compat.py pins them).

newsearch reads and writes Whoosh indexes through private attributes where the public API is too slow or
wrong: reading compound segments in place, refreshing readers, writing segments that another writer commits,
field lengths, postings blocks and BM25F scoring. An upgrade of Whoosh should break this file, loudly, and
no other.
"""

from __future__ import annotations

import io
import pickle
import time
import zlib
from array import array
from bisect import bisect_right

from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, W3LeafMatcher, W3TermInfo, _lenfield
from whoosh.filedb import compound as _compound
from whoosh.filedb.filetables import _lengths as _HASH_LENGTHS
from whoosh.filedb.structfile import BufferFile
from whoosh.index import FileIndex
from whoosh.matching.wrappers import FilterMatcher, WrappingMatcher
from whoosh.scoring import BM25FScorer
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

# The distribution these touches were written against and are tested with.
WHOOSH_DISTRIBUTION = ("Whoosh-Reloaded", "2.7.5")


# --- the index and its table of contents -------------------------------------------------------------


class FixedFileIndex(FileIndex):
    """A Whoosh FileIndex whose refreshed readers are right, and which rereads a TOC that a commit just replaced."""

    def __init__(self, storage, schema=None, indexname="MAIN"):
        patch_compound_files()  # before any reader of this index opens a segment
        super().__init__(storage, schema, indexname)

    @classmethod
    def _reader(cls, storage, schema, segments, generation, reuse=None):
        # Touch: FileIndex._reader, the private classmethod behind reader() and refresh().
        # Whoosh-Reloaded 2.7.5 "reuses" the old reader on refresh by adding back every old segment missing from
        # the new TOC (merged-away segments: their documents show twice) and by keeping readers whose deletions
        # are stale (deleted and replaced documents still show). Whoosh 2.7.4 never actually reused a reader;
        # neither do we. The old reader is left open, for a request that may still be using it.
        return FileIndex._reader.__func__(cls, storage, schema, segments, generation, reuse=None)

    def _read_toc(self):
        # Touch: FileIndex._read_toc, which ix.schema, ix.reader() and read_toc() go through.
        # Whoosh retries reader() but not the TOC read behind ix.schema and friends: a commit between listing
        # the directory and opening _MAIN_N.toc raises FileNotFoundError (measured: ~1 open in 500).
        for attempt in range(20):
            try:
                return super()._read_toc()
            except FileNotFoundError:
                if attempt == 19:
                    raise
                time.sleep(0.02)


class _ViewFile:
    """A read-only file over a memoryview, without copying it (io.BytesIO(view) copies the whole view)."""

    __slots__ = ("_buf", "_pos")

    def __init__(self, buf):
        self._buf = buf
        self._pos = 0

    def read(self, n=-1):
        start, size = self._pos, len(self._buf)
        end = size if n is None or n < 0 else min(start + n, size)
        self._pos = end
        return bytes(self._buf[start:end])

    def readline(self, limit=-1):
        start, size = self._pos, len(self._buf)
        end = size if limit is None or limit < 0 else min(start + limit, size)
        chunk = self._buf[start:end]
        nl = bytes(chunk).find(b"\n") if end - start < 4096 else -1
        if nl < 0:
            i = start
            while i < end and self._buf[i] != 10:
                i += 1
            end = min(i + 1, end)
        else:
            end = start + nl + 1
        self._pos = end
        return bytes(self._buf[start:end])

    def seek(self, pos, whence=0):
        if whence == 1:
            pos += self._pos
        elif whence == 2:
            pos += len(self._buf)
        self._pos = max(0, pos)
        return self._pos

    def tell(self):
        return self._pos

    def close(self):
        pass

    def flush(self):
        pass


class _MappedSubFile(BufferFile):
    """Whoosh's BufferFile for a sub-file of a memory-mapped compound segment, reading the map in place.

    Whoosh wraps each sub-file in io.BytesIO, which copies it: every searcher open copied every segment's
    postings and terms into memory (77 ms and 400 MB on the full corpus, and again after each commit).
    """

    def __init__(self, buf, name=None, onclose=None):
        super().__init__(b"", name=name, onclose=onclose)
        self._buf = buf
        self.file = _ViewFile(buf)

    def read_pickle(self):
        # Touch: StructFile.read_pickle and the position of the file it wraps (self.file).
        # pickle.load on a Python file object reads opcode by opcode (~20 calls per postings block header):
        # unpickle from a small copied window instead, widened when the pickle runs past it.
        view, pos = self._buf, self.file._pos
        window = 4096
        while True:
            end = min(pos + window, len(view))
            chunk = io.BytesIO(view[pos:end])
            try:
                obj = pickle.load(chunk)
            except Exception:
                if end >= len(view):
                    raise
                window *= 16
                continue
            self.file._pos = pos + chunk.tell()
            return obj


def patch_compound_files() -> None:
    """Make Whoosh read compound segments' sub-files in place (the one monkeypatch; idempotent)."""
    # Touch: whoosh.filedb.compound looks BufferFile up as a module global each time it opens a sub-file.
    _compound.BufferFile = _MappedSubFile


# What Whoosh's per-document reader answers for each length byte (0: no length, read as None).
_LENGTHS = [None] + [byte_to_length(b) for b in range(1, 256)]
# Touch: W3TermInfo's private struct (flags, weight, doc frequency, length bytes, max weight, first and last id).
_TERMINFO = W3TermInfo._struct


class SegmentLengths:
    """Field lengths of the segment being written, each length column read once instead of once per posting.

    Whoosh looks up the field length of every posting it writes with a seek and a read on the column file
    (and a stat() for fields without lengths): 15 % of an indexing job's main process.
    """

    def __init__(self, reader):
        self._reader = reader
        self._columns: dict[str, bytes | None] = {}

    def doc_field_length(self, docnum, fieldname, default=0):
        """Return the length of a field in a document, as Whoosh's W3PerDocReader does."""
        try:
            column = self._columns[fieldname]
        except KeyError:
            column = self._columns[fieldname] = self._load(fieldname)
        if column is None:
            return default
        return _LENGTHS[column[docnum]] if docnum < len(column) else None

    def _load(self, fieldname):
        return length_bytes(self._reader, fieldname)


class IndexWriter(SegmentWriter):
    """Whoosh's segment writer, with field lengths read once per segment, which can also commit others' segments."""

    def finish_segment(self):
        """Write out the documents added and return their segment, for another writer to commit."""
        # Touch: SegmentWriter._finalize_segment and _finish, the two halves of commit() before the TOC.
        segment = self._finalize_segment()
        self._finish()
        return segment

    def add_segments(self, segments) -> None:
        """Make segments that other writers of this index finished part of it, from this writer's commit on."""
        # Touch: the writer's cached searcher (_searcher, closed by _orig_close) and _setup_doc_offsets.
        if self._searcher is not None:  # cached over the old segment list
            self._searcher._orig_close()
            self._searcher = None
        self.segments = self.segments + list(segments)
        self._setup_doc_offsets()

    def _flush_segment(self):
        # Touch: SegmentWriter._flush_segment, rewritten to hand add_postings a SegmentLengths instead of a
        # per-document reader (perdocwriter, fieldwriter, pool are the writer's own attributes).
        self.perdocwriter.close()
        reader = self.per_document_reader() if self.codec.length_stats else None
        lengths = SegmentLengths(reader) if reader is not None else None
        self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()
        if reader is not None:
            reader.close()


def read_toc(ix):
    """Return the live table of contents (generation, segments) of a Whoosh FileIndex."""
    # Touch: FileIndex._read_toc is private; the public API only opens readers over it.
    return ix._read_toc()


# --- field lengths -------------------------------------------------------------------------------------


def length_bytes(perdoc, fieldname: str) -> bytes | None:
    """Return the field-length byte of each document of a segment, from its per-document reader, or None."""
    # Touch: W3PerDocReader._cached_reader and the lengths column's private layout (one byte a document, in
    # one run of the file): read whole, instead of one seek and read per document.
    column = perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
    if column is None:
        return None
    if column._fixedlen == 1:
        return bytes(column._dbfile.get(column._basepos, column._count))
    return bytes(column[i] for i in range(perdoc.doc_count_all()))


def reader_length_bytes(reader, fieldname: str) -> bytes | None:
    """length_bytes of a SegmentReader, or None for a reader of another kind."""
    # Touch: SegmentReader._perdoc, its per-document reader.
    perdoc = getattr(reader, "_perdoc", None)
    return None if perdoc is None else length_bytes(perdoc, fieldname)


# --- postings ------------------------------------------------------------------------------------------


def iter_blocks(m, weights: bool = False):
    """Yield (ids, weights or None, first index) for each remaining block of a W3 leaf matcher, leaving it done."""
    # Touch: W3LeafMatcher's block arrays (_ids, _weights, read lazily), its cursor _i and _blocklength; the
    # per-posting methods cost ~1 µs each, which facets and scores over every match cannot afford.
    while m.is_active():
        if m._ids is None:
            m._read_ids()
        if weights and m._weights is None:
            m._read_weights()
        yield m._ids, (m._weights if weights else None), m._i, m._blocklength
        m._i = m._blocklength - 1
        m.next()


def segment_terms(sub, field_name: str):
    """Return (codec, postings file, ((field, term bytes), term info) in term order from field_name on), or None."""
    # Touch: SegmentReader._terms (the W3 terms reader), its _postfile, and SegmentReader._codec; None for
    # a reader of another kind.
    try:
        terms, codec = sub._terms, sub._codec
        return codec, terms._postfile, terms.items_from(field_name, b"")
    except AttributeError:
        return None


def unwrap_term_matcher(m):
    """Return (W3 leaf matcher, docnums to skip, boost) of the matcher Whoosh builds for a Term, or None."""
    # Touch: the wrappers Whoosh puts around a Term's matcher (a boost, a filter of deleted or excluded
    # documents: FilterMatcher._exclude and _ids), down to the codec's own leaf matcher and its BM25F scorer.
    boost, skip = 1.0, ()
    if type(m) is WrappingMatcher:
        boost, m = m.boost, m.child
    if type(m) is FilterMatcher:
        if not m._exclude or m.boost != 1.0:
            return None
        skip, m = m._ids, m.child
    if type(m) is not W3LeafMatcher or type(m.scorer) is not BM25FScorer:
        return None
    return m, skip, boost


def unwrap_postings(m):
    """Return (W3 leaf matcher, docnums to skip) of a segment reader's postings(field, text), or None."""
    # Touch: the FilterMatcher SegmentReader.postings puts around the codec's leaf matcher when the segment has
    # deleted documents (FilterMatcher._exclude and _ids).
    skip = ()
    if type(m) is FilterMatcher:
        if not m._exclude or m.boost != 1.0:
            return None
        skip, m = m._ids, m.child
    if type(m) is not W3LeafMatcher:
        return None
    return m, skip


def bm25_score_function(scorer):
    """Return (score(weight, field length), field length of a document) of a BM25F term scorer."""
    # Touch: BM25FScorer._score, the formula behind score() without the matcher it asks for weight and length.
    return scorer._score, scorer.dfl


def bm25f_parameters(weighting, fieldname: str) -> tuple[float, float]:
    """Return the (B, K1) a BM25F weighting scores a field with (B may be set per field)."""
    # Touch: BM25F._field_B, the per-field B its constructor stores (`title_B=…`), which has no public reader.
    return weighting._field_B.get(fieldname, weighting.B), weighting.K1


# --- a segment writer for the indexing workers ---------------------------------------------------------


class _FieldPostings:
    """One field's postings in the segment being built, in the order added: four flat lists, no tuple a posting."""

    __slots__ = ("terms", "docnums", "weights", "values")

    def __init__(self):
        self.terms: list[bytes] = []
        self.docnums: list[int] = []
        self.weights: list = []
        self.values: list[bytes] = []


class SegmentBuilderWriter(IndexWriter):
    """IndexWriter for the indexing workers: same segment files, byte for byte, at about half the cost.

    Whoosh turns each posting into a tuple in a sorting pool (a method call and a size estimate each), sorts the
    tuples, then feeds them one by one through three writer methods (start_term/add/finish_term) that check types
    and keep block statistics posting by posting: 37 % of a worker's time, most of it per posting. Here a
    document's postings are appended to per-field lists in a few C calls, each field is sorted once by term (a
    stable sort keeps the document order within a term), and each term's blocks are encoded in one go: the
    same pickles, zlib calls, block headers, term infos and terms table as W3FieldWriter and W3PostingsWriter
    (tests/test_whoosh_compat.py compares the files). Only add_document, finish_segment and cancel are used
    (no add_reader, no deletions before finishing); memory is bounded by the segment, whose size the job
    bounds (one batch per commit), so the pool never spills to disk.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._postings: dict[str, _FieldPostings] = {}

    def add_document(self, **fields):
        # Touch: SegmentWriter.add_document, rewritten around the pool (perdocwriter, docnum, _added, the boost and
        # field checks are the writer's own); no field of the schema has spelling or vectors (refused below).
        self._check_state()
        perdocwriter = self.perdocwriter
        schema = self.schema
        docnum = self.docnum
        docboost = self._doc_boost(fields)
        fieldnames = sorted([name for name in fields.keys() if not name.startswith("_")])
        self._check_fields(schema, fieldnames)
        perdocwriter.start_doc(docnum)
        try:
            for fieldname in fieldnames:
                value = fields.get(fieldname)
                if value is None:
                    continue
                field = schema[fieldname]
                if field.separate_spelling() or field.vector:
                    raise NotImplementedError(f"field {fieldname}: spelling and vectors are not written here")
                length = 0
                if field.indexed:
                    fieldboost = self._field_boost(fields, fieldname, docboost)
                    items = list(field.index(value))
                    if items:
                        terms, freqs, weights, values = zip(*items, strict=True)
                        if fieldboost != 1.0 or not all(type(w) is float for w in weights):
                            weights = [w * fieldboost for w in weights]  # what Whoosh's `weight *= fieldboost` gives
                        if field.scorable:
                            length = sum(freqs)
                        pool = self._postings.get(fieldname)
                        if pool is None:
                            pool = self._postings[fieldname] = _FieldPostings()
                        pool.terms.extend(terms)
                        pool.docnums.extend([docnum] * len(terms))
                        pool.weights.extend(weights)
                        pool.values.extend(values)
                customval = fields.get(f"_stored_{fieldname}", value)
                sv = customval if field.stored else None
                perdocwriter.add_field(fieldname, field, sv, length)
                column = field.column_type
                if column and customval is not None:
                    cv = field.to_column_value(customval)
                    perdocwriter.add_column_value(fieldname, column, cv)
        except Exception:
            perdocwriter.cancel_doc()
            raise
        perdocwriter.finish_doc()
        self._added = True
        self.docnum += 1

    def _flush_segment(self):
        # Touch: SegmentWriter._flush_segment, and W3FieldWriter's internals (start_field, _fieldid, _postfile,
        # _tindex: the terms table, an OrderedHashWriter whose index, buckets, hashfn and lastkey are set here as
        # its add() would) and the W3 codec's block size and compression.
        self.perdocwriter.close()
        reader = self.per_document_reader() if self.codec.length_stats else None
        fieldwriter = self.fieldwriter
        for fieldname in sorted(self._postings):
            pool = self._postings[fieldname]
            fieldobj = self.schema[fieldname]
            lengths = None
            if reader is not None:
                column = length_bytes(reader, fieldname)
                if column is not None:
                    lengths = [_LENGTHS[b] for b in column]
            fieldwriter.start_field(fieldname, fieldobj)
            _write_field(fieldwriter, fieldobj.format, pool, lengths, self.codec._blocklimit, self.codec._compression)
            fieldwriter.finish_field()
        self._postings = {}
        fieldwriter.close()
        if reader is not None:
            reader.close()


# zlib.compress sets up deflate with its default memory level (8): 256 KB of tables to allocate and clear for
# every block, most of them a few dozen bytes (one posting). Below _SMALL_BLOCK bytes the smallest memory level
# gives the same bytes (same header; fewer symbols than its 127-symbol buffer, so the same single block and the
# same matches) in a third of the time; the test compares every block of a segment both ways.
_SMALL_BLOCK = 120


def _compress(data: bytes, level: int) -> bytes:
    if len(data) > _SMALL_BLOCK:
        return zlib.compress(data, level)
    c = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS, 1)
    return c.compress(data) + c.flush()


def _write_field(fieldwriter, fmt, pool: _FieldPostings, lengths, blocklimit: int, compression: int) -> None:
    """Write one field's postings and terms as W3FieldWriter.add_postings would, term by term."""
    order = sorted(range(len(pool.terms)), key=pool.terms.__getitem__)  # stable: documents stay in order
    terms = list(map(pool.terms.__getitem__, order))
    docnums = list(map(pool.docnums.__getitem__, order))
    weights = list(map(pool.weights.__getitem__, order))
    values = list(map(pool.values.__getitem__, order))
    fixedsize = fmt.fixed_value_size()
    postfile = fieldwriter._postfile
    raw_write, pos = postfile.write, postfile.tell()
    tindex = fieldwriter._tindex
    key_prefix = pack_ushort(fieldwriter._fieldid)
    index_append, buckets, hashfn = tindex.index.append, tindex.buckets, tindex.hashfn
    tindex_write, tpos = tindex.dbfile.write, tindex.dbfile.tell()
    lastkey = tindex.lastkey
    n = len(terms)
    start = 0
    while start < n:
        btext = terms[start]
        end = bisect_right(terms, btext, start)
        # The term's postings, in blocks of blocklimit, each: the magic (first block only), the block's length
        # (negative for the last), its info pickle and its zlib-compressed data pickle (W3PostingsWriter).
        startoffset = pos
        chunks = [WHOOSH3_HEADER_MAGIC]
        total_weight, minlength, maxlength, maxweight = 0, None, 0, 0
        for b in range(start, end, blocklimit):
            e = min(b + blocklimit, end)
            ids = docnums[b:e]
            raw_weights = weights[b:e]
            w32 = array("f", raw_weights)
            bmax = max(raw_weights)
            if not bmax > 0:
                bmax = 0
            bmin_len, bmax_len = None, 0
            if lengths is not None:
                found = list(filter(None, map(lengths.__getitem__, ids)))
                if found:
                    bmin_len, bmax_len = min(found), max(found)
            # W3TermInfo.add_block
            total_weight += sum(w32)
            if minlength is None:
                minlength = bmin_len
            else:
                minlength = min(minlength, bmin_len)
            maxlength = max(maxlength, bmax_len)
            maxweight = max(maxweight, bmax)
            # W3PostingsWriter._mini_ids, _mini_weights, _mini_values
            if len(ids) == 1:
                mini_ids = (ids[0],)
            else:
                mini_ids = tuple([ids[0]] + [y - x for x, y in zip(ids, ids[1:], strict=False)])
            distinct = set(w32)
            if len(distinct) == 1:
                mini_weights = None if w32[0] == 1.0 else w32[0]
            else:
                mini_weights = tuple(w32)
            if fixedsize is None or fixedsize < 0:
                mini_values = tuple(filter(None, values[b:e]))
            elif fixedsize == 0:
                mini_values = None
            else:
                mini_values = b"".join(filter(None, values[b:e]))
            databytes = _compress(pickle.dumps((mini_ids, mini_weights, mini_values), 2), compression)
            infobytes = pickle.dumps(
                (len(ids), ids[-1], bmax, compression, length_to_byte(bmin_len), length_to_byte(bmax_len)), 2
            )
            blocklength = len(infobytes) + len(databytes)
            chunks.append(pack_int(-blocklength if e == end else blocklength))
            chunks.append(infobytes)
            chunks.append(databytes)
        block = b"".join(chunks)
        raw_write(block)
        pos += len(block)
        # W3TermInfo.to_bytes (never inlined: the codec's inline limit is 1), then OrderedHashWriter.add.
        valbytes = (
            _TERMINFO.pack(
                0,
                total_weight,
                end - start,
                0 if minlength is None else length_to_byte(minlength),
                length_to_byte(maxlength),
                maxweight,
                docnums[start],
                docnums[end - 1],
            )
            + pack_long(startoffset)
            + pack_int(pos - startoffset)
        )
        keybytes = key_prefix + btext
        if keybytes <= lastkey:
            raise ValueError(f"Keys must increase: {lastkey!r}..{keybytes!r}")
        index_append(tpos)
        row = _HASH_LENGTHS.pack(len(keybytes), len(valbytes)) + keybytes + valbytes
        tindex_write(row)
        h = hashfn(keybytes)
        buckets[h & 255].append((h, tpos))
        tpos += len(row)
        lastkey = keybytes
        start = end
    tindex.lastkey = lastkey
