"""Index article files incrementally: new, changed and vanished files only, committed in batches."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .dates import day_ordinal, parse_iso, to_utc_timestamp
from .errors import IndexLockedError, NewsearchError, ParseError
from .parse import Article, parse_bytes, read_bytes, supported, tag_key
from .schema import ARTICLE, SOURCE
from .store import IndexStore

Progress = Callable[..., None]

DEFAULT_BATCH = 5000
DEFAULT_LOCK_TIMEOUT = 180.0


@dataclass
class IndexReport:
    """What one indexing run did."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0
    skipped: list[dict] = field(default_factory=list)
    documents: int = 0
    files: int = 0
    dry_run: bool = False
    seconds: float = 0.0

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
            f"{verb} {self.files} file(s): added {self.added}, updated {self.updated}, "
            f"deleted {self.deleted}, unchanged {self.unchanged}, skipped {len(self.skipped)}; "
            f"{self.documents} documents in the index ({self.seconds:.1f} s)"
        )


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
    return {k: v for k, v in doc.items() if v not in ("", None)}


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
    ):
        self.store = store
        self.progress = progress or (lambda *args, **kwargs: None)
        self.batch_size = batch_size
        self.lock_timeout = lock_timeout
        self.limitmb = limitmb

    def run(self, paths, full: bool = False, dry_run: bool = False) -> IndexReport:
        """Index paths; with full, rebuild into a new generation and switch to it when done."""
        started = time.monotonic()
        with self.store.lock(self.lock_timeout):
            report = self._run(paths, full, dry_run)
        report.seconds = time.monotonic() - started
        return report

    def _open(self, full: bool, dry_run: bool):
        if self.store.exists() and not full:
            gen_dir = self.store.current_dir()
            self.store.check_version(gen_dir)
            self.store.clean_stray_files(gen_dir)
            return gen_dir, self.store.open(), False
        if dry_run:
            return None, None, True
        gen_dir, ix = self.store.new_generation()
        return gen_dir, ix, True

    def _run(self, paths, full: bool, dry_run: bool) -> IndexReport:
        report = IndexReport(dry_run=dry_run)
        files, report.skipped, roots = walk(paths)
        report.files = len(files)
        gen_dir, ix, fresh = self._open(full, dry_run)
        records: dict[str, dict] = {}
        known: set[str] = set()
        if ix is not None and not fresh:
            with ix.searcher() as searcher:
                for fields in searcher.documents(kind=SOURCE):
                    records[fields["path"]] = fields["source"]
                known = {t.decode("utf-8") for t in searcher.lexicon("id") if not t.startswith(b"source:")}
        owner = {aid: path for path, rec in records.items() for aid in rec.get("ids", [])}
        job = _Job(self, ix, dry_run, known)
        written: set[str] = set()
        candidates: set[str] = set()
        try:
            for i, path in enumerate(files):
                key = str(path)
                self.progress("file", path=key, done=i, total=len(files))
                record = records.get(key)
                try:
                    stat = path.stat()
                except OSError as exc:
                    report.skipped.append({"path": key, "reason": f"cannot read: {exc.strerror}"})
                    continue
                if record and record["size"] == stat.st_size and record["mtime"] == stat.st_mtime_ns:
                    report.unchanged += len(record["ids"])
                    continue
                try:
                    data = read_bytes(path)
                except ParseError as exc:
                    report.skipped.append({"path": key, "reason": _reason(exc, key)})
                    continue
                digest = hashlib.sha256(data).hexdigest()
                if record and record["sha256"] == digest:
                    report.unchanged += len(record["ids"])
                    job.write_source(key, stat, digest, record["ids"])
                    continue
                try:
                    parsed = parse_bytes(data, key)
                except ParseError as exc:
                    report.skipped.append({"path": key, "reason": _reason(exc, key)})
                    continue
                except Exception as exc:  # a parser bug must not cost the batch: skip and say why
                    report.skipped.append({"path": key, "reason": f"parser failure: {type(exc).__name__}: {exc}"})
                    continue
                for where, reason in parsed.errors:
                    report.skipped.append({"path": where, "reason": reason})
                ids = []
                for article in parsed.articles:
                    if article.id in written:
                        ids.append(article.id)
                        job.write_article(article)
                        continue
                    if article.id in known:
                        report.updated += 1
                    else:
                        report.added += 1
                    written.add(article.id)
                    ids.append(article.id)
                    job.write_article(article)
                if record:
                    candidates.update(set(record["ids"]) - set(ids))
                    _disown(owner, key, record["ids"])
                job.write_source(key, stat, digest, sorted(set(ids)))
                owner.update({aid: key for aid in ids})
            self.progress("file", path="", done=len(files), total=len(files))
            # Files that vanished from the folders given: their articles go too.
            present = {str(p) for p in files}
            for key, record in records.items():
                if key not in present and _under(key, roots):
                    candidates.update(record["ids"])
                    _disown(owner, key, record["ids"])
                    job.delete_source(key)
            for aid in sorted(candidates):
                # An article that moved to another file, or is still claimed by one, stays.
                if aid in written or aid in owner:
                    continue
                if aid in known:
                    report.deleted += 1
                    job.delete_article(aid)
            job.finish()
        except BaseException:
            job.cancel()
            if fresh and gen_dir is not None and not job.committed_any:
                self.store.remove_generation(gen_dir)
            raise
        if fresh and gen_dir is not None and not dry_run:
            self.store.switch_to(gen_dir)
        if ix is None or dry_run:
            report.documents = len(known) + report.added - report.deleted
        else:
            with ix.searcher() as searcher:
                report.documents = article_count(searcher)
        return report


def article_count(searcher) -> int:
    """Return the number of live articles (the index also holds one record per source file)."""
    return searcher.doc_count() - sum(1 for _ in searcher.document_numbers(kind=SOURCE))


def _disown(owner: dict, path: str, ids) -> None:
    for aid in ids:
        if owner.get(aid) == path:
            del owner[aid]


def _reason(exc: NewsearchError, path: str) -> str:
    text = str(exc)
    return text[len(path) + 2 :] if text.startswith(path + ": ") else text


class _Job:
    """The writes of one run, committed every batch_size documents."""

    def __init__(self, indexer: Indexer, ix, dry_run: bool, known: set[str]):
        self.indexer = indexer
        self.ix = ix
        self.dry_run = dry_run
        self.known = known
        self.writer = None
        self.pending = 0
        self.committed_any = False

    def _writer(self):
        if self.writer is None:
            try:
                self.writer = self.ix.writer(limitmb=self.indexer.limitmb, timeout=self.indexer.lock_timeout)
            except Exception as exc:
                if type(exc).__name__ == "LockError":
                    raise IndexLockedError(f"the Whoosh write lock of {self.ix.storage.folder} is held") from None
                raise
        return self.writer

    def _wrote(self):
        self.pending += 1
        if self.pending >= self.indexer.batch_size:
            self.commit()

    def write_article(self, article: Article):
        if self.dry_run:
            return
        doc = article_document(article)
        writer = self._writer()
        if article.id in self.known:
            writer.update_document(**doc)
        else:
            writer.add_document(**doc)
            self.known.add(article.id)
        self._wrote()

    def write_source(self, path: str, stat, digest: str, ids: list[str]):
        if self.dry_run:
            return
        record = {"size": stat.st_size, "mtime": stat.st_mtime_ns, "sha256": digest, "ids": ids}
        self._writer().update_document(id="source:" + path, kind=SOURCE, path=path, source=record)
        self._wrote()

    def delete_source(self, path: str):
        if not self.dry_run:
            self._writer().delete_by_term("id", "source:" + path)
            self._wrote()

    def delete_article(self, aid: str):
        if not self.dry_run:
            self._writer().delete_by_term("id", aid)
            self._wrote()

    def commit(self):
        if self.writer is not None:
            self.indexer.progress("commit", documents=self.pending)
            self.writer.commit()
            self.writer = None
            self.pending = 0
            self.committed_any = True

    def finish(self):
        self.commit()

    def cancel(self):
        if self.writer is not None:
            try:
                self.writer.cancel()
            finally:
                self.writer = None
