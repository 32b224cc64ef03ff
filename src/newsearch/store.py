"""The index directory: versioned generations of a Whoosh index, the CURRENT pointer and the job lock.

Layout of an index directory::

    CURRENT          name of the live generation, replaced atomically (write, fsync, rename)
    LOCK             flock()ed by the one job allowed to write
    gen-000001/      a Whoosh index plus newsearch.json (its version)

A full rebuild writes a new generation and switches CURRENT when it is complete, so readers keep
the old one until then.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from whoosh.filedb.filestore import FileStorage
from whoosh.index import clean_files
from whoosh.util import random_name

from .errors import IndexDamagedError, IndexLockedError, IndexMissingError, NewsearchError, SchemaVersionError
from .schema import INDEX_VERSION, build_schema
from .whoosh_compat import FixedFileIndex, read_toc
from .whoosh_compat import IndexWriter as IndexWriter  # re-exported: the index's writer, for indexer and builders

META = "newsearch.json"
# sha256 of each segment file, written after each commit: Whoosh has no checksums, and a flipped byte in a
# posting list reads back silently as a wrong number.
CHECKSUMS = "checksums.json"


def default_index_dir() -> Path:
    """Return $NEWSEARCH_INDEX, else ./index."""
    return Path(os.environ.get("NEWSEARCH_INDEX") or "index")


def fsync_dir(path: Path) -> None:
    """Flush a directory entry so that a rename in it survives a power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Replace a small file atomically and durably."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def file_sha256(path: Path) -> str:
    """Return the sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class DurableFileStorage(FileStorage):
    """Whoosh file storage that fsyncs every file it writes and the directory after each rename.

    Whoosh writes segment files, then a new table of contents under a temporary name that it renames:
    with these two flushes a commit is on disk before the new table of contents points to it.
    """

    def create_file(self, name, excl=False, mode="wb", **kwargs):
        f = super().create_file(name, excl, mode, **kwargs)
        inner = f.onclose

        def onclose(sfile):
            if inner:
                inner(sfile)
            try:
                sfile.file.flush()
                os.fsync(sfile.file.fileno())
            except (AttributeError, OSError, ValueError):
                pass

        f.onclose = onclose
        return f

    def temp_storage(self, name=None):
        # Whoosh gives every writer of an index the same temporary directory, and a writer that finishes empties
        # it: writers working side by side (indexing workers) need one each. One writer per process at a time.
        return super().temp_storage(f"{name or random_name()}.{os.getpid()}.tmp")

    def rename_file(self, oldname, newname, safe=False):
        # Before: the entries of the segment files just written must be on disk before the TOC points to them.
        fsync_dir(Path(self.folder))
        super().rename_file(oldname, newname, safe)
        # After: the rename itself, which is the commit.
        fsync_dir(Path(self.folder))


def open_whoosh(gen_dir: Path):
    """Open the Whoosh index of a generation directory with durable storage."""
    return FixedFileIndex(DurableFileStorage(str(gen_dir)), indexname="MAIN")


def generation_number(name: str) -> int | None:
    """Return N for a directory named gen-NNNNNN, else None."""
    return int(name[4:]) if name.startswith("gen-") and name[4:].isdigit() else None


class WriteError(NewsearchError):
    """The index directory cannot be written (read-only, disk full, not a directory)."""


def write_error(where: Path, exc: OSError) -> WriteError:
    """Return the error to show for an OSError met while writing the index in where."""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        reason = "disk full (no space left on device)"
    return WriteError(f"cannot write the index in {where}: {reason}; the index was left as it was last committed")


class IndexStore:
    """One index directory on disk."""

    def __init__(self, root=None):
        self.root = Path(root) if root is not None else default_index_dir()

    # -- generations --------------------------------------------------------------------------

    def current_name(self) -> str | None:
        """Return the name of the live generation, or None when there is no index."""
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IndexDamagedError(f"cannot read {self.root / 'CURRENT'}: {exc.strerror}") from None
        return name or None

    def current_dir(self) -> Path:
        """Return the live generation's directory, or raise IndexMissingError."""
        name = self.current_name()
        if name is None or not (self.root / name).is_dir():
            raise IndexMissingError(
                f"no index in {self.root.absolute()}: run `newsearch index PATH…` first (or pass --index DIR)"
            )
        return self.root / name

    def exists(self) -> bool:
        """Tell whether a live generation exists."""
        name = self.current_name()
        return name is not None and (self.root / name).is_dir()

    def version_of(self, gen_dir: Path) -> str | None:
        """Return the INDEX_VERSION a generation was built with."""
        try:
            return json.loads((gen_dir / META).read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            return None

    def check_version(self, gen_dir: Path) -> None:
        """Refuse a generation built by another schema or analyzer version."""
        version = self.version_of(gen_dir)
        if version != INDEX_VERSION:
            raise SchemaVersionError(
                f"the index in {self.root} was built with index version {version or 'unknown'}, "
                f"this newsearch uses {INDEX_VERSION} (analysis or schema changed): "
                "rebuild it with `newsearch index --full PATH…`"
            )

    def open(self, check_version: bool = True):
        """Open the live Whoosh index for reading."""
        gen_dir = self.current_dir()
        if check_version:
            self.check_version(gen_dir)
        try:
            return open_whoosh(gen_dir)
        except Exception as exc:  # Whoosh reports damage as assorted raw exceptions
            raise IndexDamagedError(
                f"the index in {gen_dir} cannot be opened ({type(exc).__name__}: {exc}); "
                "rebuild it with `newsearch index --full PATH…`"
            ) from None

    def generations(self) -> list[Path]:
        """Return the generation directories, oldest first."""
        try:
            found = [p for p in self.root.iterdir() if generation_number(p.name) is not None and p.is_dir()]
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise write_error(self.root, exc) from None
        return sorted(found, key=lambda p: generation_number(p.name))

    def unfinished_generations(self) -> list[Path]:
        """Return generations newer than the live one: rebuilds that a killed `--full` left, newest last."""
        current = generation_number(self.current_name() or "") or 0
        return [p for p in self.generations() if generation_number(p.name) > current]

    def new_generation(self):
        """Create an empty generation directory and return (path, Whoosh index)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            numbers = [generation_number(p.name) for p in self.generations()]
            gen_dir = self.root / f"gen-{max(numbers, default=0) + 1:06d}"
            gen_dir.mkdir()
            fsync_dir(self.root)
            # The version first: a generation without it is never resumed, only removed.
            write_atomic(gen_dir / META, json.dumps({"version": INDEX_VERSION, "created": time.time()}))
            ix = FixedFileIndex.create(DurableFileStorage(str(gen_dir)), build_schema(), "MAIN")
        except OSError as exc:
            raise write_error(self.root, exc) from None
        return gen_dir, ix

    def switch_to(self, gen_dir: Path) -> None:
        """Make a generation live, then remove generations older than the previous one."""
        previous = self.current_name()
        try:
            write_atomic(self.root / "CURRENT", gen_dir.name + "\n")
        except OSError as exc:
            raise write_error(self.root, exc) from None
        keep = {gen_dir.name, previous}
        number = generation_number(gen_dir.name)
        for old in self.generations():
            # The previous generation stays one round: a reader that opened it a moment ago may still read it.
            if old.name not in keep and generation_number(old.name) < number:
                shutil.rmtree(old, ignore_errors=True)

    def remove_generation(self, gen_dir: Path) -> None:
        """Delete an unfinished generation."""
        shutil.rmtree(gen_dir, ignore_errors=True)

    def clean_stray_files(self, gen_dir: Path) -> list[str]:
        """Remove what a killed commit left behind; call it only while holding the job lock.

        That is: TOCs being written (Whoosh never removes *.toc.<time>), its temporary directories (*.tmp),
        and segment files that the live TOC does not name (a segment written but never committed).
        """
        removed = []
        try:
            entries = list(gen_dir.iterdir())
        except OSError:
            return removed
        for p in entries:
            if ".toc." in p.name or p.name.endswith(".tmp"):
                try:
                    if p.is_dir():
                        shutil.rmtree(p)
                    else:
                        p.unlink()
                    removed.append(p.name)
                except OSError:
                    pass
        try:
            ix = open_whoosh(gen_dir)
            toc = read_toc(ix)
            before = set(ix.storage.list())
            # Whoosh's own clean-up, which every commit runs: old TOCs and unreferenced segment files.
            clean_files(ix.storage, ix.indexname, toc.generation, toc.segments)
            removed += sorted(before - set(ix.storage.list()))
        except Exception:  # a damaged index is verify's business, not the cleaner's
            pass
        for p in self.root.glob("*.tmp"):
            try:
                p.unlink()
            except OSError:
                pass
        return removed

    def segment_files(self, gen_dir: Path) -> list[str]:
        """Return the names of the files of the segments the live TOC of a generation names."""
        ix = open_whoosh(gen_dir)
        ids = {segment.segment_id() for segment in read_toc(ix).segments}
        return sorted(name for name in ix.storage.list() if name.split(".", 1)[0] in ids)

    def read_checksums(self, gen_dir: Path) -> dict:
        """Return {file name: {"size", "sha256"}} as last recorded for a generation."""
        try:
            return json.loads((gen_dir / CHECKSUMS).read_text(encoding="utf-8")).get("files", {})
        except (OSError, ValueError):
            return {}

    def update_checksums(self, gen_dir: Path) -> None:
        """Record the checksum of every segment file not yet recorded (segment files never change once written)."""
        old = self.read_checksums(gen_dir)
        files = {}
        for name in self.segment_files(gen_dir):
            size = (gen_dir / name).stat().st_size
            if name in old and old[name].get("size") == size:
                files[name] = old[name]
            else:
                files[name] = {"size": size, "sha256": file_sha256(gen_dir / name)}
        if files != old:
            write_atomic(gen_dir / CHECKSUMS, json.dumps({"files": files}, indent=0))

    def size_bytes(self) -> int:
        """Return the size of the live generation on disk."""
        try:
            return sum(p.stat().st_size for p in self.current_dir().iterdir() if p.is_file())
        except NewsearchError:
            return 0

    # -- job lock -----------------------------------------------------------------------------

    @contextmanager
    def lock(self, timeout: float = 180.0, poll: float = 0.2):
        """Hold the directory's job lock, waiting up to timeout seconds for another job to finish."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fh = open(self.root / "LOCK", "a+")
        except OSError as exc:
            raise write_error(self.root, exc) from None
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise IndexLockedError(
                            f"another newsearch job is writing {self.root} (waited {timeout:g} s for its lock)"
                        ) from None
                    time.sleep(poll)
            yield
        finally:
            fh.close()
