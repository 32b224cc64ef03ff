"""Pins of every Whoosh-Reloaded 2.7.5 internal that newsearch.whoosh_compat touches: an upgrade fails here first.

Each test compares what the touch reads or does with what Whoosh's public (slow) path answers, or shows
the Whoosh behaviour that the touch works around.
"""

from __future__ import annotations

import inspect
from importlib import metadata

import pytest
from whoosh import query as wq
from whoosh.codec.whoosh3 import W3Codec
from whoosh.fields import ID, TEXT, Schema
from whoosh.filedb import compound
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import BufferFile
from whoosh.index import FileIndex
from whoosh.util.numeric import byte_to_length

from newsearch import whoosh_compat
from newsearch.store import IndexStore, open_whoosh
from newsearch.whoosh_compat import (
    WHOOSH_DISTRIBUTION,
    FixedFileIndex,
    IndexWriter,
    SegmentLengths,
    bm25_score_function,
    iter_blocks,
    length_bytes,
    read_toc,
    reader_length_bytes,
    segment_terms,
    unwrap_term_matcher,
)

# 300 articles: "grève" in every one, so its postings span several blocks (Whoosh writes 128 postings a block).
RECORDS = [
    {"id": f"a{i}", "title": f"Grève numéro {i}", "body": "La grève continue. " * (1 + i % 7) + f"Jour {i}."}
    for i in range(300)
]


@pytest.fixture(scope="module")
def ix(index_from_records):
    return IndexStore(index_from_records(RECORDS)).open()


def test_the_installed_whoosh_is_the_distribution_the_touches_were_written_for():
    name, version = WHOOSH_DISTRIBUTION
    assert metadata.version(name) == version


def test_plain_whoosh_refresh_shows_deleted_and_merged_documents_and_ours_does_not(tmp_path):
    def refreshed_ids(cls, folder):
        ix = cls.create(FileStorage(str(folder)), Schema(id=ID(stored=True, unique=True), body=TEXT), "MAIN")
        for ids in (["a", "b"], ["c"]):
            with ix.writer() as w:
                for i in ids:
                    w.add_document(id=i, body="x")
        old = ix.reader()
        with ix.writer() as w:
            w.delete_by_term("id", "a")
        ix.writer().commit(optimize=True)  # the segments merge into one
        return sorted(f["id"] for f in ix.reader(reuse=old).all_stored_fields())

    (tmp_path / "plain").mkdir()
    (tmp_path / "ours").mkdir()
    assert refreshed_ids(FileIndex, tmp_path / "plain") == ["a", "b", "b", "c", "c"]  # Whoosh-Reloaded 2.7.5
    assert refreshed_ids(FixedFileIndex, tmp_path / "ours") == ["b", "c"]
    params = list(inspect.signature(FileIndex._reader).parameters)
    assert params == ["storage", "schema", "segments", "generation", "reuse"]


def test_read_toc_is_the_live_table_of_contents(ix):
    toc = read_toc(ix)
    assert toc.generation == ix.latest_generation()
    assert [s.segment_id() for s in toc.segments] == [s.segment_id() for s in ix._segments()]


def test_compound_sub_files_read_in_place_read_what_whoosh_reads(ix, monkeypatch):
    def everything(index):
        with index.searcher() as searcher:
            reader = searcher.reader()
            stored = list(reader.all_stored_fields())
            postings = {t: list(reader.postings("body", t).items_as("positions")) for t in reader.lexicon("body")}
        return stored, postings

    assert compound.BufferFile is whoosh_compat._MappedSubFile
    ours = everything(ix)
    monkeypatch.setattr(compound, "BufferFile", BufferFile)  # Whoosh's own: a copy of each sub-file
    plain = FileIndex(ix.storage, indexname="MAIN")
    assert any(s.is_compound() for s in plain._segments())
    assert everything(plain) == ours and len(ours[0]) == 301  # the articles and the file's record


def test_length_bytes_are_whooshs_field_lengths(ix):
    with ix.searcher() as searcher:
        for sub, _ in searcher.reader().leaf_readers():
            lengths = reader_length_bytes(sub, "body")
            # A document past the column, or with a zero byte, has no length.
            ours = [
                byte_to_length(lengths[d]) if d < len(lengths) and lengths[d] else None
                for d in range(sub.doc_count_all())
            ]
            assert ours == [sub.doc_field_length(d, "body", None) for d in range(sub.doc_count_all())]
    assert reader_length_bytes(object(), "body") is None


def test_segment_lengths_read_once_match_whoosh(ix):
    got, want = [], []
    for segment in ix._segments():
        storage = segment.open_compound_file(ix.storage) if segment.is_compound() else ix.storage
        whoosh_reader = W3Codec().per_document_reader(storage, segment)
        ours = SegmentLengths(W3Codec().per_document_reader(storage, segment))
        assert length_bytes(whoosh_reader, "body") is not None and length_bytes(whoosh_reader, "id") is None
        pairs = [(d, f) for d in range(segment.doc_count_all()) for f in ix.schema.names()]
        got += [(f, ours.doc_field_length(d, f)) for d, f in pairs]
        want += [(f, whoosh_reader.doc_field_length(d, f)) for d, f in pairs]
    assert got == want
    assert sum(1 for f, n in got if f == "body" and n) == 300  # every article has a body length, the record none


def _term_matcher(searcher, text):
    """The matcher Whoosh builds for a body term in the segment that holds the articles."""
    sub = next(sub for sub, _ in searcher.leaf_searchers() if ("body", text) in sub.reader())
    return wq.Term("body", text).matcher(sub, searcher.context()), sub


def test_iter_blocks_walks_every_posting_with_its_weight(ix):
    with ix.searcher() as searcher:
        m, _ = _term_matcher(searcher, "greve")
        expected = []
        while m.is_active():
            expected.append((m.id(), m.weight()))
            m.next()
        m, _ = _term_matcher(searcher, "greve")
        leaf = unwrap_term_matcher(m)[0]
        blocks = list(iter_blocks(leaf, weights=True))
        walked = [(ids[j], weights[j]) for ids, weights, first, end in blocks for j in range(first, end)]
        assert not leaf.is_active()
    assert walked == expected and len(blocks) > 1 and len(walked) == 300
    assert {w for _, w in walked} == {float(n) for n in range(1, 8)}  # "grève" 1 to 7 times in the body


def test_segment_terms_are_the_lexicon_in_order(ix):
    with ix.searcher() as searcher:
        sub = searcher.reader().leaf_readers()[0][0]
        codec, postfile, items = segment_terms(sub, "tag")
        ours = []
        for (field, raw), _info in items:
            if field != "tag":
                break
            ours.append(raw)
        assert ours == list(sub.lexicon("tag")) and codec.postings_reader
        body = [raw for (field, raw), _ in segment_terms(sub, "body")[2] if field == "body"]
        assert body == list(sub.lexicon("body"))
    assert segment_terms(object(), "tag") is None


def test_unwrapped_term_matchers_score_as_whoosh_does(ix):
    with ix.searcher() as searcher:
        m, sub = _term_matcher(searcher, "greve")
        whoosh_scores = {}
        while m.is_active():
            whoosh_scores[m.id()] = m.score()
            m.next()
        m, sub = _term_matcher(searcher, "greve")
        leaf, skip, boost = unwrap_term_matcher(m)
        assert type(leaf).__name__ == "W3LeafMatcher" and skip == () and boost == 1.0
        score, field_length = bm25_score_function(leaf.scorer)
        ours = {}
        for ids, weights, first, end in iter_blocks(leaf, weights=True):
            for j in range(first, end):
                ours[ids[j]] = score(weights[j], field_length(ids[j]))
    assert ours == pytest.approx(whoosh_scores)
    assert unwrap_term_matcher(object()) is None


def test_bm25f_parameters_are_the_weightings_own():
    from whoosh import scoring

    from newsearch.whoosh_compat import bm25f_parameters

    weighting = scoring.BM25F(B=0.75, K1=1.2, title_B=0.3)
    assert bm25f_parameters(weighting, "title") == (0.3, 1.2)
    assert bm25f_parameters(weighting, "body") == (0.75, 1.2)


def test_a_writer_commits_the_segment_another_writer_finished(tmp_path):
    gen_dir, ix = IndexStore(tmp_path / "ix").new_generation()
    worker = IndexWriter(open_whoosh(gen_dir), _lk=False)  # as a builder process does
    worker.add_document(id="x", kind="article", body="La grève continue.")
    segment = worker.finish_segment()
    assert open_whoosh(gen_dir).doc_count() == 0  # written, not yet committed
    committer = IndexWriter(ix, _lk=False)
    committer.add_segments([segment])
    committer.commit()
    with open_whoosh(gen_dir).searcher() as searcher:
        assert [f["id"] for f in searcher.documents(kind="article")] == ["x"]


def _segment_files(storage, segment) -> dict[str, bytes]:
    """Return the sub-files of a compound segment by extension (the segment's random name left out)."""
    files = compound.CompoundStorage(storage.open_file(segment.make_filename(".seg")), use_mmap=False)
    return {name.split(".", 1)[1]: files.open_file(name).read() for name in files.list()}


def test_the_builders_writer_writes_whooshs_segment_byte_for_byte(tmp_path):
    from newsearch.indexer import article_document
    from newsearch.parse import Article

    articles = [
        Article(
            id=f"a{i}",
            title=f"Grève numéro {i} à Lyon",
            summary="Emmanuel Macron répond aux syndicats." if i % 3 else "",
            body="La grève continue à la SNCF. " * (1 + i % 7) + f"Jour {i}. " + "mot " * (i % 40),
            url=f"https://example.org/{i}",
            date=f"2023-03-{1 + i % 28:02d}T10:00:00+01:00",
            tags=["Grève", "Transports"] if i % 2 else ["Social"],
            section="France",
            path="/data/a.jsonl",
        )
        for i in range(300)  # "grève" in every article: its postings span three blocks
    ]
    docs = [article_document(a) for a in articles]
    docs.append({"id": "source:/data/a.jsonl", "kind": "source", "path": "/data/a.jsonl", "source": {"v": 3}})
    written = []
    for cls in (IndexWriter, whoosh_compat.SegmentBuilderWriter):
        gen_dir, ix = IndexStore(tmp_path / cls.__name__).new_generation()
        writer = cls(ix, _lk=False)
        for doc in docs:
            writer.add_document(**doc)
        written.append(_segment_files(ix.storage, writer.finish_segment()))
    whoosh, ours = written
    assert sorted(ours) == sorted(whoosh)
    assert {"pst", "trm"} <= set(ours)
    for name in whoosh:
        assert ours[name] == whoosh[name], name


@pytest.mark.parametrize("seed", range(5))
def test_small_blocks_compress_to_zlibs_own_bytes(seed):
    import random
    import zlib

    rng = random.Random(seed)
    for size in range(whoosh_compat._SMALL_BLOCK + 1):
        for data in (
            rng.randbytes(size),
            bytes(size),
            (b"ab" * size)[:size],
            bytes(rng.choice(b"abc") for _ in range(size)),
        ):
            assert whoosh_compat._compress(data, 3) == zlib.compress(data, 3)
