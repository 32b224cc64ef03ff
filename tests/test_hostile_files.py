"""Hostile files beside good ones: bounded memory, nothing lost, every odd file named and skipped (issue 15)."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from newsearch.indexer import Indexer, read_records
from newsearch.parse import MB, Limits, parse_bytes
from newsearch.search import Engine, SearchRequest
from newsearch.store import IndexStore
from newsearch.verify import verify
from test_reindex import without_root_powers

GOOD = 42


def record(i: int, **fields) -> dict:
    return {
        "id": f"bon-{i}",
        "title": f"Article {i}",
        "body": f"La commune numéro {i} inaugure sa médiathèque.",
        **fields,
    }


def jsonl(*records) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


@pytest.fixture
def folder(tmp_path) -> Path:
    """A folder of 42 good articles, already indexed into tmp_path / "ix"."""
    base = tmp_path / "articles"
    (base / "sub").mkdir(parents=True)
    (base / "bons.jsonl").write_bytes(jsonl(*(record(i) for i in range(GOOD - 2))))
    for i in (GOOD - 2, GOOD - 1):
        (base / "sub" / f"{i}.json").write_bytes(jsonl(record(i)))
    report = run(base)
    assert report.added == GOOD and not report.skipped
    return base


def run(base: Path, **options):
    limits = options.pop("limits", Limits())
    return Indexer(IndexStore(base.parent / "ix"), limits=limits, **options).run([base])


def ids(base: Path) -> set[str]:
    with IndexStore(base.parent / "ix").open().searcher() as searcher:
        return {fields["id"] for fields in searcher.documents(kind="article")}


def good_ones_intact(base: Path) -> None:
    assert {f"bon-{i}" for i in range(GOOD)} <= ids(base)
    state = verify(IndexStore(base.parent / "ix"))
    assert state.ok, state.problems


def article(base: Path, aid: str) -> dict:
    engine = Engine(base.parent / "ix")
    try:
        return engine.article(aid)
    finally:
        engine.close()


def reasons(report) -> dict[str, str]:
    return {Path(s["path"]).name: s["reason"] for s in report.skipped}


# --- bounded memory ---------------------------------------------------------------------------------


def test_a_gzip_bomb_is_skipped_at_the_decompressed_limit(folder):
    # 64 MB of one record's body compress to about 64 KB; the limit stops the read at 1 MB.
    bomb = gzip.compress(b'{"id": "bombe", "title": "B", "body": "' + b"a" * (64 * MB) + b'"}', compresslevel=9)
    (folder / "bombe.json.gz").write_bytes(bomb)
    report = run(folder, limits=Limits(file_bytes=MB))
    assert reasons(report) == {"bombe.json.gz": "larger than 1 MB (--max-file-mb): skipped"}
    good_ones_intact(folder)


def test_one_huge_line_costs_that_line_and_the_lines_around_it_are_indexed(folder):
    lines = jsonl(record(100)) + b'{"id": "x", "body": "' + b"z" * (3 * MB) + b'"}\n' + jsonl(record(101))
    (folder / "long.jsonl.gz").write_bytes(gzip.compress(lines))
    report = run(folder, limits=Limits(record_bytes=MB))
    assert report.skipped == [
        {"path": f"{folder / 'long.jsonl.gz'}:2", "reason": "line longer than 1 MB (--max-record-mb)"}
    ]
    assert {"bon-100", "bon-101"} <= ids(folder)
    good_ones_intact(folder)


def test_a_very_long_body_is_cut_and_said_so(folder):
    (folder / "long.json").write_bytes(jsonl(record(100, body="mot " * 300_000)))
    report = run(folder, limits=Limits(field_chars=100_000))
    assert report.skipped == []
    assert report.warnings == [
        {
            "path": str(folder / "long.json"),
            "reason": "body cut to its first 100,000 characters (of 1,199,999; --max-field-mb)",
        }
    ]
    assert len(article(folder, "bon-100")["body"]) == 100_000
    good_ones_intact(folder)


def test_a_hundred_thousand_tags_keep_the_first_hundred(folder):
    tags = [f"étiquette {n}" for n in range(100_000)] + ["x" * 500]
    (folder / "tags.json").write_bytes(jsonl(record(100, tags=tags)))
    report = run(folder)
    assert [w["reason"] for w in report.warnings] == [
        "1 tag(s) over 100 characters dropped (--max-tag-chars); the first 100 of 100000 tags kept (--max-tags)"
    ]
    assert article(folder, "bon-100")["tags"] == tags[:100]
    good_ones_intact(folder)


def test_lines_that_all_carry_one_id_index_one_article(folder):
    (folder / "meme.jsonl.gz").write_bytes(gzip.compress(jsonl(*(record(100, n=n) for n in range(5000)))))
    report = run(folder)
    assert report.added == 1 and report.skipped == []
    assert len(report.warnings) == 1000 + 1  # kept to MAX_NOTES, then counted
    assert (
        report.warnings[0]["reason"] == f"id 'bon-100' already given at {folder / 'meme.jsonl.gz'}:1: not indexed again"
    )
    assert report.warnings[-1] == {
        "path": str(folder / "meme.jsonl.gz"),
        "reason": "and 3999 more like these, not listed",
    }
    good_ones_intact(folder)


# --- only regular files -----------------------------------------------------------------------------


def test_symlinks_outside_the_folder_are_skipped_unless_asked(folder):
    (folder / "zero.txt").symlink_to("/dev/zero")
    (folder / "passwd.txt").symlink_to("/etc/passwd")
    report = run(folder)
    assert reasons(report) == {
        "passwd.txt": "symlink to /etc/passwd, outside the paths given (--follow-symlinks reads it)",
        "zero.txt": "symlink to /dev/zero, outside the paths given (--follow-symlinks reads it)",
    }
    report = run(folder, follow_symlinks=True)
    assert reasons(report)["zero.txt"] == "not a regular file (a character device)"
    good_ones_intact(folder)


def test_a_symlink_loop_is_walked_once(folder):
    (folder / "sub" / "boucle").symlink_to(folder)
    report = run(folder)
    assert reasons(report) == {"boucle": "folder already walked (a symlink loop or a second link to it)"}
    assert report.deleted == 0 and report.unchanged == GOOD
    good_ones_intact(folder)


def test_a_fifo_and_a_socket_are_skipped_without_blocking(folder):
    os.mkfifo(folder / "tube.jsonl")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(folder / "prise.json"))
    try:
        # A real process with a deadline: a read of the FIFO would block it forever, holding the lock.
        done = subprocess.run(
            [sys.executable, "-m", "newsearch", "index", str(folder), "--index", str(folder.parent / "ix"), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        server.close()
    assert done.returncode == 4, done.stderr
    report = json.loads(done.stdout)
    assert {Path(s["path"]).name: s["reason"] for s in report["skipped"]} == {
        "prise.json": "not a regular file (a socket)",
        "tube.jsonl": "not a regular file (a FIFO)",
    }
    good_ones_intact(folder)


def test_a_file_swapped_for_a_fifo_after_the_walk_is_refused_not_read(tmp_path):
    from newsearch.errors import ParseError
    from newsearch.parse import read_bytes

    os.mkfifo(tmp_path / "tube.txt")
    with pytest.raises(ParseError, match=r"not a regular file \(a FIFO\)"):
        read_bytes(tmp_path / "tube.txt")


# --- what cannot be read is kept ----------------------------------------------------------------------


@pytest.mark.parametrize("full", [[], ["--full"]])
def test_an_unreadable_folder_keeps_its_articles_and_makes_the_run_partial(folder, full):
    prefix = without_root_powers()
    os.chmod(folder / "sub", 0)
    (folder / "autre.jsonl").write_bytes(jsonl(record(100)))
    run(folder)
    os.chmod(folder / "autre.jsonl", 0)
    os.utime(folder / "autre.jsonl", (1, 1))  # changed, so that it must be read
    try:
        done = subprocess.run(
            [
                *prefix,
                sys.executable,
                "-m",
                "newsearch",
                "index",
                str(folder),
                "--index",
                str(folder.parent / "ix"),
                "--json",
                *full,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.chmod(folder / "sub", 0o755)
        os.chmod(folder / "autre.jsonl", 0o644)
    assert done.returncode == 4, done.stderr
    report = json.loads(done.stdout)
    assert sorted(report["skipped"], key=lambda s: s["path"]) == [
        {"path": str(folder / "autre.jsonl"), "reason": "cannot read: Permission denied"},
        {
            "path": str(folder / "sub"),
            "reason": "cannot read folder: Permission denied (its files keep their articles)",
        },
    ]
    assert report["deleted"] == 0 and report["documents"] == GOOD + 1 and "bon-100" in ids(folder)
    good_ones_intact(folder)
    # Readable again: its files are read as usual (a rebuild copied their records, left as they were).
    report = run(folder)
    assert report.skipped == [] and report.documents == GOOD + 1 and report.deleted == 0
    good_ones_intact(folder)


def test_a_file_that_vanishes_mid_run_keeps_its_articles_until_it_is_known_gone(folder):
    (folder / "sub" / "z.json").write_bytes(jsonl(record(100)))
    run(folder)
    os.utime(folder / "sub" / "z.json", (1, 1))

    def remove_it(event, path="", **info):
        if event == "file" and path.endswith("z.json"):
            (folder / "sub" / "z.json").unlink()  # after the walk, before its read

    report = run(folder, progress=remove_it)
    assert reasons(report) == {"z.json": "cannot read: No such file or directory"} and report.deleted == 0
    assert "bon-100" in ids(folder)
    report = run(folder)  # now known to be gone
    assert report.deleted == 1 and "bon-100" not in ids(folder)
    good_ones_intact(folder)


# --- one reader, encodings, dates -----------------------------------------------------------------------


@pytest.mark.parametrize("streamed", [False, True])
def test_a_deeply_nested_line_costs_that_line_in_small_and_big_files(folder, streamed):
    from newsearch.tuning import IndexTuning

    deep = b'{"id": "x", "title": "t", "body": ' + b"[" * 200_000 + b"]" * 200_000 + b"}\n"
    (folder / "profond.jsonl").write_bytes(jsonl(record(100)) + deep + jsonl(record(101)))
    report = run(folder, tuning=IndexTuning(stream_min_bytes=0) if streamed else IndexTuning())
    assert report.skipped == [{"path": f"{folder / 'profond.jsonl'}:2", "reason": "JSON nested too deeply"}]
    assert {"bon-100", "bon-101"} <= ids(folder)
    good_ones_intact(folder)


def test_one_bad_byte_in_utf8_is_replaced_not_turned_into_mojibake():
    data = "Élection à Besançon\n\nLe maire sortant a été réélu dès le premier tour.\n".encode() + b"\xff\n"
    parsed = parse_bytes(data, "/x/élection.txt")
    (article,) = parsed.articles
    assert article.title == "Élection à Besançon" and "réélu dès" in article.body and "\ufffd" in article.body
    assert parsed.warnings == [
        ("/x/élection.txt", "1 invalid UTF-8 byte sequence(s) replaced by \ufffd (the rest is UTF-8)")
    ]


def test_cp1252_is_chosen_only_when_the_bytes_say_so():
    data = "Élection à Besançon\n\nLe maire sortant a été réélu dès le premier tour.\n".encode("cp1252")
    parsed = parse_bytes(data, "/x/a.txt")
    assert parsed.articles[0].title == "Élection à Besançon" and parsed.warnings == []


@pytest.mark.parametrize(
    "date", ["9999-12-31T22:30:00-06:00", "0001-01-01T00:00:00+01:00", "2024-05-01T10:00:00+20:00"]
)
def test_a_date_that_cannot_be_placed_is_undated_and_nothing_gets_stuck(folder, date):
    (folder / "date.json").write_bytes(jsonl(record(100, date=date)))
    report = run(folder)
    assert report.skipped == [] and report.added == 1
    assert report.warnings == [
        {
            "path": str(folder / "date.json"),
            "reason": f"date {date!r} cannot be placed (unreadable, or outside 1800–2200): undated",
        }
    ]
    assert article(folder, "bon-100")["date"] == ""
    engine = Engine(folder.parent / "ix")
    try:
        assert engine.search(SearchRequest(q="", sort="date", limit=100, collapse=False)).total == GOOD + 1
    finally:
        engine.close()
    (folder / "autre.json").write_bytes(jsonl(record(101)))
    assert run(folder).added == 1  # the next run is not stuck
    good_ones_intact(folder)


def test_the_records_name_where_each_id_comes_from(folder):
    (folder / "zz.json").write_bytes(jsonl(record(3, body="Une autre version.")))
    report = run(folder)
    first = f"{folder / 'bons.jsonl'}:4"  # the file and the line that give the version shown
    assert report.conflicts == [{"id": "bon-3", "shown": first, "sources": [first, str(folder / "zz.json")]}]
    with IndexStore(folder.parent / "ix").open().searcher() as searcher:
        records = read_records(searcher)
    assert records[str(folder / "bons.jsonl")].where("bon-3") == first
    assert records[str(folder / "zz.json")].where("bon-3") == str(folder / "zz.json")
    assert records[str(folder / "sub" / "40.json")].where("bon-40") == str(folder / "sub" / "40.json")
    good_ones_intact(folder)


def test_verify_finds_an_id_shown_from_another_source_than_the_first(folder):
    from newsearch.indexer import article_document
    from newsearch.parse import Article
    from newsearch.store import IndexWriter

    (folder / "zz.json").write_bytes(jsonl(record(3, body="Une autre version.")))
    run(folder)
    state = verify(IndexStore(folder.parent / "ix"))
    assert state.ok and state.conflicts == 1
    # Rewrite bon-3 behind the indexer's back, as the version of the second source.
    ix = IndexStore(folder.parent / "ix").open()
    writer = IndexWriter(ix)
    doc = article_document(
        Article(id="bon-3", title="Article 3", body="Une autre version.", path=str(folder / "zz.json"))
    )
    writer.update_document(**doc)
    writer.commit()
    state = verify(IndexStore(folder.parent / "ix"))
    assert not state.ok
    assert state.problems == ["1 article(s) given by several files show another version than the first path's: bon-3"]


def test_a_clustering_failure_is_a_warning_and_the_next_run_still_works(folder, monkeypatch):
    from newsearch import indexer

    def broken(ix):
        raise ValueError("year 10000 is out of range")

    monkeypatch.setattr(indexer, "build_clusters", broken)
    (folder / "nouveau.json").write_bytes(jsonl(record(100)))
    report = run(folder)
    assert report.added == 1
    assert [w["reason"] for w in report.warnings] == [
        "wire-copy clusters not updated (ValueError: year 10000 is out of range)"
    ]
    monkeypatch.undo()
    (folder / "autre.json").write_bytes(jsonl(record(101)))
    assert run(folder).warnings == []
    good_ones_intact(folder)


def test_clusters_read_any_stamp_an_older_index_may_hold():
    from newsearch.dates import utc_iso

    assert utc_iso(253402300800) == ""  # 10000-01-01: outside datetime's range
    assert utc_iso(-(10**15)) == ""
    assert utc_iso(1_700_000_000) == "2023-11-14T22:13:20+00:00"


def test_the_index_options_set_the_limits(folder):
    from click.testing import CliRunner

    from newsearch.cli import cli

    (folder / "tags.json").write_bytes(jsonl(record(100, tags=["un", "deux", "trois", "quatre-vingts"])))
    (folder / "long.jsonl").write_bytes(jsonl(record(101, body="x" * 3000)) + jsonl(record(102)))
    args = ["index", str(folder), "--index", str(folder.parent / "ix"), "--json", "--max-tags", "2"]
    result = CliRunner().invoke(cli, [*args, "--max-tag-chars", "5", "--max-record-mb", "0.002"])
    assert result.exit_code == 4, result.output
    report = json.loads(result.output)
    assert report["skipped"] == [{"path": f"{folder / 'long.jsonl'}:1", "reason": "line longer than 2,097 bytes (--max-record-mb)"}]  # fmt: skip
    assert [w["reason"] for w in report["warnings"]] == [
        "1 tag(s) over 5 characters dropped (--max-tag-chars); the first 2 of 3 tags kept (--max-tags)"
    ]
    assert article(folder, "bon-100")["tags"] == ["un", "deux"] and "bon-102" in ids(folder)


def test_a_huge_html_page_is_cut_before_parsing(tmp_path):
    paragraph = b"<p>" + "La médiathèque ouvre ses portes à tous les habitants. ".encode() * 20 + b"</p>\n"
    page = b"<html><head><title>Grande page</title></head><body><article>" + paragraph * 2000
    parsed = parse_bytes(page, "/x/grande.html", Limits(html_bytes=100_000))
    assert parsed.warnings == [("/x/grande.html", "page cut to its first 100,000 bytes before parsing (--max-html-mb)")]
    assert 1000 < len(parsed.articles[0].body) <= 100_000


def test_a_read_that_gets_no_data_gives_up_at_the_deadline():
    import signal

    from newsearch.errors import ParseError
    from newsearch.parse import DeadlineReader

    def hung(*_):
        raise AssertionError("the read never gave up: it would hold the index lock for ever")

    # A pipe nobody writes to blocks read() for real, as a regular file on a stuck mount would. The alarm is a
    # watchdog, not a speed check: without the deadline the read blocks for ever.
    read_end, write_end = os.pipe()
    reader = DeadlineReader(read_end, "/mnt/bloqué/a.txt", deadline=0.3)
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        with pytest.raises(ParseError, match=r"no data within 0.3 s \(a stuck mount\?\): skipped"):
            reader.read(10)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert reader.stuck
    os.write(write_end, b"x")  # lets the stuck thread finish
    os.close(write_end)
    os.close(read_end)


def test_paths_given_twice_or_nested_are_walked_once_without_complaint(folder):
    report = Indexer(IndexStore(folder.parent / "ix")).run([folder, folder / "sub", folder / "sub" / "40.json"])
    assert report.skipped == [] and report.unchanged == GOOD and report.files == 3


def test_unplaceable_dates_in_pages_and_scraped_text_are_warned_about():
    text = "Élection à Besançon\n\nPublié le 1er janvier 9999\n\nLe maire sortant a été réélu dès le premier tour.\n"
    parsed = parse_bytes(text.encode(), "/x/a.txt")
    assert parsed.articles[0].date == "" and "9999" not in parsed.articles[0].body
    assert parsed.warnings == [
        ("/x/a.txt", "date 'Publié le 1er janvier 9999' cannot be placed (unreadable, or outside 1800–2200): undated")
    ]
    page = (
        '<html><head><meta property="article:published_time" content="9999-12-31T22:30:00-06:00">'
        "<title>Essai</title></head><body><article>"
        + "<p>Le conseil municipal a voté le budget de la commune pour l’année prochaine.</p>" * 3
        + "</article></body></html>"
    )
    parsed = parse_bytes(page.encode(), "/x/a.html")
    assert parsed.articles[0].date == ""
    assert [w for _, w in parsed.warnings] == [
        "date '9999-12-31T22:30:00-06:00' cannot be placed (unreadable, or outside 1800–2200): undated"
    ]
