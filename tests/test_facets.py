"""Bitsets, exact matching from cached leaves, and the facet cache saved per commit."""

from __future__ import annotations

import json
import math
import random
from collections import Counter

import pytest
from whoosh import query as wq
from whoosh.collectors import UnlimitedCollector

from newsearch import facets as facets_module
from newsearch.docsets import DocSet, LeafCache, bits_of, docs_of
from newsearch.facets import CACHE_PREFIX, FacetCache
from newsearch.indexer import Indexer
from newsearch.parse import tag_key
from newsearch.query import parse_query
from newsearch.schema import ARTICLE, ENTITY_FIELDS
from newsearch.search import Engine, SearchRequest
from newsearch.store import IndexStore
from newsearch.tuning import Tuning


def test_bitsets_round_trip():
    rng = random.Random(6)
    for n, k in ((1, 1), (7, 3), (8, 8), (9, 2), (1000, 50), (34_000, 50), (34_000, 2000)):
        docs = sorted(rng.sample(range(n), k))
        bits = bits_of(docs, n)
        assert docs_of(bits) == docs
        s = DocSet(bits)
        assert len(s) == len(docs)
        assert [d for d in range(n + 20) if d in s] == docs
        assert list(s) == docs
    assert docs_of(0) == [] and len(DocSet(0)) == 0 and 3 not in DocSet(0)


QUERIES = [
    "marché",
    "Paris OR France OR Macron OR grève OR climat OR santé",
    "prix alimentaires",
    '"intelligence artificielle"',
    "incendie -entrepôt",
    "NOT incendie commune",
    "titre:fibre",
    "tag:santé médecins",
    "hopitale~1",
    "école SAUF enseignants",
    "les élus locaux ont annoncé mardi de nouvelles mesures pour aider les communes rurales à garder leurs médecins",
]


@pytest.mark.parametrize("q", QUERIES)
def test_leaf_cache_matches_and_scores_exactly_as_whoosh(engine, q):
    searcher, _ = engine.refresh()
    query = parse_query(q, searcher.schema)
    collector = UnlimitedCollector()
    searcher.search_with_collector(query, collector)
    expected = {hit.docnum: hit.score for hit in collector.results()}
    cache = LeafCache(searcher)
    for _ in range(2):  # cold, then from the cache
        found = cache.scores(query)
        assert set(found) == set(expected)
        assert all(math.isclose(found[d], expected[d], rel_tol=1e-9) for d in expected)


def _histogram_by_days(days: list[int]) -> list[dict]:
    """The date facet computed the plain way, day by day: by month, or by year past three years."""
    from newsearch.dates import bucket_label, ordinal_to_date

    if not days:
        return []
    first, last = ordinal_to_date(min(days)), ordinal_to_date(max(days))
    by_year = (last.year - first.year) * 12 + (last.month - first.month) >= 36
    keys = Counter(f"{d.year:04d}" if by_year else f"{d.year:04d}-{d.month:02d}" for d in map(ordinal_to_date, days))
    return [{"value": key, "label": bucket_label(key), "count": keys[key]} for key in sorted(keys)]


def _old_facets(searcher, matched: set[int]) -> dict:
    """Facet counts the way FacetCache computed them before bitsets: per-document values from the postings."""
    reader = searcher.reader()
    articles = set(searcher.document_numbers(kind=ARTICLE))
    out = {}
    for field_name in ("tag", *ENTITY_FIELDS):
        counts = Counter()
        for raw in reader.lexicon(field_name):
            docs = set(reader.postings(field_name, raw).all_ids()) & articles & matched
            if docs:
                counts[raw.decode()] = len(docs)
        out[field_name] = counts
    sections = Counter()
    for raw in reader.lexicon("section"):
        docs = set(reader.postings("section", raw).all_ids()) & articles & matched
        if docs and tag_key(raw.decode()):
            sections[tag_key(raw.decode())] += len(docs)
    out["section"] = sections
    days = reader.column_reader("day")
    out["date"] = _histogram_by_days([days[d] for d in matched & articles if 0 < days[d] <= facets_module.MAX_ORDINAL])
    return out


@pytest.mark.parametrize("way", ["walk", "bits", None])  # walking the matched articles / bitset ANDs / cheaper
@pytest.mark.parametrize("q", ["", "commune", "prix OR école OR médecins OR incendie"])
def test_facet_counts_equal_the_old_way(engine, q, way):
    engine = Engine(engine.store.root, tuning=Tuning(facet_strategy=way))
    searcher, cache = engine.refresh()
    if q:
        matched = set(searcher.docs_for_query(parse_query(q, searcher.schema))) & cache.articles
    else:
        matched = set(cache.articles)
    results = engine.search(SearchRequest(q=q, collapse=False, synonyms=False, read_dates=False))
    assert results.total == len(matched)
    old = _old_facets(searcher, matched)
    top = {"tag": 100, "person": 20, "place": 20, "org": 20}
    for field_name, key in (("tag", "tags"), ("person", "personnes"), ("place", "lieux"), ("org", "organisations")):
        ranked = sorted(old[field_name].items(), key=lambda kv: (-kv[1], kv[0]))[: top[field_name]]
        assert [(f["value"], f["count"]) for f in results.facets[key]] == ranked, key
    assert {f["value"]: f["count"] for f in results.facets["section"]} == dict(old["section"])
    assert results.facets["date"] == old["date"]


def _write(folder, records):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8"
    )


def _records(n, tag="Économie"):
    return [
        {"id": f"r{i}", "title": f"Marché {i}", "body": f"Le marché numéro {i} ouvre ce matin.", "tags": [tag],
         "date": f"2021-0{1 + i % 9}-1{i % 10}"}
        for i in range(n)
    ]  # fmt: skip


def test_facet_cache_is_saved_and_a_commit_invalidates_it(tmp_path):
    _write(tmp_path / "src", _records(5))
    store = IndexStore(tmp_path / "index")
    Indexer(store).run([tmp_path / "src"])
    engine = Engine(tmp_path / "index")
    gen_dir = store.current_dir()
    saved = list(gen_dir.glob(f"{CACHE_PREFIX}*"))
    assert len(saved) == 1
    assert [f["value"] for f in engine.search(SearchRequest(q="marché")).facets["tags"]] == ["economie"]
    # Another reader of the same commit loads the file instead of reading the postings.
    searcher, _ = engine.refresh()
    assert FacetCache._load(saved[0], _key(searcher)) is not None
    # A commit adds an article with a new tag: the next search shows it, from a new cache file.
    _write(tmp_path / "src2", [{"id": "new", "title": "Marché neuf", "body": "Le marché neuf.", "tags": ["Sport"]}])
    Indexer(store).run([tmp_path / "src2"])
    facets = engine.search(SearchRequest(q="marché")).facets["tags"]
    assert {f["value"]: f["count"] for f in facets} == {"economie": 5, "sport": 1}
    assert engine.search(SearchRequest(q="marché", tags=["sport"])).total == 1
    now = list(gen_dir.glob(f"{CACHE_PREFIX}*"))
    assert len(now) == 1 and now != saved  # the stale one is removed


def _key(searcher):
    reader = searcher.reader()
    return (
        facets_module.CACHE_FORMAT,
        facets_module.INDEX_VERSION,
        reader.generation(),
        facets_module._segments_key(reader),
    )


@pytest.mark.parametrize("damage", ["truncate", "garbage", "other key"])
def test_a_damaged_facet_cache_file_is_ignored_and_rebuilt(index_from_records, damage):
    index_dir = index_from_records(_records(4, tag="Santé"))
    store = IndexStore(index_dir)
    Engine(index_dir)
    (path,) = store.current_dir().glob(f"{CACHE_PREFIX}*")
    raw = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a pickle at all")
    else:
        import pickle

        saved = pickle.loads(raw)
        saved["state"]["tags"] = (["autre"], *saved["state"]["tags"][1:])
        saved["key"] = ("some", "other", "key")
        path.write_bytes(pickle.dumps(saved))
    engine = Engine(index_dir)
    results = engine.search(SearchRequest(q="marché"))
    assert results.total == 4
    assert [(f["value"], f["count"]) for f in results.facets["tags"]] == [("sante", 4)]
    assert FacetCache._load(path, _key(engine.refresh()[0])) is not None  # written again, whole


def test_a_read_only_index_still_answers(index_from_records, monkeypatch):
    store = IndexStore(index_from_records(_records(3)))
    for prepared in store.current_dir().glob(f"{CACHE_PREFIX}*"):  # the indexing job saved one: start without
        prepared.unlink()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "read-only")

    monkeypatch.setattr(facets_module.os, "replace", refuse)
    engine = Engine(store.root)
    assert engine.search(SearchRequest(q="marché")).total == 3
    assert not list(store.current_dir().glob(f"{CACHE_PREFIX}*"))
    assert not list(store.current_dir().glob("*.tmp"))


@pytest.mark.parametrize("word", ["comune", "medecin", "incendei", "xyzzy", "e"])
def test_terms_within_equals_whooshs(engine, word):
    searcher, _ = engine.refresh()
    cache = LeafCache(searcher)
    for maxdist in (1, 2):
        expected = list(searcher.reader().terms_within("body", word, maxdist, prefix=1))
        assert list(cache.terms_within("body", word, maxdist, prefix=1)) == expected
        assert list(cache.terms_within("body", word, maxdist, prefix=1)) == expected  # from the cache


def test_term_leaves_walked_by_blocks_equal_the_matchers_walk_exactly(tmp_path, monkeypatch):
    from newsearch import docsets

    records = _records(300)
    _write(tmp_path / "src", records)
    store = IndexStore(tmp_path / "index")
    Indexer(store, batch_size=100).run([tmp_path / "src"])
    # A changed article: its old version is deleted from its segment (postings skip deleted documents).
    records[5]["body"] += " Une phrase de plus sur le marché couvert."
    _write(tmp_path / "src", records)
    Indexer(store).run([tmp_path / "src"])
    searcher, _ = Engine(tmp_path / "index").refresh()
    assert searcher.reader().has_deletions()
    queries = [wq.Term(f, t, boost=b) for f, t in (("body", "march"), ("title", "march"), ("body", "couvert"))
               for b in (1.0, 1.2)]  # fmt: skip
    queries.append(wq.Term("body", "absentword"))
    fast = LeafCache(searcher)
    fast_results = [fast.scores(q) for q in queries]
    # One scorer for every segment (_term_walk), then the matchers' blocks (_term_blocks), then Whoosh's own walk.
    monkeypatch.setattr(docsets.LeafCache, "_term_walk", lambda *args: False)
    blocks = LeafCache(searcher)
    blocks_results = [blocks.scores(q) for q in queries]
    monkeypatch.setattr(docsets.LeafCache, "_term_blocks", lambda *args: False)
    slow = LeafCache(searcher)
    for q, found, by_blocks in zip(queries, fast_results, blocks_results, strict=True):
        assert found == by_blocks == slow.scores(q), q  # the same floats, not only close ones
        assert found or q.text == "absentword"


def test_facet_postings_read_in_order_equal_the_public_api(tmp_path, monkeypatch):
    records = _records(300)
    for i, r in enumerate(records):
        r["tags"] = [f"Tag {i % 7}", f"Rare {i}"]  # one-article values too
    _write(tmp_path / "src", records)
    store = IndexStore(tmp_path / "index")
    Indexer(store, batch_size=100).run([tmp_path / "src"])
    records[5]["tags"] = ["Tag 1"]  # a changed article: its old version is deleted
    _write(tmp_path / "src", records)
    Indexer(store).run([tmp_path / "src"])
    searcher, cache = Engine(tmp_path / "index").refresh()
    assert searcher.reader().has_deletions()
    articles = set(cache.articles)
    fast = FacetCache._postings(searcher.reader(), "tag", articles)
    monkeypatch.setattr(facets_module, "_segment_postings", lambda sub, field: None)
    assert fast == FacetCache._postings(searcher.reader(), "tag", articles)
    assert "rare 5" not in fast and "rare 6" in fast and len(fast["tag 1"]) == 43 + 1


@pytest.mark.parametrize("way", [None, "bits"])
def test_bitsets_kept_stay_within_their_budget(engine, way):
    q = "commune OR prix OR école"
    searcher, cache = engine.refresh()
    expected = engine.search(SearchRequest(q=q, synonyms=False)).facets
    matched = set(searcher.docs_for_query(parse_query(q, searcher.schema))) & set(cache.articles)
    fresh = FacetCache(searcher, None, Tuning(facet_strategy=way, facet_bitset_bytes=3 * (cache.n // 8 + 32)))
    for _ in range(3):  # a searcher's later searches count building bitsets at less
        assert Engine._facets(fresh, DocSet(cache.bits_of(sorted(matched)))) == expected
    assert all(len(v._bits) <= 3 for v in (fresh.tags, *fresh.entities.values()))


def test_a_request_on_an_older_searcher_does_not_use_a_newer_leaf_cache(tmp_path):
    _write(tmp_path / "src", _records(5))
    store = IndexStore(tmp_path / "index")
    Indexer(store).run([tmp_path / "src"])
    engine = Engine(tmp_path / "index")
    old_searcher, _ = engine.refresh()
    _write(tmp_path / "src2", [{"id": "new", "title": "Marché neuf", "body": "Le marché neuf."}])
    Indexer(store).run([tmp_path / "src2"])
    engine.refresh()  # another thread picked up the commit
    assert engine._leaves_of(old_searcher).searcher is old_searcher
    assert engine._leaves_of(engine.refresh()[0]) is engine._leaves


@pytest.mark.parametrize("span_days", [20, 400, 1100, 1200, 3000])
def test_month_histogram_equals_counting_day_by_day(span_days):
    from datetime import date

    from newsearch.facets import month_histogram

    rng = random.Random(span_days)
    start = date(2017, 3, 15).toordinal()
    days = [start + rng.randrange(span_days) for _ in range(500)]
    months = Counter()
    for day in days:
        moment = date.fromordinal(day)
        months[moment.year * 12 + moment.month - 1] += 1
    assert month_histogram(months) == _histogram_by_days(days)


def test_after_a_commit_only_new_segments_postings_are_read(tmp_path, monkeypatch):
    _write(tmp_path / "src", _records(300))
    store = IndexStore(tmp_path / "index")
    Indexer(store, batch_size=100).run([tmp_path / "src"])
    read = []
    real = facets_module._segment_postings

    def spy(sub, field_name):
        read.append(sub.segment().segment_id())
        return real(sub, field_name)

    monkeypatch.setattr(facets_module, "_segment_postings", spy)
    engine = Engine(tmp_path / "index")
    first = set(read)
    read.clear()
    records = _records(300)
    records[0]["tags"] = ["Culture"]  # changed: its old version, in a segment already read, is deleted
    records.append({"id": "new", "title": "Marché neuf", "body": "Le marché.", "tags": ["Sport"]})
    _write(tmp_path / "src", records)
    Indexer(store).run([tmp_path / "src"])
    results = engine.search(SearchRequest(q="marché"))
    assert read and not set(read) & first  # the segments of the first reader came from the process cache
    assert {f["value"]: f["count"] for f in results.facets["tags"]} == {"economie": 299, "sport": 1, "culture": 1}
    # The same state as a build that reads every segment afresh.
    searcher, cache = engine.refresh()
    monkeypatch.setattr(facets_module, "_SEGMENTS", facets_module.OrderedDict())
    fresh = FacetCache(searcher, None)
    assert fresh.tags.state() == cache.tags.state()
    assert all(fresh.entities[f].state() == cache.entities[f].state() for f in fresh.entities)


def test_the_indexing_job_prepares_the_facet_cache_so_a_searcher_opens_without_building_it(
    index_from_records, monkeypatch
):
    from newsearch.facets import FacetCache
    from newsearch.store import IndexStore
    from newsearch.verify import verify

    index_dir = index_from_records([{"id": f"f{n}", "title": f"Article {n}", "body": "Texte.", "tags": ["Santé"]}
                                    for n in range(5)])  # fmt: skip

    def must_not_build(self, searcher):
        raise AssertionError("the facet cache was built at open, not by the indexing job")

    monkeypatch.setattr(FacetCache, "_build", must_not_build)
    results = Engine(index_dir).search(SearchRequest(q="article", collapse=False))
    assert results.total == 5 and results.facets["tags"][0]["count"] == 5
    assert verify(IndexStore(index_dir)).ok


# Tag variants (plural, case, accents) as sources write them, and how often.
TAG_SPELLINGS = {"grèves": 3, "Grève": 1, "grève": 1, "médias": 2, "Media": 1}


def _variant_records():
    spellings = [form for form, n in TAG_SPELLINGS.items() for _ in range(n)]
    return [
        {"id": f"v{i}", "title": f"Journée {i}", "body": f"La journée numéro {i} commence tôt.", "tags": [form]}
        for i, form in enumerate(spellings)
    ]


def test_tag_variants_are_one_facet_value_labelled_by_the_most_frequent_spelling(index_from_records):
    engine = Engine(index_from_records(_variant_records()))
    facets = engine.search(SearchRequest(q="journée")).facets["tags"]
    engine.close()
    assert sorted((f["value"], f["label"], f["count"]) for f in facets) == [
        ("greve", "grèves", 5),
        ("media", "médias", 3),
    ]


def test_any_spelling_a_facet_shows_filters_to_it_in_the_cli_and_on_the_web(index_from_records):
    from click.testing import CliRunner

    from newsearch.cli import cli
    from newsearch.web import create_app

    index_dir = index_from_records(_variant_records())
    strikes = {f"v{i}" for i in range(5)}
    for spelling in ("grèves", "Grève", "GREVE"):
        result = CliRunner().invoke(cli, ["query", "--index", str(index_dir), "--tag", spelling, "--json"])
        assert result.exit_code == 0, result.output
        assert {hit["id"] for hit in json.loads(result.output)["hits"]} == strikes
    client = create_app({"INDEX_DIR": index_dir, "TESTING": True}).test_client()
    for spelling in ("Média", "medias"):
        data = client.get("/api/search", query_string={"tag": spelling}).get_json()
        assert {hit["id"] for hit in data["hits"]} == {"v5", "v6", "v7"}
