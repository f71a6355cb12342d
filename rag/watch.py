"""Watched folders: the index kept in line with files as they are added, changed, renamed and
removed (``rag ingest --watch``, ``Assistant.watch``).

The operating system reports changes (inotify on Linux, FSEvents on macOS, ReadDirectoryChanges
on Windows) through watchfiles, on a background thread per kind of watch: folders recursively,
and the folder of each file named on its own without its subfolders (so that an editor's
save, which often replaces the file, is still seen). Changes are not applied as they come: a
path is applied once nothing has happened to it for ``settle`` seconds, so the burst of events
one save or copy makes is ingested once, after the file is whole (a file that never stops
changing is applied every ``LONGEST`` seconds). Applying is ``Indexer.update``: whole
documents only, bad files skipped with a reason, removed and renamed files taken out of the
index after what replaces them is in.

Files of types that are never ingested (and hidden files and folders, as ``find_files`` passes
them over) are not watched, nor is the index itself when it lies inside a watched folder.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from .documents import SUPPORTED
from .errors import InputError
from .ingest import Indexer, Progress
from .records import IndexChange, IngestReport
from .store import now_iso, one_line

SETTLE = 1.0  # seconds a path must be quiet before its change is applied
LONGEST = 30.0  # ... unless it has been changing for this long (a log written to all day)
TICK = 0.1  # seconds between looks at the events and the stop event
STARTUP = 30.0  # seconds the file watchers may take to start

OnChange = Callable[[IndexChange], None]


def watch(
    indexer: Indexer,
    paths: Iterable[Path | str],
    on_change: OnChange | None = None,
    stop: threading.Event | None = None,
    *,
    settle: float = SETTLE,
    progress: Progress | None = None,
    on_ready: Callable[[IngestReport], None] | None = None,
    ignore: Iterable[Path] = (),
) -> None:
    """Ingest ``paths`` (files and folders), then apply their changes until ``stop`` is set
    (or KeyboardInterrupt), calling ``on_change`` for each change once it is in the index.

    The watchers start before the first ingest, so nothing changed during it is missed;
    ``on_ready`` gets that ingest's report once watching has begun. Changes still settling
    when it stops are left for the next ingest. Nothing under ``ignore`` is watched.
    """
    stop = stop or threading.Event()
    roots = [Path(p).expanduser() for p in paths]
    scope = _Scope(roots, ignore)
    events: queue.Queue[set[str]] = queue.Queue()
    errors: list[BaseException] = []
    halt = threading.Event()
    listeners = [
        _Listener(where, recursive, scope.wanted, events, errors, halt)
        for where, recursive in scope.watches()
    ]
    try:
        for listener in listeners:
            listener.start()
        began = time.monotonic()
        while not all(listener.started.wait(TICK) for listener in listeners):
            _raise_first(errors)
            if stop.is_set():
                return
            if time.monotonic() - began > STARTUP:
                raise InputError(f"Watching {', '.join(map(str, roots))} did not start.")
        _raise_first(errors)
        report = indexer.ingest(roots, progress)
        if on_ready is not None:
            on_ready(report)
        pending: dict[str, tuple[float, float]] = {}  # path -> when it first, last changed
        while not stop.is_set():
            _raise_first(errors)
            try:
                changed = events.get(timeout=TICK)
                while True:  # everything reported so far, then decide what has settled
                    now = time.monotonic()
                    for path in changed:
                        pending[path] = (pending.get(path, (now, now))[0], now)
                    changed = events.get_nowait()
            except queue.Empty:
                pass
            now = time.monotonic()
            settled = sorted(
                path
                for path, (first, last) in pending.items()
                if now - last >= settle or now - first >= LONGEST
            )
            if not settled:
                continue
            for path in settled:
                del pending[path]
            applied = indexer.update(settled)
            if on_change is not None:
                for change in applied.changes(now_iso()):
                    on_change(change)
    finally:
        halt.set()
        for listener in listeners:
            listener.join(timeout=5)


class _Scope:
    """Which paths under the watched roots matter, and what to ask the watchers for."""

    def __init__(self, roots: list[Path], ignore: Iterable[Path]) -> None:
        resolved = [_resolved(r) for r in roots]
        self.folders = [r for r in resolved if r.is_dir()]
        self.files = {r for r in resolved if not r.is_dir()}
        self.ignore = [_resolved(Path(p)) for p in ignore]

    def watches(self) -> list[tuple[list[Path], bool]]:
        """``(paths, recursive)`` for each watcher: the folders, and the files' folders."""
        out: list[tuple[list[Path], bool]] = []
        if self.folders:
            out.append((self.folders, True))
        if self.files:
            out.append((sorted({f.parent for f in self.files}), False))
        return out

    def wanted(self, path: str) -> bool:
        """Whether a change at ``path`` may change the index: a file of a supported type, a
        folder, or a path now gone (it may have been either), under a root and not hidden."""
        p = Path(path)
        if any(p == i or p.is_relative_to(i) for i in self.ignore):
            return False
        if p.name.endswith("~") or p.name.startswith("~$"):  # editors' backups and lock files
            return False
        if p.suffix.lower() not in SUPPORTED and p.is_file():
            return False
        if p in self.files:
            return True
        for folder in self.folders:
            if p == folder:
                return True
            if p.is_relative_to(folder):
                return not any(part.startswith(".") for part in p.relative_to(folder).parts)
        return False


class _Listener(threading.Thread):
    """One watchfiles watcher, reporting the paths that changed, until ``halt`` is set."""

    def __init__(
        self,
        paths: list[Path],
        recursive: bool,
        wanted: Callable[[str], bool],
        events: queue.Queue[set[str]],
        errors: list[BaseException],
        halt: threading.Event,
    ) -> None:
        super().__init__(name="rag-watch", daemon=True)
        self.paths = paths
        self.recursive = recursive
        self.wanted = wanted
        self.events = events
        self.errors = errors
        self.halt = halt
        self.started = threading.Event()  # set once the watcher is live (or has failed)

    def run(self) -> None:
        from watchfiles import watch as changes_in

        try:
            for changes in changes_in(
                *self.paths,
                watch_filter=lambda _change, path: self.wanted(path),
                stop_event=self.halt,
                rust_timeout=int(TICK * 1000),
                yield_on_timeout=True,  # the first yield says the watcher is live
                recursive=self.recursive,
                ignore_permission_denied=True,
                raise_interrupt=False,
            ):
                self.started.set()
                if changes:
                    self.events.put({path for _, path in changes})
        except Exception as exc:
            where = ", ".join(map(str, self.paths))
            self.errors.append(InputError(f"Watching {where} failed: {one_line(exc)}"))
        finally:
            self.started.set()


def _raise_first(errors: list[BaseException]) -> None:
    if errors:
        raise errors[0]


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a symlink loop (Python < 3.13 raises RuntimeError)
        return path.absolute()
