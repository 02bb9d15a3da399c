"""``--reload``: watch directories and report changed files to the supervisor.

Runs `watchfiles` in a thread. Only files matching a ``--reload-pattern``
(gitignore-style globs, ``*.py`` by default) count. Files that a
``.gitignore`` at the top of a watched directory ignores do not count, unless
``--do-not-use-gitignore``; nor do the usual caches and editor files
(watchfiles' default filter), nor the worker's own log: the files its
standard output and error go to, and those of any logging file handler of
the supervisor. Otherwise a log kept in the app directory would reload the
worker for every line the reload itself logs.

The supervisor debounces what is reported (`taskiq.cli.worker.reload_gate`).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from taskiq.exceptions import TaskiqError

logger = logging.getLogger("taskiq.worker")

#: What ``--reload`` reacts to unless ``--reload-pattern`` says otherwise.
DEFAULT_RELOAD_PATTERNS = ("*.py",)


class ReloadUnavailableError(TaskiqError):
    """``--reload`` needs the optional dependencies of the ``reload`` extra."""

    __template__ = (
        "--reload needs watchfiles and pathspec: pip install 'taskiq[reload]' ({reason})."
    )


class ReloadWatcher:
    """Calls ``notify(paths)`` from a thread whenever relevant files change."""

    def __init__(
        self,
        dirs: Sequence[str],
        use_gitignore: bool,
        notify: Callable[[list[str]], None],
        patterns: Sequence[str] = DEFAULT_RELOAD_PATTERNS,
    ) -> None:
        self.dirs = [str(Path(directory).resolve()) for directory in dirs]
        self.use_gitignore = use_gitignore
        self.notify = notify
        self.patterns = list(patterns)
        self._own_logs = OwnLogFiles(set(), set())
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="taskiq-reload", daemon=True)

    def start(self) -> None:
        """Begin watching; raises `ReloadUnavailableError` without the extra."""
        try:
            import pathspec  # noqa: F401
            import watchfiles  # noqa: F401
        except ImportError as exc:
            raise ReloadUnavailableError(reason=str(exc)) from exc
        self._own_logs = OwnLogFiles.of_this_process()
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            # "N changes detected" per batch: our "Reloading the children" line says more.
            logging.getLogger("watchfiles").setLevel(logging.WARNING)
        self._thread.start()
        logger.info("Watching %s for changes to %s.", ", ".join(self.dirs), " ".join(self.patterns))

    def stop(self) -> None:
        """Stop watching (returns within watchfiles' polling step)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import watchfiles

        watch_filter = self.build_filter()
        for changes in watchfiles.watch(
            *self.dirs,
            watch_filter=watch_filter,
            stop_event=self._stop,
            raise_interrupt=False,
            debounce=400,
        ):
            self.notify(sorted({path for _, path in changes}))

    def build_filter(self) -> Callable[[Any, str], bool]:
        """watchfiles' ``watch_filter``: True for a change that should reload."""
        import pathspec
        import watchfiles

        default = watchfiles.DefaultFilter()
        roots = [Path(d) for d in self.dirs]
        wanted = pathspec.GitIgnoreSpec.from_lines(self.patterns)
        ignored: list[tuple[Path, Any]] = []
        if self.use_gitignore:
            specs = [(root, _gitignore_spec(root)) for root in roots]
            ignored = [(root, spec) for root, spec in specs if spec is not None]

        def relevant(change: Any, path: str) -> bool:
            if not default(change, path):
                return False
            if not any(_matched_by(wanted, root, path) for root in roots):
                return False
            if any(_matched_by(spec, root, path) for root, spec in ignored):
                return False
            return not self._own_logs.contains(path)

        return relevant


class OwnLogFiles:
    """The files this process logs to, recognised by path or by inode."""

    def __init__(self, paths: set[str], inodes: set[tuple[int, int]]) -> None:
        self.paths = paths
        self.inodes = inodes

    @classmethod
    def of_this_process(cls) -> OwnLogFiles:
        """Standard output and error when they are files, and logging file handlers."""
        paths: set[str] = set()
        inodes: set[tuple[int, int]] = set()
        for fd in (1, 2):
            try:
                info = os.fstat(fd)
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                inodes.add((info.st_dev, info.st_ino))
                with_path = _fd_path(fd)
                if with_path is not None:
                    paths.add(with_path)
        for handler in _all_handlers():
            if isinstance(handler, logging.FileHandler):
                paths.add(str(Path(handler.baseFilename).resolve()))
        return cls(paths, inodes)

    def contains(self, path: str) -> bool:
        """``path`` is one of these files (also after it was moved or deleted)."""
        if str(Path(path).resolve()) in self.paths:
            return True
        try:
            info = os.stat(path)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) in self.inodes


def _fd_path(fd: int) -> str | None:
    """The path behind ``fd`` where the system tells it (Linux ``/proc``)."""
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return None
    return target if target.startswith("/") else None


def _all_handlers() -> list[logging.Handler]:
    loggers: list[logging.Logger] = [logging.getLogger()]
    for candidate in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(candidate, logging.Logger):
            loggers.append(candidate)
    return [handler for each in loggers for handler in each.handlers]


def _gitignore_spec(directory: Path) -> Any:
    import pathspec

    gitignore = directory / ".gitignore"
    if not gitignore.is_file():
        return None
    lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _matched_by(spec: Any, root: Path, path: str) -> bool:
    try:
        relative = Path(path).relative_to(root)
    except ValueError:
        return False
    return bool(spec.match_file(relative.as_posix()))
