"""``--reload``: watch directories and report changed files to the supervisor.

Runs `watchfiles` in a thread. Files that a ``.gitignore`` at the top of a
watched directory ignores do not count, unless ``--do-not-use-gitignore``;
nor do the usual caches and editor files (watchfiles' default filter).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from taskiq.exceptions import TaskiqError

logger = logging.getLogger("taskiq.worker")


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
    ) -> None:
        self.dirs = [str(Path(directory).resolve()) for directory in dirs]
        self.use_gitignore = use_gitignore
        self.notify = notify
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="taskiq-reload", daemon=True)

    def start(self) -> None:
        """Begin watching; raises `ReloadUnavailableError` without the extra."""
        try:
            import pathspec  # noqa: F401
            import watchfiles  # noqa: F401
        except ImportError as exc:
            raise ReloadUnavailableError(reason=str(exc)) from exc
        self._thread.start()
        logger.info("Watching %s for changes.", ", ".join(self.dirs))

    def stop(self) -> None:
        """Stop watching (returns within watchfiles' polling step)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import watchfiles

        watch_filter = self._build_filter()
        for changes in watchfiles.watch(
            *self.dirs,
            watch_filter=watch_filter,
            stop_event=self._stop,
            raise_interrupt=False,
            debounce=400,
        ):
            self.notify(sorted({path for _, path in changes}))

    def _build_filter(self) -> Callable[[Any, str], bool]:
        import watchfiles

        default = watchfiles.DefaultFilter()
        ignored: list[tuple[Path, Any]] = []
        if self.use_gitignore:
            specs = [(Path(d), _gitignore_spec(d)) for d in self.dirs]
            ignored = [(root, spec) for root, spec in specs if spec is not None]

        def relevant(change: Any, path: str) -> bool:
            if not default(change, path):
                return False
            return not any(_ignored_by(spec, root, path) for root, spec in ignored)

        return relevant


def _gitignore_spec(directory: str) -> Any:
    import pathspec

    gitignore = Path(directory) / ".gitignore"
    if not gitignore.is_file():
        return None
    lines = gitignore.read_text(encoding="utf-8", errors="replace").splitlines()
    return pathspec.GitIgnoreSpec.from_lines(lines)


def _ignored_by(spec: Any, root: Path, path: str) -> bool:
    try:
        relative = Path(path).relative_to(root)
    except ValueError:
        return False
    return bool(spec.match_file(relative.as_posix()))
