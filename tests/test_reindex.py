"""Incremental reindexing: what a run rewrites, reports, rebuilds and refuses (issue 4)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from newsearch import indexer as indexer_module
from newsearch.cli import cli
from newsearch.errors import SchemaVersionError
from newsearch.indexer import Indexer, read_records
from newsearch.schema import INDEX_VERSION, SOURCE
from newsearch.search import Engine, SearchRequest
from newsearch.store import META, DurableFileStorage, IndexStore, IndexWriter, WriteError
from newsearch.tuning import IndexTuning
from newsearch.verify import verify

# Small files as the big ones are read: line by line, and in worker processes.
STREAMED = IndexTuning(stream_min_bytes=0)
POOLED = IndexTuning(pool_min_articles=10, stream_min_bytes=0)


def txt(title: str, body: str) -> str:
    return f"{title}\n\n{body}\n\nUn second paragraphe pour que le texte ressemble à un article.\n"


def jsonl(*records: dict) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def rec(i: int, word: str = "marché") -> dict:
    return {"id": f"dep-{i}", "title": f"Dépêche {i}", "body": f"Le {word} numéro {i} ouvre ses portes ce matin."}


@pytest.fixture
def corpus(write_files):
    return write_files(
        {
            "a/pluie.txt": txt("Pluies diluviennes dans le Gard", "Les communes du Gard comptent les dégâts."),
            "a/greve.txt": txt("Grève à l'hôpital", "Les soignants de Villebrune sont en grève."),
            "b/depeches.jsonl": jsonl(rec(1), rec(2), rec(3)),
            "b/dossier.json": json.dumps([rec(10, "musée"), rec(11, "théâtre")], ensure_ascii=False),
        }
    )


def counts(report) -> tuple:
    return report.added, report.updated, report.deleted, report.unchanged


def index(index_dir, paths, tuning=IndexTuning(), **kwargs):
    return Indexer(IndexStore(index_dir), batch_size=kwargs.pop("batch_size", 5000), tuning=tuning).run(paths, **kwargs)


def snapshot(root: Path) -> dict:
    """Every file under root with its size and mtime: what 'writes nothing' compares."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def search_ids(index_dir, q: str) -> set[str]:
    engine = Engine(index_dir)
    try:
        return {hit["id"] for hit in engine.search(SearchRequest(q=q, limit=100)).hits}
    finally:
        engine.close()


# --- incremental and idempotent -----------------------------------------------------------------


def test_second_run_and_touch_change_nothing(tmp_path, corpus, monkeypatch):
    ix = tmp_path / "ix"
    first = index(ix, [corpus])
    assert counts(first) == (7, 0, 0, 0) and first.documents == 7 and not first.skipped
    second = index(ix, [corpus])
    assert counts(second) == (0, 0, 0, 7) and second.documents == 7
    assert second.commits == 0  # nothing was written at all

    # touch: the mtime changes, the content does not
    later = time.time() + 10
    for p in corpus.rglob("*.*"):
        os.utime(p, (later, later))
    reads = []
    real_read = indexer_module.read_bytes
    monkeypatch.setattr(indexer_module, "read_bytes", lambda p, *limits: reads.append(p) or real_read(p, *limits))
    touched = index(ix, [corpus])
    assert counts(touched) == (0, 0, 0, 7) and touched.documents == 7
    assert len(reads) == 4  # read and hashed once, not parsed nor rewritten
    reads.clear()
    again = index(ix, [corpus])
    assert counts(again) == (0, 0, 0, 7) and reads == []  # the new mtimes were remembered
    assert verify(IndexStore(ix)).ok


def test_only_changed_articles_are_rewritten(tmp_path, corpus):
    ix = tmp_path / "ix"
    index(ix, [corpus])
    (corpus / "b/depeches.jsonl").write_text(jsonl(rec(1), rec(2, "port"), rec(4)), encoding="utf-8")
    (corpus / "a/greve.txt").write_text(txt("Grève à l'hôpital", "Les soignants sont en grève depuis lundi."))
    (corpus / "b/dossier.json").unlink()
    (corpus / "c").mkdir()
    (corpus / "c/neuf.txt").write_text(txt("Un musée rouvre", "Le musée des beaux-arts rouvre enfin."))
    report = index(ix, [corpus])
    # dep-3 left its JSONL file, dep-10 and dep-11 their deleted file; dep-4 and neuf.txt are new.
    assert counts(report) == (2, 2, 3, 2), report.to_dict()
    assert report.documents == 6
    assert search_ids(ix, "port") == {"dep-2"}
    assert search_ids(ix, "théâtre") == set()
    assert verify(IndexStore(ix)).ok
    assert counts(index(ix, [corpus])) == (0, 0, 0, 6)


def test_appending_to_a_jsonl_file_adds_without_rewriting(tmp_path, write_files):
    folder = write_files({"flux.jsonl": jsonl(*(rec(i) for i in range(50)))})
    ix = tmp_path / "ix"
    index(ix, [folder])
    with open(folder / "flux.jsonl", "a", encoding="utf-8") as fh:
        fh.write(jsonl(rec(50), rec(51)))
    report = index(ix, [folder])
    assert counts(report) == (2, 0, 0, 50)
    with IndexStore(ix).open().searcher() as searcher:
        record = read_records(searcher)[str(folder / "flux.jsonl")]
    assert len(record.ids) == 52 and record.complete


def test_vanished_files_only_within_the_folders_given(tmp_path, write_files):
    a = write_files({"x.txt": txt("Alpha", "Le texte alpha.")}, folder="a")
    b = write_files({"y.txt": txt("Bêta", "Le texte bêta.")}, folder="b")
    ix = tmp_path / "ix"
    index(ix, [a])
    index(ix, [b])
    (a / "x.txt").unlink()
    report = index(ix, [b])  # a is not among the paths: its article stays
    assert report.deleted == 0 and report.documents == 2
    report = index(ix, [a])
    assert report.deleted == 1 and report.documents == 1
    assert verify(IndexStore(ix)).ok


def test_unreadable_file_keeps_its_articles(tmp_path, corpus):
    ix = tmp_path / "ix"
    index(ix, [corpus])
    (corpus / "a/pluie.txt").write_bytes(b"\x00\x01binary")
    report = index(ix, [corpus])
    assert [s["path"] for s in report.skipped] == [str(corpus / "a/pluie.txt")]
    assert report.deleted == 0 and report.documents == 7  # skipped, not lost


def test_dry_run_writes_nothing(tmp_path, corpus, monkeypatch):
    ix = tmp_path / "ix"

    def no_documents(article):
        raise AssertionError("a dry run needs no document (entities, analysis)")

    with monkeypatch.context() as patch:
        patch.setattr(indexer_module, "article_document", no_documents)
        fresh = index(ix, [corpus], dry_run=True)
    assert counts(fresh) == (7, 0, 0, 0) and fresh.documents == 7
    assert not ix.exists()  # not even the directory or its lock file

    index(ix, [corpus])
    (corpus / "b/depeches.jsonl").write_text(jsonl(rec(1), rec(4)), encoding="utf-8")
    before = snapshot(ix)
    planned = index(ix, [corpus], dry_run=True)
    assert snapshot(ix) == before
    done = index(ix, [corpus])
    assert counts(planned) == counts(done) == (1, 0, 2, 5)
    assert planned.documents == done.documents == 6


def test_cli_json_report(tmp_path, corpus):
    ix = tmp_path / "ix"
    result = CliRunner().invoke(cli, ["index", str(corpus), "--index", str(ix), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data == {
        "added": 7,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "skipped": [],
        "warnings": [],
        "conflicts": [],
        "documents": 7,
    }
    result = CliRunner().invoke(cli, ["index", str(corpus), "--index", str(ix), "--json", "--dry-run"])
    assert json.loads(result.output)["unchanged"] == 7


# --- batches ------------------------------------------------------------------------------------


class Killed(BaseException):
    """Stands for SIGKILL in-process: nothing after it runs (the subprocess trials are in test_crash.py)."""


def test_big_file_commits_in_batches_and_the_next_run_resumes(tmp_path, write_files):
    folder = write_files({"flux.jsonl": jsonl(*(rec(i) for i in range(40))), "z.txt": txt("Zèbre", "Un zèbre.")})
    ix = tmp_path / "ix"
    commits = []

    def stop_at_third_commit(event, **info):
        if event == "commit":
            commits.append(info)
            if len(commits) == 3:
                raise Killed

    with pytest.raises(Killed):
        Indexer(IndexStore(ix), progress=stop_at_third_commit, batch_size=10).run([folder])
    # Two commits landed, each with 10 articles and the file's incomplete record.
    state = verify(IndexStore(ix))
    assert state.ok, state.problems
    assert state.documents == 20 and state.incomplete_sources == 1
    report = index(ix, [folder], batch_size=10)
    assert counts(report) == (21, 0, 0, 20) and report.documents == 41
    state = verify(IndexStore(ix))
    assert state.ok and state.incomplete_sources == 0


def test_same_id_in_two_files_shows_the_first_path_and_reports_the_conflict(tmp_path, write_files):
    folder = write_files({"a.jsonl": jsonl(rec(1), rec(2)), "b.jsonl": jsonl(rec(2, "port"))})
    ix = tmp_path / "ix"
    report = index(ix, [folder])
    assert report.documents == 2
    state = verify(IndexStore(ix))
    assert state.ok, state.problems
    assert search_ids(ix, "port") == set() and search_ids(ix, "marché") == {"dep-1", "dep-2"}  # a.jsonl first
    sources = [f"{folder / 'a.jsonl'}:2", f"{folder / 'b.jsonl'}:1"]  # which file and line gives it
    assert report.conflicts == [{"id": "dep-2", "shown": sources[0], "sources": sources}]
    # Removing the source shown makes the other one's version searchable; removing both removes the article.
    (folder / "a.jsonl").unlink()
    report = index(ix, [folder])
    assert search_ids(ix, "port") == {"dep-2"} and report.documents == 1 and report.conflicts == []
    assert verify(IndexStore(ix)).ok
    (folder / "b.jsonl").unlink()
    report = index(ix, [folder])
    assert report.documents == 0 and report.deleted == 1 and verify(IndexStore(ix)).ok


def test_the_second_source_keeps_the_article_when_the_first_loses_it(tmp_path, write_files):
    folder = write_files({"a.jsonl": jsonl(rec(1), rec(2)), "b.jsonl": jsonl(rec(2, "port"))})
    ix = tmp_path / "ix"
    index(ix, [folder])
    (folder / "a.jsonl").write_text(jsonl(rec(1)), encoding="utf-8")  # a.jsonl no longer gives dep-2
    report = index(ix, [folder])
    assert search_ids(ix, "port") == {"dep-2"} and report.documents == 2 and report.deleted == 0
    assert verify(IndexStore(ix)).ok
    # A new file earlier in path order takes the id over; b.jsonl's version comes back when it goes.
    (folder / "0.jsonl").write_text(jsonl(rec(2, "phare")), encoding="utf-8")
    index(ix, [folder])
    assert search_ids(ix, "phare") == {"dep-2"} and search_ids(ix, "port") == set()
    (folder / "0.jsonl").unlink()
    index(ix, [folder])
    assert search_ids(ix, "port") == {"dep-2"} and verify(IndexStore(ix)).ok


def test_a_source_outside_the_paths_given_takes_over_an_id(tmp_path, write_files):
    a = write_files({"x.jsonl": jsonl(rec(2, "phare"))}, folder="a")
    b = write_files({"y.jsonl": jsonl(rec(2, "port"))}, folder="b")
    ix = tmp_path / "ix"
    index(ix, [a, b])
    assert search_ids(ix, "phare") == {"dep-2"}
    (a / "x.jsonl").unlink()
    index(ix, [a])  # b is not among the paths, but its record gives dep-2: it is read again
    assert search_ids(ix, "port") == {"dep-2"} and verify(IndexStore(ix)).ok


# --- full rebuilds and versions -------------------------------------------------------------------


def test_full_rebuild_switches_when_complete(tmp_path, corpus):
    ix = tmp_path / "ix"
    index(ix, [corpus])
    store = IndexStore(ix)
    old_generation = store.current_name()
    engine = Engine(ix)  # opened before, like the web UI
    (corpus / "b/dossier.json").unlink()
    answers = []

    def search_meanwhile(event, **info):
        if event in ("file", "commit"):
            assert store.current_name() == old_generation
            answers.append(len(engine.search(SearchRequest(q="musée")).hits))

    report = Indexer(store, progress=search_meanwhile, batch_size=2).run([corpus], full=True)
    assert len(answers) > 5 and set(answers) == {1}  # the old index answered throughout
    assert store.current_name() != old_generation
    assert counts(report) == (0, 0, 2, 5) and report.documents == 5
    assert engine.search(SearchRequest(q="musée")).total == 0  # and the switch is picked up
    assert engine.search(SearchRequest(q="grève")).total == 1
    engine.close()
    assert verify(store).ok


def write_foreign_version(ix: Path) -> None:
    store = IndexStore(ix)
    (store.current_dir() / META).write_text(json.dumps({"version": "0.0"}), encoding="utf-8")


def test_version_change_requires_full(tmp_path, corpus):
    ix = tmp_path / "ix"
    index(ix, [corpus])
    write_foreign_version(ix)
    with pytest.raises(SchemaVersionError, match="--full"):
        index(ix, [corpus])
    result = CliRunner().invoke(cli, ["index", str(corpus), "--index", str(ix)])
    assert result.exit_code == 3 and "newsearch index --full" in result.output
    assert "Traceback" not in result.output
    report = index(ix, [corpus], full=True)
    assert report.documents == 7
    store = IndexStore(ix)
    assert store.version_of(store.current_dir()) == INDEX_VERSION
    assert verify(store).ok
    assert counts(index(ix, [corpus])) == (0, 0, 0, 7)


def test_killed_full_rebuild_is_resumed(tmp_path, write_files):
    folder = write_files({f"f{i:02d}.txt": txt(f"Titre {i}", f"Le corps numéro {i}.") for i in range(12)})
    ix = tmp_path / "ix"
    index(ix, [folder])
    store = IndexStore(ix)
    live = store.current_name()
    seen = []

    def stop(event, **info):
        if event == "commit":
            seen.append(1)
            if len(seen) == 3:
                raise Killed

    with pytest.raises(Killed):
        Indexer(store, progress=stop, batch_size=4).run([folder], full=True)
    assert store.current_name() == live and len(store.unfinished_generations()) == 1
    assert verify(store).ok and verify(store).unfinished_rebuilds == [store.unfinished_generations()[0].name]
    report = Indexer(store, batch_size=4).run([folder], full=True)
    assert report.resumed and report.documents == 12 and report.commits < 5
    assert store.current_name() != live and store.unfinished_generations() == []


# --- write errors ---------------------------------------------------------------------------------


def test_disk_full_leaves_the_index_as_committed(tmp_path, corpus, monkeypatch):
    ix = tmp_path / "ix"
    index(ix, [corpus])
    (corpus / "c.txt").write_text(txt("Nouveau", "Un article de plus."))
    before = verify(IndexStore(ix)).to_dict()
    real_create = DurableFileStorage.create_file

    def full_disk(self, name, *args, **kwargs):
        if not name.startswith("_"):  # segment files: fail like a full disk would, mid-commit
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_create(self, name, *args, **kwargs)

    monkeypatch.setattr(DurableFileStorage, "create_file", full_disk)
    with pytest.raises(WriteError, match="disk full") as caught:
        index(ix, [corpus])
    assert str(IndexStore(ix).current_dir()) in str(caught.value)
    monkeypatch.undo()
    after = verify(IndexStore(ix))
    assert after.ok and after.to_dict()["documents"] == before["documents"] == 7
    assert index(ix, [corpus]).added == 1


def test_index_where_a_file_blocks_the_directory(tmp_path, corpus):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    result = CliRunner().invoke(cli, ["index", str(corpus), "--index", str(blocker / "ix")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"cannot write the index in {blocker / 'ix'}" in result.output


def without_root_powers() -> list[str]:
    """Return a command prefix under which chmod binds this process: none needed unless we are root."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: chmod cannot make a directory read-only for root")
    # Root without CAP_DAC_OVERRIDE (and friends) obeys file modes like any owner.
    prefix = [setpriv, "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]
    probe = subprocess.run([*prefix, "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"running as root and cannot drop capabilities here: {probe.stderr.decode().strip()}")
    return prefix


def test_read_only_index_directory(tmp_path, corpus):
    """A read-only index: a clear error naming it, nothing changed."""
    prefix = without_root_powers()
    ix = tmp_path / "ix"
    index(ix, [corpus])
    (corpus / "c.txt").write_text(txt("Nouveau", "Un article de plus."))
    before = snapshot(ix)
    tree = [ix, *ix.rglob("*")]
    for p in tree:
        os.chmod(p, 0o555 if p.is_dir() else 0o444)
    try:
        result = subprocess.run(
            [*prefix, sys.executable, "-m", "newsearch", "index", str(corpus), "--index", str(ix)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        for p in tree:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
    assert result.returncode == 1, result.stderr
    assert f"cannot write the index in {ix}" in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert snapshot(ix) == before
    assert verify(IndexStore(ix)).ok


def test_stray_files_are_removed_by_the_next_run(tmp_path, corpus):
    ix = tmp_path / "ix"
    index(ix, [corpus])
    gen = IndexStore(ix).current_dir()
    (gen / "_MAIN_9.toc.1700000000.5").write_bytes(b"half a toc")
    (gen / "MAIN.tmp").mkdir()
    (gen / "MAIN.tmp" / "pool").write_bytes(b"x")
    (gen / "MAIN_deadbeef00000000.seg").write_bytes(b"never committed")
    assert len(verify(IndexStore(ix)).stray_files) == 2
    index(ix, [corpus])
    names = {p.name for p in gen.iterdir()}
    assert not {"_MAIN_9.toc.1700000000.5", "MAIN.tmp", "MAIN_deadbeef00000000.seg"} & names
    assert verify(IndexStore(ix)).ok


def test_sources_are_stored_with_the_articles(tmp_path, corpus):
    ix = tmp_path / "ix"
    index(ix, [corpus])
    with IndexStore(ix).open().searcher() as searcher:
        paths = sorted(f["path"] for f in searcher.documents(kind=SOURCE))
    assert paths == sorted(str(p) for p in corpus.rglob("*.*"))


def test_a_refreshed_searcher_sees_updates_and_deletions(tmp_path, corpus):
    """Whoosh-Reloaded 2.7.5's reader reuse kept deleted, replaced and merged-away documents: whoosh_compat opts out."""
    ix = tmp_path / "ix"
    index(ix, [corpus])
    engine = Engine(ix)  # opened before, refreshed per search
    assert engine.search(SearchRequest(q="musée")).total == 1
    (corpus / "b/dossier.json").unlink()
    (corpus / "b/depeches.jsonl").write_text(jsonl(rec(1, "port"), rec(2), rec(3)), encoding="utf-8")
    index(ix, [corpus])
    assert engine.search(SearchRequest(q="musée")).total == 0
    assert engine.search(SearchRequest(q="")).total == 5
    assert [h["id"] for h in engine.search(SearchRequest(q="port")).hits] == ["dep-1"]
    Indexer(IndexStore(ix)).run([corpus], full=False)
    searcher, _ = engine.refresh()
    assert searcher.doc_count() == 5 + 3  # articles and source records, each once
    engine.close()


# --- watching -------------------------------------------------------------------------------------


def wait_for(predicate, seconds: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {seconds} s waiting for {what}")


def article_ids(ix: Path) -> set[str]:
    store = IndexStore(ix)
    if not store.exists():
        return set()
    with store.open().searcher() as searcher:
        return {f["id"] for f in searcher.documents(kind="article")}


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_watch_indexes_new_files_and_stops_cleanly(tmp_path, corpus, stop_signal):
    ix = tmp_path / "ix"
    proc = subprocess.Popen(
        [sys.executable, "-m", "newsearch", "index", "--watch", str(corpus), "--index", str(ix)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: len(article_ids(ix)) == 7, what="the first run")
        (corpus / "b/late.jsonl").write_text(jsonl(rec(42, "port")), encoding="utf-8")
        wait_for(lambda: "dep-42" in article_ids(ix), what="the dropped file to be indexed")
        (corpus / "a/pluie.txt").unlink()
        wait_for(lambda: len(article_ids(ix)) == 7, what="the deleted file's article to go")
        # A file dropped just before the signal is in the final commit.
        (corpus / "b/last.jsonl").write_text(jsonl(rec(43)), encoding="utf-8")
        proc.send_signal(stop_signal)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "stopped after" in err and "(file events)" in err
    assert "dep-43" in article_ids(ix)
    assert "added 1" in out
    assert verify(IndexStore(ix)).ok


def test_watch_polling_fallback(tmp_path, corpus):
    from newsearch.watch import Watcher

    ix = tmp_path / "ix"
    reports = []
    watcher = Watcher(Indexer(IndexStore(ix)), [corpus], interval=0.2, use_events=False, on_report=reports.append)
    thread = threading.Thread(target=watcher.run)
    thread.start()
    try:
        wait_for(lambda: len(article_ids(ix)) == 7, what="the first run")
        (corpus / "new.txt").write_text(txt("Arrivée", "Un article arrivé pendant la veille."))
        wait_for(lambda: len(article_ids(ix)) == 8, what="polling to find the new file")
    finally:
        watcher.stop()
        thread.join(timeout=30)
    assert not thread.is_alive() and watcher.mode == "polling"
    assert reports[0].added == 7 and sum(r.added for r in reports) == 8


def test_commit_is_flushed_before_the_toc_rename_and_the_directory_after(tmp_path, corpus, monkeypatch):
    ix = tmp_path / "ix"
    index(ix, [corpus])
    gen = IndexStore(ix).current_dir()
    before = {p.name for p in gen.iterdir()}
    events = []
    real_fsync, real_rename = os.fsync, os.rename

    def fsync(fd):
        path = os.readlink(f"/proc/self/fd/{fd}")
        events.append(("fsync", "DIR" if os.path.isdir(path) else Path(path).name))
        real_fsync(fd)

    def rename(src, dst, *args, **kwargs):
        events.append(("rename", Path(src).name, Path(dst).name))
        real_rename(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    (corpus / "c.txt").write_text(txt("Nouveau", "Un article de plus."))
    index(ix, [corpus])
    monkeypatch.undo()
    renames = [i for i, e in enumerate(events) if e[0] == "rename" and e[2].startswith("_MAIN_")]
    assert len(renames) == 1, events
    switch = renames[0]
    toc_temp = events[switch][1]
    new_files = {p.name for p in gen.iterdir()} - before
    segments = {name for name in new_files if name.startswith("MAIN_")}
    assert segments, new_files
    flushed_before = {e[1] for e in events[:switch] if e[0] == "fsync"}
    assert segments | {toc_temp} <= flushed_before  # data, then the TOC, are on disk before the switch
    last_file_sync = max(i for i, e in enumerate(events[:switch]) if e[0] == "fsync" and e[1] != "DIR")
    assert ("fsync", "DIR") in events[last_file_sync:switch]  # the new entries are too
    assert events[switch + 1] == ("fsync", "DIR")  # and the rename, at once


# --- big files: streamed, documents built and analysed by worker processes --------------------------


def test_streamed_file_with_documents_built_by_workers(tmp_path, write_files, monkeypatch):

    words = ["marché", "musée", "théâtre", "récolte", "hôpital"]
    records = [rec(i, words[i % 5]) for i in range(90)]
    folder = write_files({"flux.jsonl": jsonl(*records[:60]) + "{cassé\n" + jsonl(*records[60:])})
    serial, pooled = tmp_path / "serial", tmp_path / "pooled"
    Indexer(IndexStore(serial), batch_size=40, workers=0).run([folder])  # one process, the file read whole
    report = Indexer(IndexStore(pooled), batch_size=40, workers=1, tuning=POOLED).run([folder])
    assert counts(report) == (90, 0, 0, 0) and report.documents == 90 and report.commits == 3
    assert report.skipped == [{"path": f"{folder / 'flux.jsonl'}:61", "reason": "malformed JSON (Expecting property name enclosed in double quotes, column 2)"}]  # fmt: skip
    state = verify(IndexStore(pooled))
    assert state.ok, state.problems
    # The same index as one process makes: same matches, same scores, same entities.
    for q in words + ["dépêche numéro", '"ouvre ses portes"']:
        got = Engine(pooled).search(SearchRequest(q=q, limit=100, collapse=False))
        want = Engine(serial).search(SearchRequest(q=q, limit=100, collapse=False))
        assert got.total == want.total > 0
        assert {(h["id"], round(h["score"], 6)) for h in got.hits} == {
            (h["id"], round(h["score"], 6)) for h in want.hits
        }
        assert got.facets == want.facets
    with open(folder / "flux.jsonl", "a", encoding="utf-8") as fh:
        fh.write(jsonl(rec(90), rec(91)))
    report = Indexer(IndexStore(pooled), batch_size=40, workers=1).run([folder])
    assert counts(report) == (2, 0, 0, 90) and report.documents == 92


@pytest.mark.parametrize("batch_size", [1000, 7])
def test_workers_keep_the_first_version_of_a_repeated_id(tmp_path, write_files, monkeypatch, batch_size):

    first = [rec(i) for i in range(30)] + [rec(5, "musée")]  # dep-5 again, later in the same file
    folder = write_files({"a.json": json.dumps([rec(7, "hôpital")]), "b.jsonl": jsonl(*first, rec(40, "récolte"))})
    ix = tmp_path / "ix"
    report = Indexer(IndexStore(ix), batch_size=batch_size, workers=2, tuning=POOLED).run([folder])
    assert report.documents == 31 and report.skipped == []
    assert [w["reason"] for w in report.warnings] == [
        "id 'dep-5' already given at " + f"{folder / 'b.jsonl'}:6: not indexed again"
    ]
    with IndexStore(ix).open().searcher() as searcher:
        bodies = {
            aid: [searcher.stored_fields(n)["body"] for n in searcher.document_numbers(id=aid)]
            for aid in ("dep-5", "dep-7", "dep-40")
        }
    # One copy of each: the first in the file, and the first file (a.json, where dep-7 is an hôpital).
    assert bodies == {
        "dep-5": ["Le marché numéro 5 ouvre ses portes ce matin."],
        "dep-7": ["Le hôpital numéro 7 ouvre ses portes ce matin."],
        "dep-40": ["Le récolte numéro 40 ouvre ses portes ce matin."],
    }
    assert search_ids(ix, "hôpital") == {"dep-7"} and search_ids(ix, "musée") == set()
    assert verify(IndexStore(ix)).ok


def test_an_article_a_worker_cannot_build_costs_that_article_alone(tmp_path, write_files, monkeypatch):

    folder = write_files({"a.jsonl": jsonl(*(rec(i) for i in range(20)))})
    ix = tmp_path / "ix"
    index(ix, [folder])
    (folder / "a.jsonl").write_text(jsonl(*(rec(i, "musée") for i in range(40))), encoding="utf-8")
    build = indexer_module.article_document

    def flaky(article):
        if article.id in ("dep-3", "dep-33"):
            raise ValueError(f"no document for {article.id}")
        return build(article)

    monkeypatch.setattr(indexer_module, "article_document", flaky)
    report = Indexer(IndexStore(ix), workers=2, batch_size=15, tuning=POOLED).run([folder])
    assert sorted(s["path"] for s in report.skipped) == [f"{folder / 'a.jsonl'}:{n}" for n in (34, 4)]
    assert {s["reason"] for s in report.skipped} == {
        "indexer failure: ValueError: no document for dep-3",
        "indexer failure: ValueError: no document for dep-33",
    }
    assert report.documents == 38 and search_ids(ix, "marché") == set()
    assert verify(IndexStore(ix)).ok  # no record names the two articles, and their old versions are gone
    monkeypatch.setattr(indexer_module, "article_document", build)
    report = Indexer(IndexStore(ix), workers=2).run([folder])
    assert report.added == 2 and report.documents == 40 and verify(IndexStore(ix)).ok


def test_a_worker_that_dies_stops_the_run_with_a_clear_error(tmp_path, write_files, monkeypatch):
    from newsearch.errors import WorkerError

    folder = write_files({"a.jsonl": jsonl(*(rec(i) for i in range(40)))})
    build = indexer_module.article_document

    def dying(article):
        if article.id == "dep-30":
            os._exit(9)  # as if killed (out of memory)
        return build(article)

    monkeypatch.setattr(indexer_module, "article_document", dying)
    with pytest.raises(WorkerError, match=r"an indexing worker stopped unexpectedly \(exit code 9\)"):
        Indexer(IndexStore(tmp_path / "ix"), batch_size=20, workers=2, tuning=POOLED).run([folder])
    monkeypatch.setattr(indexer_module, "article_document", build)
    report = Indexer(IndexStore(tmp_path / "ix"), workers=2, tuning=POOLED).run([folder])
    assert report.documents == 40 and verify(IndexStore(tmp_path / "ix")).ok


def test_a_file_unreadable_midway_keeps_what_the_workers_built(tmp_path, write_files, monkeypatch):
    from newsearch.errors import ParseError

    folder = write_files({"flux.jsonl": jsonl(*(rec(i) for i in range(60)))})
    real = indexer_module.iter_jsonl

    def failing(path, errors, *args):
        for n, article in enumerate(real(path, errors, *args)):
            if n == 40:
                raise ParseError(f"{path}: cannot read: Input/output error")
            yield article

    monkeypatch.setattr(indexer_module, "iter_jsonl", failing)
    ix = tmp_path / "ix"
    report = Indexer(IndexStore(ix), workers=2, tuning=POOLED).run([folder])
    assert report.skipped == [{"path": str(folder / "flux.jsonl"), "reason": "cannot read: Input/output error"}]
    with IndexStore(ix).open().searcher() as searcher:
        (record,) = read_records(searcher).values()
        indexed = sorted(f["id"] for f in searcher.documents(kind="article"))
    # The record claims what the index holds: the 40 articles read before the error, built by the workers.
    assert not record.complete and sorted(record.ids) == indexed == sorted(f"dep-{i}" for i in range(40))
    monkeypatch.setattr(indexer_module, "iter_jsonl", real)
    report = Indexer(IndexStore(ix), workers=2).run([folder])
    assert counts(report) == (20, 0, 0, 40) and report.documents == 60 and verify(IndexStore(ix)).ok


def niceness_document(article):
    return {"id": article.id, "kind": "article", "author": os.nice(0)}


def test_workers_yield_the_cpu_to_searches(tmp_path):
    from newsearch.builders import NICE, SegmentBuilders
    from newsearch.parse import Article

    store = IndexStore(tmp_path / "ix")
    gen_dir, ix = store.new_generation()
    with SegmentBuilders(gen_dir, 2, niceness_document) as builders:
        for i in range(3):
            builders.send(Article(id=f"a{i}", title="t", body="b"))
        segments = builders.finish()
    writer = IndexWriter(ix)
    writer.add_segments(segments)
    writer.commit()
    with ix.searcher() as searcher:
        assert NICE > 0 and {f["author"] for f in searcher.all_stored_fields()} == {min(19, os.nice(0) + NICE)}


def test_segments_merge_by_size_tier(tmp_path, write_files, monkeypatch):
    folder = write_files({"a.jsonl": jsonl(*(rec(i) for i in range(100)))})

    def segments(factor):
        ix = tmp_path / f"ix{factor}"
        report = Indexer(IndexStore(ix), batch_size=12, workers=0, tuning=IndexTuning(merge_factor=factor)).run(
            [folder]
        )
        assert report.commits == 9 and report.documents == 100 and verify(IndexStore(ix)).ok
        found = IndexStore(ix).open()._segments()
        assert sum(s.doc_count() for s in found) == 101  # the articles and the file's record
        return sorted(s.doc_count() for s in found)

    # 9 commits of 12 articles: a tier of 16 is not full, so nothing is rewritten (Whoosh's policy merges).
    assert segments(16) == [5] + [12] * 8
    # Three at a time in a tier: three commits of 12 make 36, twice, then 36 + 36 + 12 make 84; the last
    # two commits (12, and 5 with the file's record) wait for a third of their tier.
    assert segments(3) == [5, 12, 84]


def test_streamed_file_skips_a_line_the_parser_fails_on_and_keeps_its_articles_when_unreadable(
    tmp_path, write_files, monkeypatch
):
    from newsearch import parse

    original = parse.article_from_record

    def buggy(record, path, where, *args):
        if record.get("id") == "dep-2":
            raise KeyError("oops")
        return original(record, path, where, *args)

    monkeypatch.setattr(parse, "article_from_record", buggy)
    folder = write_files({"flux.jsonl": jsonl(rec(1), rec(2), rec(3))})
    ix = tmp_path / "ix"
    report = index(ix, [folder], tuning=STREAMED)
    assert counts(report) == (2, 0, 0, 0)
    assert report.skipped == [{"path": f"{folder / 'flux.jsonl'}:2", "reason": "parser failure: KeyError: 'oops'"}]
    (folder / "flux.jsonl").write_text("{cassé\n{cassé aussi\n", encoding="utf-8")
    report = index(ix, [folder], tuning=STREAMED)
    assert counts(report) == (0, 0, 0, 2) and report.documents == 2
    assert [s["reason"] for s in report.skipped] == ["no readable article (malformed JSON (Expecting property name enclosed in double quotes, column 2))"]  # fmt: skip
    assert verify(IndexStore(ix)).ok


def test_progress_counts_bytes_so_that_one_big_jsonl_file_moves(tmp_path):
    import base64
    import gzip

    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "a.txt").write_text(txt("Le marché rouvre", "Les étals sont de retour place du marché."))
    # Any .jsonl.gz is read line by line; an unknown field of random bytes makes it big without costing indexing.
    with gzip.open(folder / "b.jsonl.gz", "wt", encoding="utf-8") as fh:
        for i in range(120):
            fh.write(json.dumps({**rec(i), "padding": base64.b64encode(os.urandom(30_000)).decode()}) + "\n")
    sizes = {name: (folder / name).stat().st_size for name in ("a.txt", "b.jsonl.gz")}
    events = []
    Indexer(IndexStore(tmp_path / "ix"), progress=lambda event, **info: events.append((event, info))).run([folder])

    done = [info["done"] for event, info in events if event == "bytes"]
    assert {info["total"] for event, info in events if event == "bytes"} == {sum(sizes.values())}
    assert done == sorted(done) and done[0] == 0 and done[-1] == sum(sizes.values())
    inside_big_file = [n for n in done if sizes["a.txt"] < n < sum(sizes.values())]
    assert len(set(inside_big_file)) >= 3  # the bar moves while the big file is read, not only once it ends


def _crue_page(url: str) -> str:
    paragraph = "<p>Les habitants du Gard découvrent l'ampleur des dégâts après la crue, selon la préfecture du département.</p>"
    return (
        f'<html><head><link rel="canonical" href="{url}"><meta property="og:title" content="Crue du Gardon"></head>'
        f"<body><article><h1>Crue du Gardon</h1>{paragraph * 3}</article></body></html>"
    )


@pytest.mark.parametrize("given_id", [None, "dep-7"], ids=["record without id", "record with an id"])
@pytest.mark.parametrize("html_first", [True, False], ids=["HTML first", "JSONL first"])
def test_an_article_from_its_html_page_and_a_jsonl_record_is_one_article(tmp_path, html_first, given_id):
    folder = tmp_path / "articles"
    folder.mkdir()
    page, records = ("a.html", "b.jsonl") if html_first else ("b.html", "a.jsonl")
    (folder / page).write_text(_crue_page("https://Courrier.example/crue.html/?utm_source=rss"))
    record = {
        "title": "Crue du Gardon (dépêche)",
        "body": "La crue a tout emporté.",
        "url": "https://courrier.example/crue.html",
    }
    if given_id:
        record["id"] = given_id  # a record's own id is kept: the HTML page takes it
    (folder / records).write_text(jsonl(record))
    store = IndexStore(tmp_path / "ix")
    report = Indexer(store).run([folder])
    first, second = sorted(str(folder / name) for name in (page, records))
    where = {first: first, second: second}
    where[str(folder / records)] += ":1"  # a JSONL source is named by its line
    assert report.documents == 1
    assert [(c["shown"], c["sources"]) for c in report.conflicts] == [(where[first], [where[first], where[second]])]
    engine = Engine(tmp_path / "ix")
    (hit,) = engine.search(SearchRequest(q="crue")).hits
    assert hit["title"] == ("Crue du Gardon" if html_first else "Crue du Gardon (dépêche)")
    if given_id:
        assert hit["id"] == given_id == report.conflicts[0]["id"]
    Path(first).unlink()  # the source shown goes: the other one's version comes back
    Indexer(store).run([folder])
    engine.close()
    engine = Engine(tmp_path / "ix")
    (hit,) = engine.search(SearchRequest(q="crue")).hits
    assert hit["title"] == ("Crue du Gardon (dépêche)" if html_first else "Crue du Gardon")
    engine.close()
    assert verify(store).ok
