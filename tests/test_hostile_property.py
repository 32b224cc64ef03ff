"""Property: whatever mix of good and hostile files a folder holds, no good article is lost (issue 15)."""

from __future__ import annotations

import gzip
import json
import os
import socket
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsearch.indexer import Indexer
from newsearch.parse import Limits
from newsearch.search import Engine, SearchRequest
from newsearch.store import IndexStore
from newsearch.verify import verify

# Small limits, so that files passing them stay small enough for many examples.
LIMITS = Limits(file_bytes=64 * 1024, stream_bytes=256 * 1024, record_bytes=8 * 1024, field_chars=4000, tags=5)


def word(n: int) -> str:
    """A word only article n holds (letters only: the French analysis keeps it whole)."""
    return "zq" + "".join("abcdefghij"[int(d)] for d in str(n)) + "u"


def good_record(n: int) -> dict:
    return {"id": f"bon-{n}", "title": f"Titre {word(n)}", "body": f"Le texte de l'article {word(n)} se lit bien."}


def line(record) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n"


# Each hostile kind: how to write it at path (a name without extension), and where the run must name it:
# "skipped" (the file, or one of its lines), "warnings", or None (named elsewhere: a conflict, a folder).
def _bomb(p: Path):
    p.with_suffix(".json.gz").write_bytes(gzip.compress(b'{"body": "' + b"a" * (LIMITS.file_bytes * 4) + b'"}'))
    return p.with_suffix(".json.gz"), "skipped"


def _long_line(p: Path):
    p = p.with_suffix(".jsonl")
    p.write_bytes(line({"id": "x", "title": "t", "body": "z" * (LIMITS.record_bytes * 2)}))
    return p, "skipped"


def _deep(p: Path):
    p = p.with_suffix(".jsonl")
    p.write_bytes(b'{"title": ' + b"[" * 5000 + b"]" * 5000 + b"}\n")
    return p, "skipped"


def _malformed(p: Path):
    p = p.with_suffix(".json")
    p.write_bytes(b'{"title": "sans fin')
    return p, "skipped"


def _binary(p: Path):
    p = p.with_suffix(".txt")
    p.write_bytes(b"\x00\x01\x02" * 100)
    return p, "skipped"


def _empty(p: Path):
    p = p.with_suffix(".txt")
    p.write_bytes(b"")
    return p, "skipped"


def _truncated_gzip(p: Path):
    p = p.with_suffix(".jsonl.gz")
    p.write_bytes(gzip.compress(line({"id": "tronque", "title": "t", "body": "b"}) * 50)[:40])
    return p, "skipped"


def _bad_date(p: Path):
    p = p.with_suffix(".json")
    p.write_bytes(line({"id": f"date-{p.name}", "title": "Daté", "body": "corps", "date": "9999-12-31T22:30:00-06:00"}))
    return p, "warnings"


def _bad_byte(p: Path):
    p = p.with_suffix(".txt")
    p.write_bytes("Élection à Besançon\n\nLe maire a été réélu.\n".encode() + b"\xff\n")
    return p, "warnings"


def _many_tags(p: Path):
    p = p.with_suffix(".json")
    p.write_bytes(line({"id": f"tags-{p.name}", "title": "t", "body": "b", "tags": [f"t{i}" for i in range(50)]}))
    return p, "warnings"


def _fifo(p: Path):
    p = p.with_suffix(".jsonl")
    os.mkfifo(p)
    return p, "skipped"


def _socket(p: Path):
    p = p.with_suffix(".json")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(p))
    server.close()  # the socket file stays
    return p, "skipped"


def _outside_symlink(p: Path):
    p = p.with_suffix(".txt")
    p.symlink_to("/etc/hostname")
    return p, "skipped"


def _broken_symlink(p: Path):
    p = p.with_suffix(".txt")
    p.symlink_to(p.parent / "nulle-part.txt")
    return p, "skipped"


def _loop(p: Path):
    p.symlink_to(p.parent)
    return p, "skipped"


def _folder_named_json(p: Path):
    p = p.with_suffix(".json")
    p.mkdir()
    return p, None


def _stolen_id(p: Path):
    p = p.with_suffix(".json")
    p.write_bytes(line({"id": "bon-0", "title": "Imposteur", "body": "Une autre version de bon-0."}))
    return p, None


HOSTILE = [
    _bomb, _long_line, _deep, _malformed, _binary, _empty, _truncated_gzip, _bad_date, _bad_byte, _many_tags,
    _fifo, _socket, _outside_symlink, _broken_symlink, _loop, _folder_named_json, _stolen_id,
]  # fmt: skip

layouts = st.lists(
    st.one_of(
        st.tuples(st.just("good"), st.sampled_from(["txt", "json", "jsonl", "jsonl.gz"]), st.integers(1, 3)),
        st.tuples(st.just("hostile"), st.sampled_from(HOSTILE), st.just(0)),
    ),
    min_size=1,
    max_size=10,
)


def write_good(folder: Path, name: str, kind: str, numbers: list[int]) -> None:
    path = folder / f"{name}.{kind}"
    if kind == "txt":
        (n,) = numbers[:1]
        path.write_text(f"Titre {word(n)}\n\nLe texte de l'article {word(n)} se lit bien.\n", encoding="utf-8")
        return
    if kind == "json":
        path.write_text(json.dumps([good_record(n) for n in numbers], ensure_ascii=False), encoding="utf-8")
        return
    data = b"".join(line(good_record(n)) for n in numbers)
    path.write_bytes(gzip.compress(data) if kind.endswith(".gz") else data)


def searchable(index_dir: Path, n: int) -> bool:
    engine = Engine(index_dir)
    try:
        return engine.search(SearchRequest(q=word(n), limit=5)).total == 1
    finally:
        engine.close()


def named(report_list: list[dict], path: Path) -> bool:
    return any(item["path"] == str(path) or item["path"].startswith(f"{path}:") for item in report_list)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layout=layouts, nested=st.booleans())
def test_good_articles_survive_any_mix_of_hostile_files(layout, nested):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "articles"
        folder.mkdir()
        ix = Path(tmp) / "ix"
        # Committed before: three articles whose stored text must come out of the hostile run untouched.
        (folder / "avant.jsonl").write_bytes(b"".join(line(good_record(n)) for n in range(3)))
        assert Indexer(IndexStore(ix), limits=LIMITS).run([folder]).documents == 3
        with IndexStore(ix).open().searcher() as searcher:
            before = {f["id"]: f["body"] for f in searcher.documents(kind="article")}

        expected, good = [], [0, 1, 2]
        for k, (what, how, count) in enumerate(layout):
            where = folder / "sous" if nested and k % 2 else folder
            where.mkdir(exist_ok=True)
            if what == "good":
                numbers = [100 + 10 * k + j for j in range(count if how != "txt" else 1)]
                write_good(where, f"bon{k}", how, numbers)
                good += numbers
            else:
                expected.append(how(where / f"hostile{k}"))
        report = Indexer(IndexStore(ix), limits=LIMITS).run([folder])

        for path, place in expected:
            if place is not None:
                assert named(getattr(report, place), path), (path, place, report.skipped, report.warnings)
        with IndexStore(ix).open().searcher() as searcher:
            after = {f["id"]: f["body"] for f in searcher.documents(kind="article")}
        assert {aid: after.get(aid) for aid in before} == before  # bon-0's first source is avant.jsonl
        assert all(searchable(ix, n) for n in good)
        state = verify(IndexStore(ix))
        assert state.ok, state.problems
        # The next run over the same folder changes nothing and leaves the index sound.
        again = Indexer(IndexStore(ix), limits=LIMITS).run([folder])
        assert (again.added, again.updated, again.deleted) == (0, 0, 0)
        assert verify(IndexStore(ix)).ok
