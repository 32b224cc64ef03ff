"""Worker processes that build articles into Whoosh segments of their own, for the indexer to commit.

Building an article's document (entities, MinHash, French analysis) and writing its postings are most of
the cost of indexing. Here both run in worker processes: each worker adds the documents it builds to a
segment of its own, finishes it when asked (at each commit) and hands back the Whoosh segment, which the
job's process adds to the index's table of contents. That process only reads, hashes and commits.
"""

from __future__ import annotations

import ctypes
import gc
import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable
from multiprocessing.connection import wait
from pathlib import Path

from .errors import WorkerError
from .store import open_whoosh
from .whoosh_compat import SegmentBuilderWriter

# Articles sent to a worker at once, and chunks waiting per worker: enough to keep the workers busy, few
# enough that memory stays flat however big the file.
CHUNK = 64
AHEAD = 4
_KEPT = "; the index was left as it was last committed"
_PR_SET_PDEATHSIG = 1
# Added to the workers' niceness: a search served during a reindex kept both workers busy at ×1.97 its time.
NICE = 10
# The workers' cyclic-collector thresholds (Python's default: 700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 10)
# Seconds a worker gets to stop (it cancels an unfinished segment) before it is terminated.
STOP_TIMEOUT = 30


class SegmentBuilders:
    """Worker processes, each building the documents of the articles sent to it into its own segment.

    An article id sent twice before the segments are finished goes to the same worker, which keeps the
    last copy: within one segment, a later document replaces an earlier one as it does across commits.
    """

    def __init__(self, gen_dir: Path, workers: int, build: Callable, limitmb: int = 128):
        # fork, not spawn or forkserver: those re-run the caller's main module in the worker, which
        # breaks any script that indexes without an `if __name__ == "__main__"` guard.
        context = multiprocessing.get_context("fork")
        self._conns = []
        self._procs = []
        for _ in range(workers):
            ours, theirs = context.Pipe()
            proc = context.Process(target=_serve, args=(theirs, str(gen_dir), build, limitmb, os.getpid()), daemon=True)
            proc.start()
            theirs.close()
            self._conns.append(ours)
            self._procs.append(proc)
        self._waiting = [0] * workers  # chunks sent to each worker and not yet built
        self._owner: dict[str, int] = {}  # article id → worker, since the segments were last finished
        self._chunk: list = []
        self._chunk_worker: int | None = None
        self._broken = False
        # Articles a worker could not build: id → why. They are not in its segment.
        self.failed: dict[str, str] = {}

    @property
    def broken(self) -> bool:
        """Tell whether a worker failed or vanished (its segment is then lost)."""
        return self._broken

    def send(self, article) -> None:
        """Have a worker build article into its segment."""
        owner = self._owner.get(article.id)
        if owner is not None and self._chunk_worker not in (None, owner):
            self._flush()
        if owner is not None:
            self._chunk_worker = owner
        self._chunk.append(article)
        if len(self._chunk) >= CHUNK:
            self._flush()

    def finish(self) -> list:
        """Finish every worker's segment and return the Whoosh segments written (none for an idle worker)."""
        self._flush()
        for conn in self._conns:
            self._post(conn, ("finish",))
        segments = []
        for k in range(len(self._conns)):
            while True:
                kind, value = self._receive(k)
                if kind == "segment":
                    if value is not None:
                        segments.append(value)
                    break
        self._owner.clear()
        return segments

    def close(self) -> None:
        """Stop the workers; segments not finished are dropped (their files are strays the next job removes)."""
        for conn, proc in zip(self._conns, self._procs, strict=True):
            if not self._broken:
                try:
                    conn.send(("stop",))
                except OSError:
                    pass
            proc.join(timeout=0 if self._broken else STOP_TIMEOUT)
            if proc.is_alive():
                proc.terminate()
                proc.join()
            conn.close()

    def __enter__(self) -> SegmentBuilders:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is not None:
            self._broken = True
        self.close()

    # -- internals -----------------------------------------------------------------------------

    def _flush(self) -> None:
        if not self._chunk:
            return
        k = self._chunk_worker
        if k is None:
            k = min(range(len(self._conns)), key=self._waiting.__getitem__)
        while self._waiting[k] >= AHEAD:
            self._receive_any()
        for article in self._chunk:
            self._owner[article.id] = k
        self._post(self._conns[k], ("build", self._chunk))
        self._waiting[k] += 1
        self._chunk, self._chunk_worker = [], None

    def _post(self, conn, message) -> None:
        try:
            conn.send(message)
        except OSError as exc:
            self._broken = True
            raise WorkerError(f"an indexing worker stopped unexpectedly ({exc}){_KEPT}") from None

    def _receive_any(self) -> None:
        for conn in wait(self._conns):
            self._handle(self._conns.index(conn), conn)

    def _receive(self, k: int):
        return self._handle(k, self._conns[k])

    def _handle(self, k: int, conn):
        try:
            kind, value = conn.recv()
        except (EOFError, OSError):
            self._broken = True
            self._procs[k].join(timeout=STOP_TIMEOUT)  # the pipe closes just before the process is reaped
            code = self._procs[k].exitcode
            raise WorkerError(f"an indexing worker stopped unexpectedly (exit code {code}){_KEPT}") from None
        if kind == "error":
            self._broken = True
            raise value
        if kind == "built":
            self._waiting[k] -= 1
            self.failed.update(value)
        return kind, value


def _die_with(parent: int) -> None:
    """Have the kernel kill this worker when the job's process dies (Linux).

    A worker inherits the job lock: an orphan finishing its chunk would hold it, and write a segment, after a
    killed job. Without prctl it stops at its next message instead (the pipe is closed).
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the job died before prctl took effect
        os._exit(1)


def _serve(conn, gen_dir: str, build: Callable, limitmb: int, parent: int) -> None:
    """Run one worker: build chunks of articles into a segment, finish it on request, until told to stop."""
    _die_with(parent)
    # Ctrl-C is the job's to handle: it stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Searches come first: on a machine that serves while it reindexes, the workers take the idle CPU only.
    try:
        os.nice(NICE)
    except OSError:
        pass
    # A worker holds a segment's postings and documents: millions of objects that the cyclic collector would
    # walk again and again (9 % of a worker's time, 10 full collections a 5,000 articles). What the job's process
    # had at the fork is frozen out of it, and young collections come 70 times less often (0.9 s instead of
    # 3-3.8 s for 5,000 articles, no full collection); the little cyclic garbage (15 objects an article) waits.
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    writer = None
    latest: dict[str, int] = {}  # article id → its document number in the open segment
    replaced: list[int] = []
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):  # the job's process is gone
            break
        if message[0] == "stop":
            break
        try:
            if message[0] == "build":
                if writer is None:
                    # Opened only now, after the commit that asked for the last segment: a commit deletes
                    # the files of any segment its table of contents does not name.
                    writer = SegmentBuilderWriter(open_whoosh(Path(gen_dir)), _lk=False, limitmb=limitmb)
                failed = []
                for article in message[1]:
                    try:
                        doc = build(article)
                    except ImportError:
                        raise  # the install is broken: every article would fail
                    except Exception as exc:  # a bug on one article costs that article, not the run
                        failed.append((article.id, f"{type(exc).__name__}: {exc}"))
                        continue
                    if article.id in latest:
                        replaced.append(latest[article.id])
                    latest[article.id] = writer.docnum
                    writer.add_document(**doc)
                conn.send(("built", failed))
            elif message[0] == "finish":
                segment = None
                if writer is not None:
                    segment = writer.finish_segment()
                    for docnum in replaced:
                        segment.delete_document(docnum)
                    writer, latest, replaced = None, {}, []
                conn.send(("segment", segment))
        except BaseException as exc:  # reported to the job's process, which cancels the run
            conn.send(("error", _portable(exc)))
    if writer is not None:
        writer.cancel()
    conn.close()


def _portable(exc: BaseException) -> BaseException:
    """Return exc if it survives pickling, else a WorkerError that carries its traceback."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return WorkerError(f"an indexing worker failed{_KEPT}:\n" + "".join(traceback.format_exception(exc)))
