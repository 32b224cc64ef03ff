"""Check an index end to end: every segment opens, every stored document reads, records and articles agree."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from whoosh.reading import SegmentReader

from .errors import NewsearchError
from .indexer import read_records
from .schema import ARTICLE, INDEX_VERSION, SOURCE
from .store import IndexStore, file_sha256, open_whoosh
from .whoosh_compat import read_toc

MAX_EXAMPLES = 5


@dataclass
class VerifyReport:
    """What `newsearch verify` found."""

    index_dir: str
    generation: str | None = None
    version: str | None = None
    # The counts stay None where a problem stopped the check before it could count: "0 articles" would be a claim.
    segments: int | None = None
    documents: int | None = None
    sources: int | None = None
    incomplete_sources: int | None = None
    # Article ids given by more than one source file (the first path's version is shown).
    conflicts: int | None = None
    stray_files: list[str] = field(default_factory=list)
    unfinished_rebuilds: list[str] = field(default_factory=list)
    unchecked_files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Tell whether the index is sound."""
        return not self.problems

    def to_dict(self) -> dict:
        """Return the JSON object `newsearch verify --json` prints."""
        data = asdict(self)
        return {"ok": self.ok, "index": data.pop("index_dir"), **data}

    def lines(self) -> list[str]:
        """Return the human report, one line each."""
        state = "ok" if self.ok else f"DAMAGED ({len(self.problems)} problem(s))"
        out = [
            f"index {self.index_dir} ({self.generation or 'no generation'}, version {self.version or '-'}): {state}",
        ]
        if self.segments is not None:
            counted = [f"{self.segments} segment(s)"]
            if self.documents is not None:
                counted += [f"{self.documents} article(s)", f"{self.sources} source file record(s)"]
            out.append(", ".join(counted))
        if self.incomplete_sources:
            out.append(
                f"{self.incomplete_sources} file(s) half indexed by an interrupted job: the next run finishes them"
            )
        if self.conflicts:
            out.append(f"{self.conflicts} article id(s) given by several files: each shown from the first path")
        if self.stray_files:
            out.append(f"{len(self.stray_files)} stray file(s) from an interrupted commit: the next run removes them")
        if self.unchecked_files:
            out.append(f"{len(self.unchecked_files)} segment file(s) without a recorded checksum: read, not compared")
        if self.unfinished_rebuilds:
            names = ", ".join(self.unfinished_rebuilds)
            out.append(f"unfinished rebuild {names} (not live): the next `newsearch index --full` resumes it")
        out += [f"problem: {p}" for p in self.problems]
        if not self.ok:
            out.append("repair: rebuild the index from its sources with `newsearch index --full PATH…`")
        return out


def _examples(items) -> str:
    items = sorted(items)
    more = f", … ({len(items)} in all)" if len(items) > MAX_EXAMPLES else ""
    return ", ".join(items[:MAX_EXAMPLES]) + more


def _fail(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"


def verify(store: IndexStore, progress: Callable[..., None] | None = None) -> VerifyReport:
    """Check the live index of store; never raises for damage, which it lists in the report's problems."""
    progress = progress or (lambda *args, **kwargs: None)
    report = VerifyReport(index_dir=str(store.root))
    try:
        report.generation = store.current_name()
        gen_dir = store.current_dir()
    except NewsearchError as exc:
        report.problems.append(str(exc))
        return report
    report.version = store.version_of(gen_dir)
    report.unfinished_rebuilds = [p.name for p in store.unfinished_generations()]
    if report.version != INDEX_VERSION:
        report.problems.append(
            f"built with index version {report.version or 'unknown'}, this newsearch uses {INDEX_VERSION}"
        )
    report.stray_files = sorted(p.name for p in gen_dir.iterdir() if ".toc." in p.name or p.name.endswith(".tmp"))
    try:
        ix = open_whoosh(gen_dir)
        toc = read_toc(ix)
    except Exception as exc:  # Whoosh reports damage as assorted raw exceptions
        report.problems.append(f"cannot read the table of contents in {gen_dir}: {_fail(exc)}")
        return report
    report.segments = len(toc.segments)
    recorded = store.read_checksums(gen_dir)
    for name in store.segment_files(gen_dir):
        if name in recorded:
            try:
                actual = file_sha256(gen_dir / name)
            except OSError as exc:
                report.problems.append(f"cannot read {name}: {exc.strerror}")
                continue
            if actual != recorded[name]["sha256"]:
                report.problems.append(f"{name} changed since it was written (checksum mismatch)")
        else:
            report.unchecked_files.append(name)
    kinds: Counter = Counter()
    article_ids: Counter = Counter()
    article_paths: dict[str, str] = {}
    for n, segment in enumerate(toc.segments):
        progress("segment", done=n, total=len(toc.segments))
        problem = _check_segment(ix.storage, toc.schema, segment, kinds, article_ids, article_paths)
        if problem:
            report.problems.append(f"segment {segment.segment_id()}: {problem}")
    if report.problems:
        return report
    try:
        with ix.searcher() as searcher:
            records = read_records(searcher)
            indexed = searcher.doc_count()
    except Exception as exc:
        report.problems.append(f"cannot open a searcher: {_fail(exc)}")
        return report
    report.documents = kinds[ARTICLE]
    report.sources = len(records)
    report.incomplete_sources = sum(1 for r in records.values() if not r.complete)
    if indexed != sum(kinds.values()):
        report.problems.append(f"the index counts {indexed} documents but {sum(kinds.values())} could be read")
    if kinds[SOURCE] != len(records):
        report.problems.append(f"{kinds[SOURCE]} source records stored, {len(records)} distinct paths")
    others = sum(kinds.values()) - kinds[ARTICLE] - kinds[SOURCE]
    if others:
        report.problems.append(f"{others} document(s) are neither articles nor source records")
    twice = [aid for aid, count in article_ids.items() if count > 1]
    if twice:
        report.problems.append(f"{len(twice)} article id(s) indexed more than once: {_examples(twice)}")
    claimed = set()
    owners: dict[str, list[str]] = {}
    for path, rec in sorted(records.items()):
        for aid in rec.ids:
            owners.setdefault(aid, []).append(path)
        missing = [aid for aid in rec.ids if aid not in article_ids]
        if missing:
            report.problems.append(
                f"the record of {path} names {len(missing)} article(s) missing from the index: {_examples(missing)}"
            )
        claimed.update(rec.ids)
    shared = {aid: paths for aid, paths in owners.items() if len(paths) > 1}
    report.conflicts = len(shared)
    # SOURCE_RULE: of several sources of an id, the index shows the first path's version (records are sorted).
    misplaced = [aid for aid, paths in shared.items() if aid in article_paths and article_paths[aid] != paths[0]]
    if misplaced:
        report.problems.append(
            f"{len(misplaced)} article(s) given by several files show another version than the first path's: "
            f"{_examples(misplaced)}"
        )
    orphans = [aid for aid in article_ids if aid not in claimed]
    if orphans:
        report.problems.append(f"{len(orphans)} article(s) have no source file record: {_examples(orphans)}")
    progress("segment", done=len(toc.segments), total=len(toc.segments))
    return report


def _check_segment(storage, schema, segment, kinds: Counter, article_ids: Counter, paths: dict) -> str | None:
    """Read everything of one segment; return what failed, or None."""
    try:
        reader = SegmentReader(storage, schema, segment)
    except Exception as exc:
        return f"cannot be opened: {_fail(exc)}"
    try:
        live = 0
        for _docnum, fields in reader.iter_docs():
            live += 1
            kind = fields.get("kind")
            kinds[kind] += 1
            if kind == ARTICLE:
                article_ids[fields.get("id")] += 1
                paths[fields.get("id")] = fields.get("path", "")
        if live != reader.doc_count():
            return f"{live} stored documents read, the segment counts {reader.doc_count()}"
        # Every term's postings: a truncated postings or terms file fails here.
        for fieldname in reader.indexed_field_names():
            for term in reader.lexicon(fieldname):
                for _ in reader.postings(fieldname, term).all_ids():
                    pass
        for fieldname in schema.names():
            if schema[fieldname].column_type is not None and reader.has_column(fieldname):
                column = reader.column_reader(fieldname)
                for docnum in range(reader.doc_count_all()):
                    column[docnum]
    except Exception as exc:
        return f"cannot be read: {_fail(exc)}"
    finally:
        try:
            reader.close()
        except Exception:
            pass
    return None
