"""Index article files incrementally: new, changed and vanished files only, committed in batches.

Every source file has a record in the index (a document of kind "source"): its size, mtime and sha256,
and for each article it yields a hash of the indexed fields. Records and articles commit together, and a
commit only happens where they agree (a file half done gets an incomplete record naming what is in the
index), so a job killed at any moment leaves a consistent index, and the next run finishes the work.
"""

from __future__ import annotations

import errno
import hashlib
import itertools
import json
import multiprocessing
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import ClassVar

from whoosh.reading import SegmentReader

from .analysis import index_positions, text_words
from .builders import SegmentBuilders
from .clusters import CLUSTERS_FILE, build_clusters, save_clusters
from .dates import day_ordinal, parse_iso, to_utc_timestamp
from .dedup import minhash, pack
from .entities import extract_entities
from .errors import IndexDamagedError, IndexLockedError, NewsearchError, ParseError
from .facets import FacetCache
from .parse import (
    DEFAULT_LIMITS,
    HTML_SUFFIXES,
    MAX_NOTES,
    Article,
    Limits,
    Notes,
    canonical_url,
    environment_error,
    file_digest,
    file_kind,
    iter_jsonl,
    parse_bytes,
    probe_html,
    read_bytes,
    streamable,
    supported,
    tag_key,
    url_id,
)
from .rerank import pack_terms
from .schema import ARTICLE, ENTITY_FIELDS, INDEX_VERSION, PASSAGE_COLUMN, SEARCH_FIELDS, SOURCE, Analysed, build_schema
from .store import IndexStore, IndexWriter, open_whoosh, write_error
from .tuning import DEFAULT_INDEX_TUNING, IndexTuning

Progress = Callable[..., None]

DEFAULT_BATCH = 5000
DEFAULT_LOCK_TIMEOUT = 180.0
RECORD_VERSION = 3
# Which version of an article id given by several sources the index shows: the source first in path order
# (byte order of the absolute paths), and within one file its first record. Stable whatever order the files
# change in, and the same for a full rebuild.
SOURCE_RULE = "first path in sorted order, then first line"


def _count(n: int, noun: str) -> str:
    """Return "1 file", "2 files"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


@dataclass
class IndexReport:
    """What one indexing run did (or, with dry_run, would do), counted in articles against the live index."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: list[dict] = field(default_factory=list)
    # What was read differently from the file (a date left out, a body cut, bad bytes replaced).
    warnings: list[dict] = field(default_factory=list)
    # Article ids given by several sources: {"id", "shown", "sources"} (SOURCE_RULE).
    conflicts: list[dict] = field(default_factory=list)
    documents: int = 0
    files: int = 0
    dry_run: bool = False
    seconds: float = 0.0
    commits: int = 0
    resumed: bool = False

    # What `newsearch index --json` prints, in this order: the rest is for the human summary.
    JSON_FIELDS: ClassVar = (
        "added",
        "updated",
        "deleted",
        "unchanged",
        "skipped",
        "warnings",
        "conflicts",
        "documents",
    )

    @property
    def changed(self) -> bool:
        """Tell whether the run changed (or would change) any article."""
        return bool(self.added or self.updated or self.deleted)

    def to_dict(self) -> dict:
        """Return the report as the JSON object `newsearch index --json` prints."""
        return {name: getattr(self, name) for name in self.JSON_FIELDS}

    def summary(self) -> str:
        """Return the one-line human summary."""
        verb = "would index" if self.dry_run else "indexed"
        return (
            f"{verb} {_count(self.files, 'file')}: added {self.added}, updated {self.updated}, "
            f"deleted {self.deleted}, unchanged {self.unchanged}, skipped {len(self.skipped)}, "
            f"warnings {len(self.warnings)}, conflicts {len(self.conflicts)}; "
            f"{_count(self.documents, 'document')} in the index ({self.seconds:.1f} s)"
        )


@dataclass
class SourceRecord:
    """What the index holds of one source file: its identity and, per article id, the hash of what was indexed."""

    path: str
    size: int
    mtime: int
    sha256: str
    ids: dict[str, str | None]
    # False while a large file is half indexed: ids then lists every article of it that the index holds.
    complete: bool = True
    # Where in the file each id was read: ":12" (a JSONL line), "[3]" (a JSON list item), "" (the whole file).
    at: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_stored(cls, path: str, data: dict) -> SourceRecord:
        """Read a record from its stored form (version 1 records had no hashes, versions 1–2 no places)."""
        ids = list(data.get("ids", []))
        hashes = data.get("hashes") or [None] * len(ids)
        return cls(
            path=path,
            size=data.get("size", -1),
            mtime=data.get("mtime", -1),
            sha256=data.get("sha256", ""),
            ids=dict(zip(ids, hashes, strict=False)),
            complete=data.get("complete", True),
            at=dict(zip(ids, data.get("at") or [], strict=False)),
        )

    def stored(self) -> dict:
        """Return the record as stored in the index."""
        return {
            "v": RECORD_VERSION,
            "size": self.size,
            "mtime": self.mtime,
            "sha256": self.sha256,
            "ids": list(self.ids),
            "hashes": list(self.ids.values()),
            "at": [self.at.get(aid, "") for aid in self.ids],
            "complete": self.complete,
        }

    def where(self, aid: str) -> str:
        """Return where this source gives aid: "path:line", "path[item]" or the path."""
        return self.path + self.at.get(aid, "")


ENTITY_CHARS = 2000
_FIELDS = build_schema()


def merge_tiers(writer, segments: list, tuning: IndexTuning = DEFAULT_INDEX_TUNING) -> list:
    """Whoosh merge policy: merge the segments of a size tier into the writer's once the tier is full.

    Whoosh's own policy (MERGE_SMALL) merges every segment up to a Fibonacci bound: with segments of a few
    thousand documents it rewrites the whole index every few commits (at 10× most of the job's time).
    Merging drops deleted documents, so a segment whose articles were mostly replaced falls to a lower tier.
    """
    tiers: dict[int, list] = {}
    for segment in segments:
        tiers.setdefault(len(str(segment.doc_count())), []).append(segment)
    merged = set()
    for tier, members in tiers.items():
        factor = (
            tuning.merge_factor_tiny if tier == 1 else tuning.merge_factor if tier <= 3 else tuning.merge_factor_big
        )
        if len(members) >= factor:
            for segment in members:
                reader = SegmentReader(writer.storage, writer.schema, segment)
                writer.add_reader(reader)
                reader.close()
                merged.add(id(segment))
    return [s for s in segments if id(s) not in merged]


# Encoded position lists of one position: four words in five occur once in an article.
_ONE_POSITION: dict[int, bytes] = {}


def analysed(field_name: str, text: str, words: list[str] | None = None) -> Analysed:
    """Return the postings Whoosh makes of one French text field's value, computed here (in a worker) once.

    words: analysis.text_words(text), if already found.
    """
    fmt = _FIELDS[field_name].format
    boost = fmt.field_boost
    # What Whoosh's Positions.word_values yields, from positions replayed per distinct word (index_positions).
    postings = []
    for term, poslist in index_positions(text, words).items():
        if len(poslist) == 1:
            value = _ONE_POSITION.get(poslist[0])
            if value is None:
                value = _ONE_POSITION[poslist[0]] = fmt.encode(poslist)
            postings.append((term.encode("utf-8"), 1, boost, value))
        else:
            postings.append((term.encode("utf-8"), len(poslist), len(poslist) * boost, fmt.encode(poslist)))
    return Analysed(postings)


def article_document(article: Article) -> dict:
    """Return the Whoosh fields of an article."""
    doc = {
        "id": article.id,
        "kind": ARTICLE,
        "title": article.title,
        "summary": article.summary,
        "body": article.body,
        "tags": " ; ".join(article.tags),
        "tag": ",".join(tag_key(t) for t in article.tags),
        "tagform": ",".join(article.tags),
        "taglist": list(article.tags),
        "url": article.url,
        "path": article.path,
        "section": article.section,
        "author": article.author,
        "date": article.date,
        "urlkey": canonical_url(article.url) if article.url else "",
    }
    moment = parse_iso(article.date)
    if moment is not None:
        doc["ts"] = to_utc_timestamp(moment)
        doc["day"] = day_ordinal(moment)
    # The opening names the story's people, places and organisations; the full text would double the cost.
    found = extract_entities(article.title, (article.summary + "\n\n" + article.body)[:ENTITY_CHARS])
    for field_name, key in ENTITY_FIELDS.items():
        if found.get(key):
            doc[field_name] = ",".join(name.replace(",", " ") for name in found[key])
    if any(found.values()):
        doc["entities"] = {key: names for key, names in found.items() if names}
    signature = minhash(article.title + "\n" + article.body)
    if signature:
        doc["minhash"] = pack(signature)
    # The body's words are found once, for its postings and for the passage column.
    body_words = text_words(article.body)
    doc[PASSAGE_COLUMN] = pack_terms(article.title, article.body, body_words)
    doc = {k: v for k, v in doc.items() if v not in ("", None)}
    # Analysis is most of Whoosh's indexing work: done here, it runs in the worker processes too.
    for name in SEARCH_FIELDS:
        if name in doc:
            if _FIELDS[name].stored:
                doc["_stored_" + name] = doc[name]
            doc[name] = analysed(name, doc[name], body_words if name == "body" else None)
    return doc


def document_hash(doc: dict) -> str:
    """Return a short hash of an article's indexed fields: equal hashes mean nothing to rewrite."""
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def read_records(searcher) -> dict[str, SourceRecord]:
    """Return the source-file records of an index by path."""
    return {
        fields["path"]: SourceRecord.from_stored(fields["path"], fields.get("source") or {})
        for fields in searcher.documents(kind=SOURCE)
    }


@dataclass
class Walk:
    """What a walk of the paths found: files to read, what was skipped and why, and what must not be deleted."""

    files: list[Path] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    roots: list[Path] = field(default_factory=list)
    # Files and folders seen but not read (permissions, I/O errors, odd files): their articles stay.
    kept: list[Path] = field(default_factory=list)

    def skip(self, path, reason: str, keep: bool = True) -> None:
        """Report path as skipped; unless keep is False, the articles it gave stay in the index."""
        self.skipped.append({"path": str(path), "reason": reason})
        if keep:
            self.kept.append(Path(path))


def walk(paths: Iterable, follow_symlinks: bool = False) -> Walk:
    """Find the supported regular files under paths (sorted); name every file or folder that is not read."""
    # Devices, FIFOs and sockets are skipped, symlinks leading outside the paths too (unless follow_symlinks), each
    # folder is walked once (symlink loops), and a folder that cannot be listed is reported, not ignored.
    found = Walk()
    seen: set[tuple[int, int]] = set()  # (device, inode) of every file and folder taken
    real_roots = []
    for raw in paths:
        path = Path(raw).absolute()
        if path.exists():
            found.roots.append(path)
            real_roots.append(Path(os.path.realpath(path)))
        else:
            found.skip(raw, "no such file or directory", keep=False)

    def inside(target: str) -> bool:
        real = Path(target)
        return any(real == root or root in real.parents for root in real_roots)

    def visit(path: Path, named: bool) -> None:
        try:
            info = path.stat()
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                found.skip(path, "broken symlink (its target is gone)", keep=False)
            elif named or supported(path):
                found.skip(path, f"cannot read: {exc.strerror}")
            return
        if stat.S_ISDIR(info.st_mode):
            if (info.st_dev, info.st_ino) in seen:
                if not named:  # a path given twice, or inside another one given, is no odd file
                    found.skip(path, "folder already walked (a symlink loop or a second link to it)", keep=False)
                return
            seen.add((info.st_dev, info.st_ino))
            try:
                with os.scandir(path) as entries:
                    names = sorted(e.name for e in entries)
            except OSError as exc:
                found.skip(path, f"cannot read folder: {exc.strerror} (its files keep their articles)")
                return
            for name in names:
                if not name.startswith("."):
                    step(path / name)
            return
        if not (named or supported(path)):
            return
        if not supported(path):
            found.skip(path, "unsupported file type (expected .txt, .html, .htm, .json, .jsonl)", keep=False)
        elif not stat.S_ISREG(info.st_mode):
            found.skip(path, f"not a regular file ({file_kind(info.st_mode)})")
        elif (info.st_dev, info.st_ino) in seen:
            if not named:
                found.skip(path, "same file as another path already taken (a link to it)", keep=False)
        else:
            seen.add((info.st_dev, info.st_ino))
            found.files.append(path)

    def step(path: Path) -> None:
        if path.is_symlink() and not follow_symlinks:
            target = os.path.realpath(path)
            if not inside(target):
                if path.is_dir() or supported(path):
                    reason = f"symlink to {target}, outside the paths given (--follow-symlinks reads it)"
                    found.skip(path, reason, keep=False)
                return
        visit(path, named=False)

    for path in found.roots:
        visit(path, named=True)
    return found


def _under(path: str, roots: list[Path]) -> bool:
    p = Path(path)
    return any(p == root or root in p.parents for root in roots)


class Indexer:
    """Brings an index up to date with a set of files and folders."""

    def __init__(
        self,
        store: IndexStore,
        progress: Progress | None = None,
        batch_size: int = DEFAULT_BATCH,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
        limitmb: int = 256,
        workers: int | None = None,
        limits: Limits = DEFAULT_LIMITS,
        follow_symlinks: bool = False,
        tuning: IndexTuning = DEFAULT_INDEX_TUNING,
    ):
        self.store = store
        self.limits = limits
        self.tuning = tuning
        self.follow_symlinks = follow_symlinks
        # As many workers as cores: this process mostly waits for them, and writes between their chunks.
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        self.progress = progress or (lambda *args, **kwargs: None)
        self.batch_size = batch_size
        self.lock_timeout = lock_timeout
        self.limitmb = limitmb

    def run(self, paths, full: bool = False, dry_run: bool = False) -> IndexReport:
        """Index paths; with full, rebuild into a new generation and switch to it when done."""
        started = time.monotonic()
        if dry_run:
            # Only reads: no lock, so that a dry run creates nothing, not even the index directory.
            report = self._run(paths, full, dry_run=True)
        else:
            with self.store.lock(self.lock_timeout):
                report = self._run(paths, full, dry_run=False)
                if self.store.exists() and (report.changed or not (self.store.current_dir() / CLUSTERS_FILE).exists()):
                    self.progress("clusters")
                    gen_dir = self.store.current_dir()
                    try:
                        save_clusters(gen_dir, build_clusters(self.store.open()))
                    except OSError:
                        raise  # the index directory itself cannot be written: the caller reports it
                    except Exception as exc:  # the articles are committed: a clustering bug must not stop every run
                        reason = f"wire-copy clusters not updated ({type(exc).__name__}: {exc})"
                        report.warnings.append({"path": str(gen_dir), "reason": reason})
                    # The facet cache is built here, once per commit, and saved: the first search after a reindex
                    # then opens the index in milliseconds instead of building it (3 s on the shared corpus).
                    self.progress("caches")
                    try:
                        with self.store.open().searcher() as searcher:
                            FacetCache(searcher, gen_dir)
                    except OSError:
                        raise
                    except Exception as exc:  # searchers build it themselves when it is missing
                        reason = f"facet cache not prepared ({type(exc).__name__}: {exc})"
                        report.warnings.append({"path": str(gen_dir), "reason": reason})
        report.seconds = time.monotonic() - started
        return report

    # -- choosing the generation to write ------------------------------------------------------

    def _resume_or_create(self, report: IndexReport):
        """Return (dir, index) of the newest usable unfinished generation (a killed rebuild), else of a new one."""
        chosen = None
        for gen_dir in reversed(self.store.unfinished_generations()):
            if chosen is None and self.store.version_of(gen_dir) == INDEX_VERSION:
                try:
                    ix = open_whoosh(gen_dir)
                    with ix.searcher() as searcher:
                        read_records(searcher)
                    self.store.clean_stray_files(gen_dir)
                    chosen = (gen_dir, ix)
                    report.resumed = True
                    self.progress("resume", generation=gen_dir.name)
                    continue
                except Exception:  # an unopenable leftover is rebuilt, not repaired
                    pass
            self.store.remove_generation(gen_dir)
        return chosen or self.store.new_generation()

    def _target(self, full: bool, dry_run: bool, report: IndexReport):
        """Return (generation dir, Whoosh index, switch at the end) for this run; (None, None, False) for nothing."""
        live = self.store.exists()
        if live and not full:
            gen_dir = self.store.current_dir()
            self.store.check_version(gen_dir)
            if not dry_run:
                self.store.clean_stray_files(gen_dir)
            return gen_dir, self.store.open(), False
        if dry_run:
            return None, None, False
        gen_dir, ix = self._resume_or_create(report)
        if not live:
            # No reader to protect: go live at once, so each batch is visible and any later run resumes it.
            self.store.switch_to(gen_dir)
            return gen_dir, ix, False
        return gen_dir, ix, True

    def _baseline(self, full: bool) -> dict[str, str | None]:
        """Return the live index's articles (id: hash), which the report counts against."""
        if not self.store.exists():
            return {}
        try:
            ix = self.store.open(check_version=not full)
            with ix.searcher() as searcher:
                records = read_records(searcher)
        except Exception:  # an old or damaged index being rebuilt: count everything as added
            return {}
        return shown_hashes(records)

    # -- the run -----------------------------------------------------------------------------

    def _run(self, paths, full: bool, dry_run: bool) -> IndexReport:
        report = IndexReport(dry_run=dry_run)
        found = walk(paths, self.follow_symlinks)
        report.skipped = list(found.skipped)
        report.files = len(found.files)
        # Before anything is written, even a new generation: a broken install must stop the run, not skip
        # every file. Every HTML file will be read when there are no records to compare it with.
        fresh = full or not self.store.exists()
        if fresh:
            check_environment(html=any(_is_html(p) for p in found.files))
        gen_dir, ix, switch_at_end = self._target(full, dry_run, report)
        records: dict[str, SourceRecord] = {}
        known: set[str] = set()
        if ix is not None:
            try:
                with ix.searcher() as searcher:
                    records = read_records(searcher)
                    # Ids in the lexicon may belong to deleted documents: update_document is then merely slower.
                    known = {t.decode("utf-8") for t in searcher.lexicon("id")}
            except Exception as exc:  # Whoosh reports damage as assorted raw exceptions
                raise IndexDamagedError(
                    f"the index in {gen_dir} cannot be read ({type(exc).__name__}: {exc}); "
                    "check it with `newsearch verify`, rebuild it with `newsearch index --full PATH…`"
                ) from None
        if not fresh:
            check_environment(html=any(_needs_reading(p, records.get(str(p))) for p in found.files if _is_html(p)))
        baseline = self._baseline(full) if (full or ix is None) else shown_hashes(records)
        job = _Job(self, ix, dry_run, known, gen_dir)
        try:
            claims, owners = self._update(job, found, records, full, report)
            job.commit()
            if switch_at_end:
                self.store.switch_to(gen_dir)
                self.progress("switch", generation=gen_dir.name)
        except OSError as exc:
            job.cancel()
            raise write_error(gen_dir or self.store.root, exc) from None
        except BaseException:
            job.cancel()
            raise
        report.commits = job.commits
        final = shown_hashes(claims)
        for aid, h in final.items():
            if aid not in baseline:
                report.added += 1
            elif baseline[aid] is None or baseline[aid] != h:
                report.updated += 1
            else:
                report.unchanged += 1
        report.deleted = sum(1 for aid in baseline if aid not in final)
        report.conflicts = [
            {
                "id": aid,
                "shown": claims[min(paths)].where(aid),
                "sources": [claims[p].where(aid) for p in sorted(paths)],
            }
            for aid, paths in sorted(owners.items())
            if len(paths) > 1
        ][:MAX_NOTES]
        if ix is None or dry_run:
            report.documents = len(final)
        else:
            with ix.searcher() as searcher:
                report.documents = article_count(searcher)
        return report

    def _update(self, job, found: Walk, records, full, report) -> tuple[dict[str, SourceRecord], dict[str, set]]:
        """Write what changed; return the records as they now stand, and the paths that give each article id."""
        # An id given by several sources is shown from the first of them in path order (and, within a file, from its
        # first line): SOURCE_RULE. Every source's record names the id, so that when the one shown goes away, the next
        # in line is read again and shown instead.
        claims = dict(records)
        owners: dict[str, set[str]] = {}
        for path, rec in claims.items():
            for aid in rec.ids:
                owners.setdefault(aid, set()).add(path)
        shown = {aid: min(paths) for aid, paths in owners.items()}  # whose version of an id the index holds
        redo: set[str] = set()  # sources that lost an article to another's removal: read again this run

        def claim(rec: SourceRecord) -> None:
            old = claims.get(rec.path)
            for aid in old.ids if old else ():
                owners.get(aid, set()).discard(rec.path)
            for aid in rec.ids:
                owners.setdefault(aid, set()).add(rec.path)
            claims[rec.path] = rec

        def release(path: str, aids) -> None:
            """Drop path's claim on aids: an article path showed is deleted, its other sources are read again."""
            lost: dict[str, set[str]] = {}
            for aid in aids:
                paths = owners.get(aid, set())
                paths.discard(path)
                if shown.get(aid) == path or not paths:
                    job.delete_article(aid)
                    shown.pop(aid, None)
                    for other in paths:
                        lost.setdefault(other, set()).add(aid)
            for other, aids_lost in sorted(lost.items()):
                read_again(other, aids_lost)

        def read_again(path: str, aids) -> None:
            """Have path parsed again, its record no longer naming aids (true at every commit)."""
            rec = claims[path]
            fixed = replace(rec, ids={aid: h for aid, h in rec.ids.items() if aid not in aids}, complete=False)
            job.write_record(fixed)
            claim(fixed)
            redo.add(path)

        # SOURCE_LINK: an article known by its URL alone (an HTML page, a record without id) takes the id given to a
        # record of the same canonical URL, so that both are one article under SOURCE_RULE.
        given_ids: dict[str, str] = {}  # canonical URL -> the id a record of it gave, this run

        def link(article: Article, key: str) -> Article:
            if not article.url:
                return article
            url, derived = canonical_url(article.url), url_id(article.url)
            if article.id != derived:
                given_ids[url] = article.id
                # A page read before under the URL's own id is read again, to take this one.
                for other in sorted(owners.get(derived, set()) - {key}):
                    owners[derived].discard(other)
                    if shown.get(derived) == other:
                        job.delete_article(derived)
                        shown.pop(derived, None)
                    read_again(other, {derived})
                return article
            given = given_ids.get(url) or job.given_id(url, derived)
            return replace(article, id=given) if given else article

        kept = found.kept
        present = {str(p) for p in found.files}
        # Files known to be gone first (from anywhere, for a full rebuild), so that an id they showed is shown
        # from its next source when that source is read below. Unreadable ones are not gone: they keep theirs.
        for key in sorted(claims):
            if key in present or _under(key, kept) or not (full or _under(key, found.roots)):
                continue
            rec = claims.pop(key)
            release(key, rec.ids)
            job.delete_record(key)
            job.checkpoint()
        queue = list(found.files)
        sizes = [_size(path) for path in queue]
        # Progress counts bytes of the files (as stored, compressed or not), so that one big JSONL file moves too.
        total, before = sum(sizes), 0
        for i, (path, size) in enumerate(zip(queue, sizes, strict=True)):
            self.progress("file", path=str(path), done=i, total=len(queue))
            self.progress("bytes", done=before, total=total)

            def on_read(n: int, before=before, size=size) -> None:
                self.progress("bytes", done=before + min(n, size), total=total)

            self._index_file(job, path, claims, owners, shown, claim, release, report, link, on_read)
            redo.discard(str(path))
            before += size
        # Sources outside the paths given that lost an article their record still gives: read them too.
        for key in sorted(redo):
            if Path(key).is_file():
                self._index_file(job, Path(key), claims, owners, shown, claim, release, report, link)
        unread = {key for key in present if key not in claims}
        if full and (unread or kept):
            # What a rebuild could not read (a file or folder skipped whole, having no record yet) keeps its
            # articles, as a plain run would.
            self._carry_over(job, lambda path: path in unread or _under(path, kept), claims, shown, claim, report)
        self.progress("file", path="", done=len(queue), total=len(queue))
        self.progress("bytes", done=total, total=total)
        return claims, owners

    def _carry_over(self, job, wanted: Callable[[str], bool], claims, shown, claim, report) -> None:
        """For a full rebuild: copy from the live index the records and articles of sources that cannot be read."""
        # Without this a rebuild would drop the articles of an unreadable folder when it is switched in.
        if not self.store.exists() or self.store.current_dir() == job.gen_dir:
            return
        try:
            searcher = self.store.open(check_version=False).searcher()
            records = read_records(searcher)
        except Exception as exc:  # Whoosh reports damage as assorted raw exceptions
            reason = f"the live index cannot be read ({type(exc).__name__}): the files not read lose their articles"
            report.warnings.append({"path": str(self.store.root), "reason": reason})
            return
        with searcher:
            for path, rec in sorted(records.items()):
                if path in claims or not wanted(path):
                    continue
                copied = {}
                for aid, digest_doc in rec.ids.items():
                    if shown.get(aid, path) != path:
                        continue  # written in this run from a source that could be read
                    fields = searcher.document(id=aid, kind=ARTICLE)
                    if fields is None or fields.get("path") != path:
                        continue  # shown from another source: that one is read (or carried) for it
                    job.write_article(stored_article(fields))
                    shown[aid] = path
                    copied[aid] = digest_doc
                # A record that lost ids is left incomplete, so that they are looked for again once readable.
                carried = replace(rec, ids=copied, complete=rec.complete and copied == rec.ids)
                job.write_record(carried)
                claim(carried)
                job.checkpoint()

    def _index_file(self, job, path: Path, claims, owners, shown, claim, release, report, link, on_read=None) -> None:
        """Bring one source file's articles and record up to date; whatever fails costs this file at most."""
        key = str(path)
        rec = claims.get(key)
        try:
            info = path.stat()
        except OSError as exc:
            report.skipped.append({"path": key, "reason": f"cannot read: {exc.strerror}"})
            return
        if rec and rec.complete and rec.size == info.st_size and rec.mtime == info.st_mtime_ns:
            return
        big = streamable(path, self.tuning.stream_min_bytes)
        try:
            if big:
                data, digest = None, file_digest(path, self.limits)
            else:
                data = read_bytes(path, self.limits)
                digest = hashlib.sha256(data).hexdigest()
        except ParseError as exc:
            report.skipped.append({"path": key, "reason": _reason(exc, key)})
            return
        if rec and rec.complete and rec.sha256 == digest:
            # Touched, not changed: remember the new mtime so that the next run need not read it again.
            job.write_record(replace(rec, size=info.st_size, mtime=info.st_mtime_ns))
            claim(replace(rec, size=info.st_size, mtime=info.st_mtime_ns))
            job.checkpoint()
            return
        errors, warnings = Notes(), Notes()
        if big:
            articles = iter_jsonl(path, errors, warnings, self.limits, on_read)
        else:
            try:
                parsed = parse_bytes(data, key, self.limits)
            except ParseError as exc:
                report.skipped.append({"path": key, "reason": _reason(exc, key)})
                return
            except Exception as exc:  # a parser bug must not cost the batch: skip and say why
                broken = environment_error(exc)
                if broken:
                    raise broken from None
                report.skipped.append({"path": key, "reason": f"parser failure: {type(exc).__name__}: {exc}"})
                return
            articles, errors, warnings = iter(parsed.articles), parsed.errors, parsed.warnings
            del data
        old = rec.ids if rec else {}
        now = dict(old)  # what the index holds of this file, kept true at every commit
        hashes: dict[str, str] = {}  # every article of the file: id -> hash
        first_at: dict[str, str] = {}
        failures = 0

        def places(ids) -> dict[str, str]:
            # Read this run, else as the record said (an article of a half-indexed file not read again yet).
            old_at = rec.at if rec else {}
            return {aid: first_at[aid][len(key) :] if aid in first_at else old_at.get(aid, "") for aid in ids}

        def todo():
            # Hashing the parsed article (not its document) spares unchanged articles the costly entity,
            # MinHash and analysis work; what the analysis makes of it is covered by the index version.
            for article in map(lambda article: link(article, key), articles):
                where = article.where or key
                if article.id in hashes:
                    warnings.add(where, f"id {article.id!r} already given at {first_at[article.id]}: not indexed again")
                    continue
                digest_doc = document_hash(article.to_dict())
                hashes[article.id] = digest_doc
                first_at[article.id] = where
                others = owners.get(article.id, set()) - {key}
                if others and min(others) < key:
                    continue  # an earlier source shows this id: a conflict, reported at the end of the run
                if old.get(article.id) != digest_doc or shown.get(article.id) != key:
                    yield article, digest_doc

        try:
            # Enough articles to keep worker processes busy: they build documents and segments while this
            # process reads on.
            ahead, pairs = _peek(todo(), self.tuning.pool_min_articles)
            with job.building(ahead >= self.tuning.pool_min_articles):
                for article, digest_doc in pairs:
                    try:
                        job.write_article(article)
                    except Exception as exc:  # a bug building one article costs that article
                        if isinstance(exc, (OSError, NewsearchError)) or environment_error(exc) or job.builders:
                            raise
                        errors.add(article.where or key, f"indexer failure: {type(exc).__name__}: {exc}")
                        hashes.pop(article.id, None)
                        failures += 1
                        continue
                    shown[article.id] = key
                    now[article.id] = digest_doc
                    if job.due():
                        partial = SourceRecord(
                            key, info.st_size, info.st_mtime_ns, digest, dict(now), complete=False, at=places(now)
                        )
                        job.write_record(partial)
                        claim(partial)
                        job.commit()
        except Exception as exc:
            # A streamed file fails this late (unreadable midway, no readable line, a reader bug): skip it
            # and say why, with a record of what of it was written, so the index stays consistent.
            broken = environment_error(exc)
            if broken:
                raise broken from None
            if isinstance(exc, (OSError, NewsearchError)) and not isinstance(exc, ParseError):
                raise
            reason = _reason(exc, key) if isinstance(exc, ParseError) else f"indexer failure: {type(exc).__name__}"
            report.skipped.append({"path": key, "reason": reason})
            if now != old:
                partial = SourceRecord(
                    key, info.st_size, info.st_mtime_ns, digest, dict(now), complete=False, at=places(now)
                )
                job.write_record(partial)
                claim(partial)
            job.checkpoint()
            return
        for aid, why in job.take_failed().items():
            errors.add(first_at.get(aid, key), f"indexer failure: {why}")
            hashes.pop(aid, None)
            now.pop(aid, None)
            failures += 1
        _notes(report.skipped, errors, key)
        _notes(report.warnings, warnings, key)
        # A file with articles the indexer failed on stays incomplete: the next run tries them again.
        final = SourceRecord(
            key, info.st_size, info.st_mtime_ns, digest, hashes, complete=not failures, at=places(hashes)
        )
        release(key, [aid for aid in {**old, **now} if aid not in final.ids])
        job.write_record(final)
        claim(final)
        job.checkpoint()


def stored_article(fields: dict) -> Article:
    """Rebuild an Article from the stored fields of its document."""
    return Article(
        id=fields["id"],
        title=fields.get("title", ""),
        body=fields.get("body", ""),
        summary=fields.get("summary", ""),
        url=fields.get("url", ""),
        date=fields.get("date", ""),
        tags=list(fields.get("taglist") or []),
        section=fields.get("section", ""),
        author=fields.get("author", ""),
        path=fields.get("path", ""),
    )


def _notes(into: list[dict], notes: Notes, path: str) -> None:
    """Append a file's notes to a report list, with one line for those past MAX_NOTES."""
    into.extend({"path": where, "reason": reason} for where, reason in notes)
    if getattr(notes, "dropped", 0):
        into.append({"path": path, "reason": f"and {notes.dropped} more like these, not listed"})


def shown_hashes(records: dict[str, SourceRecord]) -> dict[str, str | None]:
    """Return id: hash of the version the index shows of each article (SOURCE_RULE: the first path wins)."""
    out: dict[str, str | None] = {}
    for path in sorted(records, reverse=True):
        out.update(records[path].ids)
    return out


def _is_html(path: Path) -> bool:
    return path.name.lower().endswith(HTML_SUFFIXES)


def _needs_reading(path: Path, rec: SourceRecord | None) -> bool:
    """Tell whether a run will read path (its record is missing, incomplete or its size or mtime changed)."""
    if rec is None or not rec.complete:
        return True
    try:
        info = path.stat()
    except OSError:
        return False
    return rec.size != info.st_size or rec.mtime != info.st_mtime_ns


def check_environment(html: bool) -> None:
    """Raise DependencyError when a package or data file indexing needs (HTML parsing: if html) is broken."""
    from .entities import resources

    try:
        resources()
    except OSError as exc:  # it reads only the package's own data files
        raise environment_error(exc, data=True) from None
    try:
        tag_key("é")
        if html:
            probe_html()
    except ParseError:
        pass  # the toolchain ran; that the probe page gave no text is not an install problem
    except Exception as exc:
        broken = environment_error(exc)
        if broken:
            raise broken from None
        raise


def _size(path: Path) -> int:
    """Return a file's size on disk, 0 when it cannot be read (it is reported when indexed)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _peek(items: Iterator, n: int) -> tuple[int, Iterator]:
    """Read up to n items ahead; return how many were read and an iterator over all items, those first."""
    head = []
    try:
        for item in items:
            head.append(item)
            if len(head) >= n:
                break
    except ParseError as exc:
        error = exc  # the except block unbinds exc

        # A file unreadable midway: the items read before the error still come, then the error.
        def replay():
            yield from head
            raise error

        return len(head), replay()
    return len(head), itertools.chain(head, items)


def article_count(searcher) -> int:
    """Return the number of live articles (the index also holds one record per source file)."""
    return searcher.doc_count() - sum(1 for _ in searcher.document_numbers(kind=SOURCE))


def _reason(exc: NewsearchError, path: str) -> str:
    text = str(exc)
    return text[len(path) + 2 :] if text.startswith(path + ": ") else text


class _Job:
    """The writes of one run, buffered per batch and committed only where records and articles agree.

    Buffered, because a Whoosh writer neither replaces nor deletes a document added through the same writer:
    update_document twice with one id leaves two copies. Keyed by id, each document is written once per commit.
    Articles of a big file go to worker processes instead (SegmentBuilders), which write segments of their
    own that the commit adds to the index.
    """

    def __init__(self, indexer: Indexer, ix, dry_run: bool, known: set[str], gen_dir):
        self.indexer = indexer
        self.ix = ix
        self.dry_run = dry_run or ix is None
        self.known = known
        self.gen_dir = gen_dir
        self.ops: dict[str, dict | None] = {}  # id: document to write, or None to delete
        self.builders: SegmentBuilders | None = None
        self.remote: set[str] = set()  # ids of the articles sent to workers since the last commit
        self.segments: list = []  # segments the workers finished, for the next commit
        self.failed: dict[str, str] = {}  # articles the workers could not build, not yet reported
        self.commits = 0

    @property
    def pending(self) -> int:
        """Number of documents waiting for the next commit."""
        return len(self.ops) + len(self.remote)

    def due(self) -> bool:
        """Tell whether a batch is full."""
        return self.pending >= self.indexer.batch_size

    def checkpoint(self):
        """Commit if a batch is full or workers left segments: call only where records and articles agree."""
        if self.due() or self.segments:
            self.commit()

    @contextmanager
    def building(self, pooled: bool):
        """Within this block, have worker processes build and write the articles (for a big file)."""
        workers = self.indexer.workers
        if not pooled or self.dry_run or workers < 1 or "fork" not in multiprocessing.get_all_start_methods():
            yield
            return
        limitmb = max(32, self.indexer.limitmb // workers)
        with SegmentBuilders(self.gen_dir, workers, article_document, limitmb) as builders:
            self.builders = builders
            try:
                yield
            except Exception:
                # The file failed, not the workers: what they built is kept, as the file's record will say.
                if not builders.broken:
                    self.segments += builders.finish()
                    self._drop_failed(builders)
                raise
            else:
                self.segments += builders.finish()
                self._drop_failed(builders)
            finally:
                self.builders = None

    def _put(self, key: str, doc: dict | None):
        if not self.dry_run:
            self.ops.pop(key, None)  # re-inserted last, so that a later write of an id wins
            self.ops[key] = doc

    def write_article(self, article: Article):
        """Write an article (replacing any earlier version), in a worker within building()."""
        if self.dry_run:  # what would change is known from the hashes: no document to build
            return
        if self.builders is None:
            self._put(article.id, article_document(article))
            return
        self.ops.pop(article.id, None)  # this later version wins over one waiting here
        self.builders.send(article)
        self.remote.add(article.id)

    def given_id(self, url: str, derived: str) -> str | None:
        """Return the id a record of this canonical URL gave in the index as last committed, if any."""
        if self.ix is None:
            return None
        with self.ix.searcher() as searcher:
            for docnum in searcher.document_numbers(urlkey=url, kind=ARTICLE):
                aid = searcher.stored_fields(docnum).get("id")
                if aid and aid != derived:
                    return aid
        return None

    def write_record(self, rec: SourceRecord):
        self._put(
            "source:" + rec.path, {"id": "source:" + rec.path, "kind": SOURCE, "path": rec.path, "source": rec.stored()}
        )

    def delete_record(self, path: str):
        self._put("source:" + path, None)

    def delete_article(self, aid: str):
        self._put(aid, None)

    def commit(self):
        """Write the buffered documents and the workers' segments, and commit them (atomically and durably)."""
        if self.builders is not None:
            self.segments += self.builders.finish()
            self._drop_failed(self.builders)
        if not self.ops and not self.segments:
            return
        self.indexer.progress("commit", documents=self.pending)
        ops, self.ops = self.ops, {}
        # Whoosh's own write lock, taken here rather than by the writer: a writer whose constructor or commit
        # fails (disk full) never releases it, which would lock out every later run of a --watch process.
        lock = self.ix.lock("WRITELOCK")
        if not lock.acquire(blocking=False):
            raise IndexLockedError(f"the Whoosh write lock of {self.ix.storage.folder} is held by another program")
        try:
            writer = IndexWriter(self.ix, _lk=False, limitmb=self.indexer.limitmb)
            try:
                # Older versions of the articles the workers wrote go first, while the new ones are not yet in.
                for aid in self.remote & self.known:
                    writer.delete_by_term("id", aid)
                writer.add_segments(self.segments)
                present = self.known | self.remote
                for key, doc in ops.items():
                    if doc is None:
                        if key in present:
                            writer.delete_by_term("id", key)
                    elif key in present:
                        writer.update_document(**doc)
                    else:
                        writer.add_document(**doc)
                writer.commit(mergetype=partial(merge_tiers, tuning=self.indexer.tuning))
                self.indexer.store.update_checksums(Path(self.ix.storage.folder))
            except BaseException:
                try:
                    writer.cancel()
                except Exception:  # half closed by the error that brought us here
                    pass
                raise
        finally:
            lock.release()
        self.known |= self.remote
        for key, doc in ops.items():
            if doc is None:
                self.known.discard(key)
            else:
                self.known.add(key)
        self.remote, self.segments = set(), []
        self.commits += 1

    def _drop_failed(self, builders: SegmentBuilders) -> None:
        """Take the articles the workers could not build out of the records about to be committed."""
        failed = builders.failed
        if not failed:
            return
        self.failed.update(failed)
        self.remote -= failed.keys()
        for aid in failed.keys() & self.known:  # its older version must not outlive the record that named it
            self._put(aid, None)
        for key, doc in self.ops.items():
            if key.startswith("source:") and doc is not None:
                stored = doc["source"]
                kept = [k for k, aid in enumerate(stored["ids"]) if aid not in failed]
                for name in ("ids", "hashes", "at"):
                    stored[name] = [stored[name][k] for k in kept]
        failed.clear()

    def take_failed(self) -> dict[str, str]:
        """Return (and forget) the articles that could not be built since the last call: id → why."""
        failed, self.failed = self.failed, {}
        return failed

    def cancel(self):
        """Drop what was not committed (the workers' segments stay behind as stray files, removed next time)."""
        self.ops, self.remote, self.segments = {}, set(), []
