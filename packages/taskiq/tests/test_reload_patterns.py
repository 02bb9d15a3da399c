"""Which changed files count for ``--reload``: patterns, .gitignore, the worker's own log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from taskiq.cli.worker.args import WorkerArgs
from taskiq.cli.worker.reloader import ReloadWatcher

watchfiles = pytest.importorskip("watchfiles")


def _relevant(root: Path, patterns: list[str] | None = None) -> list[str]:
    candidates = ["app.py", "pkg/deep/mod.py", "worker.log", "config/app.toml", "app.toml"]
    for name in candidates:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("")
    if patterns is None:
        watcher = ReloadWatcher([str(root)], True, lambda paths: None)
    else:
        watcher = ReloadWatcher([str(root)], True, lambda paths: None, patterns)
    relevant = watcher.build_filter()
    modified = watchfiles.Change.modified
    return [name for name in candidates if relevant(modified, str(root.resolve() / name))]


def test_python_files_at_any_depth_by_default(tmp_path: Path) -> None:
    assert _relevant(tmp_path) == ["app.py", "pkg/deep/mod.py"]


def test_patterns_are_gitignore_style_globs_relative_to_the_watched_dir(tmp_path: Path) -> None:
    assert _relevant(tmp_path, ["config/*.toml", "*.log"]) == ["worker.log", "config/app.toml"]


def test_gitignore_still_wins_over_a_pattern(tmp_path: Path) -> None:
    (tmp_path / ".gitignore").write_text("pkg/\n")
    assert _relevant(tmp_path) == ["app.py"]


def test_a_file_logged_to_by_this_process_never_counts(tmp_path: Path) -> None:
    handler = logging.FileHandler(tmp_path / "worker.log")
    logging.getLogger("taskiq.test-own-log").addHandler(handler)
    try:
        watcher = ReloadWatcher([str(tmp_path)], True, lambda paths: None, ["*"])
        watcher.start()
        watcher.stop()
        relevant = watcher.build_filter()
        modified = watchfiles.Change.modified
        assert not relevant(modified, str(tmp_path.resolve() / "worker.log"))
        (tmp_path / "other.log").write_text("")
        assert relevant(modified, str(tmp_path.resolve() / "other.log"))
    finally:
        logging.getLogger("taskiq.test-own-log").removeHandler(handler)
        handler.close()


def test_reload_pattern_is_repeatable_and_replaces_the_default() -> None:
    assert WorkerArgs.from_cli(["app:broker"]).reload_patterns == ["*.py"]
    args = WorkerArgs.from_cli(
        ["app:broker", "--reload-pattern", "*.py", "--reload-pattern", "*.j2"]
    )
    assert args.reload_patterns == ["*.py", "*.j2"]
