"""Index article files incrementally: new, changed and vanished files only, committed in batches.

Every source file has a record in the index (a document of kind "source"): its size, mtime and sha256,
and for each article it yields a hash of the indexed fields. Records and articles commit together, and a
commit only happens where they agree (a file half done gets an incomplete record naming what is in the
index), so a job killed at any moment leaves a consistent index, and the next run finishes the work.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from whoosh.reading import SegmentReader

from .analysis import index_positions
from .builders import SegmentBuilders
from .clusters import CLUSTERS_FILE, build_clusters, save_clusters
from .dates import day_ordinal, parse_iso, to_utc_timestamp
from .dedup import minhash, pack
from .entities import extract_entities
from .errors import IndexDamagedError, IndexLockedError, NewsearchError, ParseError
from .parse import Article, file_digest, iter_jsonl, parse_bytes, read_bytes, streamable, supported, tag_key
from .schema import ARTICLE, ENTITY_FIELDS, INDEX_VERSION, SEARCH_FIELDS, SOURCE, Analysed, build_schema
from .store import IndexStore, IndexWriter, open_whoosh, write_error

Progress = Callable[..., None]

DEFAULT_BATCH = 5000
DEFAULT_LOCK_TIMEOUT = 180.0
RECORD_VERSION = 2


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
    documents: int = 0
    files: int = 0
    dry_run: bool = False
    seconds: float = 0.0
    commits: int = 0
    resumed: bool = False

    @property
    def changed(self) -> bool:
        """Tell whether the run changed (or would change) any article."""
        return bool(self.added or self.updated or self.deleted)

    def to_dict(self) -> dict:
        """Return the report as the JSON object `newsearch index --json` prints."""
        return {
            "added": self.added,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "documents": self.documents,
        }

    def summary(self) -> str:
        """Return the one-line human summary."""
        verb = "would index" if self.dry_run else "indexed"
        return (
            f"{verb} {_count(self.files, 'file')}: added {self.added}, updated {self.updated}, "
            f"deleted {self.deleted}, unchanged {self.unchanged}, skipped {len(self.skipped)}; "
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

    @classmethod
    def from_stored(cls, path: str, data: dict) -> SourceRecord:
        """Read a record from its stored form (version 1 records had no hashes)."""
        ids = list(data.get("ids", []))
        hashes = data.get("hashes") or [None] * len(ids)
        return cls(
            path=path,
            size=data.get("size", -1),
            mtime=data.get("mtime", -1),
            sha256=data.get("sha256", ""),
            ids=dict(zip(ids, hashes, strict=False)),
            complete=data.get("complete", True),
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
            "complete": self.complete,
        }


ENTITY_CHARS = 2000
# Below this many articles to (re)write in a file, worker processes cost more to start than they save.
POOL_MIN_ARTICLES = 2000
# Segments of one size tier (1–9, 10–99, 100–999… live documents) that merge into one. Whoosh merges in this
# process, re-reading and re-writing every posting, while the workers wait: 7 minutes for 40,000 articles here,
# about the time it takes to index them. Search hardly depends on the number of segments (8,000 articles in 6
# or 57 segments: same median and p95), so big segments merge only once 256 pile up, which bounds the open
# files; small ones (source records, small updates) merge cheaply and soon.
MERGE_FACTOR = 16
MERGE_FACTOR_TINY = 4
MERGE_FACTOR_BIG = 256
_FIELDS = build_schema()


def merge_tiers(writer, segments: list) -> list:
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
        factor = MERGE_FACTOR_TINY if tier == 1 else MERGE_FACTOR if tier <= 3 else MERGE_FACTOR_BIG
        if len(members) >= factor:
            for segment in members:
                reader = SegmentReader(writer.storage, writer.schema, segment)
                writer.add_reader(reader)
                reader.close()
                merged.add(id(segment))
    return [s for s in segments if id(s) not in merged]


# Encoded position lists of one position: four words in five occur once in an article.
_ONE_POSITION: dict[int, bytes] = {}


def analysed(field_name: str, text: str) -> Analysed:
    """Return the postings Whoosh makes of one French text field's value, computed here (in a worker) once."""
    fmt = _FIELDS[field_name].format
    boost = fmt.field_boost
    # What Whoosh's Positions.word_values yields, from positions replayed per distinct word (index_positions).
    postings = []
    for term, poslist in index_positions(text).items():
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
    doc = {k: v for k, v in doc.items() if v not in ("", None)}
    # Analysis is most of Whoosh's indexing work: done here, it runs in the worker processes too.
    for name in SEARCH_FIELDS:
        if name in doc:
            if _FIELDS[name].stored:
                doc["_stored_" + name] = doc[name]
            doc[name] = analysed(name, doc[name])
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


def walk(paths: Iterable) -> tuple[list[Path], list[dict], list[Path]]:
    """Return the supported files under paths (sorted), the explicitly named ones we cannot read, and the roots."""
    files, skipped, roots = [], [], []
    seen = set()
    for raw in paths:
        path = Path(raw).absolute()
        if path.is_dir():
            roots.append(path)
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    candidate = Path(dirpath, name)
                    if not name.startswith(".") and supported(candidate) and candidate not in seen:
                        seen.add(candidate)
                        files.append(candidate)
        elif path.is_file():
            roots.append(path)
            if not supported(path):
                skipped.append(
                    {"path": str(raw), "reason": "unsupported file type (expected .txt, .html, .htm, .json, .jsonl)"}
                )
            elif path not in seen:
                seen.add(path)
                files.append(path)
        else:
            skipped.append({"path": str(raw), "reason": "no such file or directory"})
    return files, skipped, roots


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
    ):
        self.store = store
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
                    save_clusters(gen_dir, build_clusters(self.store.open()))
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
        return {aid: h for rec in records.values() for aid, h in rec.ids.items()}

    # -- the run -----------------------------------------------------------------------------

    def _run(self, paths, full: bool, dry_run: bool) -> IndexReport:
        report = IndexReport(dry_run=dry_run)
        files, report.skipped, roots = walk(paths)
        report.files = len(files)
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
        baseline = (
            self._baseline(full)
            if (full or ix is None)
            else {aid: h for r in records.values() for aid, h in r.ids.items()}
        )
        job = _Job(self, ix, dry_run, known, gen_dir)
        try:
            claims = self._update(job, files, roots, records, full, report)
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
        final = {aid: h for rec in claims.values() for aid, h in rec.ids.items()}
        for aid, h in final.items():
            if aid not in baseline:
                report.added += 1
            elif baseline[aid] is None or baseline[aid] != h:
                report.updated += 1
            else:
                report.unchanged += 1
        report.deleted = sum(1 for aid in baseline if aid not in final)
        if ix is None or dry_run:
            report.documents = len(final)
        else:
            with ix.searcher() as searcher:
                report.documents = article_count(searcher)
        return report

    def _update(self, job, files, roots, records, full, report) -> dict[str, SourceRecord]:
        """Write what changed; return the records as they now stand."""
        claims = dict(records)
        owners: dict[str, set[str]] = {}
        for path, rec in claims.items():
            for aid in rec.ids:
                owners.setdefault(aid, set()).add(path)

        def claim(rec: SourceRecord) -> None:
            old = claims.get(rec.path)
            for aid in old.ids if old else ():
                owners.get(aid, set()).discard(rec.path)
            for aid in rec.ids:
                owners.setdefault(aid, set()).add(rec.path)
            claims[rec.path] = rec

        written: set[str] = set()
        for i, path in enumerate(files):
            key = str(path)
            self.progress("file", path=key, done=i, total=len(files))
            rec = claims.get(key)
            try:
                stat = path.stat()
            except OSError as exc:
                report.skipped.append({"path": key, "reason": f"cannot read: {exc.strerror}"})
                continue
            if rec and rec.complete and rec.size == stat.st_size and rec.mtime == stat.st_mtime_ns:
                continue
            big = streamable(path)
            try:
                if big:
                    data, digest = None, file_digest(path)
                else:
                    data = read_bytes(path)
                    digest = hashlib.sha256(data).hexdigest()
            except ParseError as exc:
                report.skipped.append({"path": key, "reason": _reason(exc, key)})
                continue
            if rec and rec.complete and rec.sha256 == digest:
                # Touched, not changed: remember the new mtime so that the next run need not read it again.
                job.write_record(replace(rec, size=stat.st_size, mtime=stat.st_mtime_ns))
                claim(replace(rec, size=stat.st_size, mtime=stat.st_mtime_ns))
                job.checkpoint()
                continue
            errors: list[tuple[str, str]] = []
            if big:
                articles = iter_jsonl(path, errors)
            else:
                try:
                    parsed = parse_bytes(data, key)
                except ParseError as exc:
                    report.skipped.append({"path": key, "reason": _reason(exc, key)})
                    continue
                except Exception as exc:  # a parser bug must not cost the batch: skip and say why
                    report.skipped.append({"path": key, "reason": f"parser failure: {type(exc).__name__}: {exc}"})
                    continue
                articles, errors = iter(parsed.articles), parsed.errors
                del data
            old = rec.ids if rec else {}
            now = dict(old)  # what the index holds of this file, kept true at every commit
            hashes: dict[str, str] = {}  # every article of the file: id -> hash (a repeated id: the last one wins)

            def todo(articles=articles, old=old, hashes=hashes):
                # Hashing the parsed article (not its document) spares unchanged articles the costly entity,
                # MinHash and analysis work; what the analysis makes of it is covered by the index version.
                for article in articles:
                    digest_doc = document_hash(article.to_dict())
                    hashes.pop(article.id, None)
                    hashes[article.id] = digest_doc
                    if old.get(article.id) != digest_doc or article.id in written:
                        yield article, digest_doc

            try:
                # Enough articles to keep worker processes busy: they build documents and segments while this
                # process reads on.
                ahead, pairs = _peek(todo(), POOL_MIN_ARTICLES)
                with job.building(ahead >= POOL_MIN_ARTICLES):
                    for article, digest_doc in pairs:
                        job.write_article(article)
                        written.add(article.id)
                        now[article.id] = digest_doc
                        if job.due():
                            partial = SourceRecord(
                                key, stat.st_size, stat.st_mtime_ns, digest, dict(now), complete=False
                            )
                            job.write_record(partial)
                            claim(partial)
                            job.commit()
            except ParseError as exc:
                # Only a streamed file fails this late (unreadable midway, or no readable line): skip it and say
                # why, with a record of what of it was written, so the index stays consistent and a rerun resumes.
                report.skipped.append({"path": key, "reason": _reason(exc, key)})
                if now != old:
                    partial = SourceRecord(key, stat.st_size, stat.st_mtime_ns, digest, dict(now), complete=False)
                    job.write_record(partial)
                    claim(partial)
                job.checkpoint()
                continue
            for where, reason in errors:
                report.skipped.append({"path": where, "reason": reason})
            final = SourceRecord(key, stat.st_size, stat.st_mtime_ns, digest, hashes)
            gone = [aid for aid in now if aid not in final.ids]
            job.write_record(final)
            claim(final)
            for aid in gone:
                if not owners.get(aid):
                    job.delete_article(aid)
            job.checkpoint()
        self.progress("file", path="", done=len(files), total=len(files))
        # Files that vanished from the folders given (from anywhere, for a full rebuild): their articles go too.
        present = {str(p) for p in files}
        for key in sorted(claims):
            if key in present or not (full or _under(key, roots)):
                continue
            rec = claims.pop(key)
            for aid in rec.ids:
                owners.get(aid, set()).discard(key)
            for aid in rec.ids:
                if not owners.get(aid):
                    job.delete_article(aid)
            job.delete_record(key)
            job.checkpoint()
        return claims


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
            except ParseError:
                # The file failed, not the workers: what they built is kept, as the file's record will say.
                self.segments += builders.finish()
                raise
            else:
                self.segments += builders.finish()
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
                writer.commit(mergetype=merge_tiers)
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

    def cancel(self):
        """Drop what was not committed (the workers' segments stay behind as stray files, removed next time)."""
        self.ops, self.remote, self.segments = {}, set(), []
