"""Keep an index up to date while articles arrive: file events (watchdog, else polling) trigger incremental runs."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from .errors import IndexLockedError
from .indexer import Indexer, IndexReport
from .parse import supported

DEFAULT_INTERVAL = 2.0
# With file events, still rescan now and then: inotify drops events when its queue overflows.
RESCAN_SECONDS = 60.0


class Watcher:
    """Runs the indexer over paths once, then again whenever files change, at most once per interval."""

    def __init__(
        self,
        indexer: Indexer,
        paths,
        interval: float = DEFAULT_INTERVAL,
        use_events: bool = True,
        on_report: Callable[[IndexReport], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
    ):
        self.indexer = indexer
        self.paths = [Path(p) for p in paths]
        self.interval = interval
        self.use_events = use_events
        self.on_report = on_report or (lambda report: None)
        self.on_error = on_error or (lambda exc: None)
        self.mode = "polling"
        self.runs = 0
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._dirty = threading.Event()
        self._ignore = Path(indexer.store.root).absolute()

    def stop(self) -> None:
        """Ask the loop to finish: it indexes what is pending, commits and returns (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()

    def changed(self, path: str = "", is_directory: bool = False) -> None:
        """Note that something under the watched paths changed."""
        p = Path(path) if path else None
        if p is not None:
            if p == self._ignore or self._ignore in p.parents:
                return  # our own commits
            if not is_directory and (p.name.startswith(".") or not supported(p)):
                return
        self._dirty.set()
        self._wake.set()

    def _start_observer(self):
        if not self.use_events:
            return None
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return None
        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event):
                if event.event_type in ("opened", "closed_no_write"):
                    return
                watcher.changed(str(event.src_path), event.is_directory)
                if getattr(event, "dest_path", ""):
                    watcher.changed(str(event.dest_path), event.is_directory)

        try:
            observer = Observer()
            for path in self.paths:
                target = path if path.is_dir() else path.parent
                observer.schedule(Handler(), str(target), recursive=path.is_dir())
            observer.daemon = True
            observer.start()
        except Exception:  # inotify watch limit reached, unsupported file system: fall back to polling
            return None
        self.mode = "events"
        return observer

    def _run_once(self) -> None:
        self._dirty.clear()
        try:
            report = self.indexer.run(self.paths)
        except IndexLockedError as exc:
            # A cron job holds the index longer than the lock timeout: say so and try again later.
            self._dirty.set()
            self.on_error(exc)
            return
        self.runs += 1
        self.on_report(report)

    def run(self) -> None:
        """Index now, then watch until stop(); domain errors other than a held lock end the loop."""
        observer = self._start_observer()
        try:
            self._run_once()
            last = time.monotonic()
            while not self._stop.is_set():
                timeout = RESCAN_SECONDS if observer is not None else self.interval
                self._wake.wait(timeout)
                self._wake.clear()
                if self._stop.is_set():
                    break
                if observer is not None and not self._dirty.is_set() and time.monotonic() - last < RESCAN_SECONDS:
                    continue
                # Let a burst of files land, and commit at most once per interval.
                self._stop.wait(max(0.0, last + self.interval - time.monotonic()))
                self._run_once()
                last = time.monotonic()
            # The final run: a file that landed just before the signal may not have reported its event yet.
            self._run_once()
        finally:
            if observer is not None:
                observer.stop()
                observer.join(timeout=5)
