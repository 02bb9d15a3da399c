"""The shared plumbing of the operations commands: loading APP, exit codes, --json."""

from __future__ import annotations

import json
import sys
import textwrap
from argparse import ArgumentParser, Namespace
from collections.abc import Iterator
from pathlib import Path

import pytest
from taskiq.abc.broker import AsyncBroker
from taskiq.cli.ops import EXIT_FAILED, EXIT_NOT_SUPPORTED, OpsCommand, Output
from taskiq.control import dead_letters_of


class CountTasks(OpsCommand):
    name = "count-tasks"
    short_help = "test command"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--plus", type=int, default=0)

    async def run(self, broker: AsyncBroker, args: Namespace, out: Output) -> int:
        count = len(broker.get_all_tasks()) + args.plus
        if out.as_json:
            out.json({"tasks": count, "started": not broker.is_worker_process})
        else:
            out.table("Tasks", ["count"], [[count], [None]])
        return 0


class AskDeadLetters(OpsCommand):
    name = "ask"

    async def run(self, broker: AsyncBroker, args: Namespace, out: Output) -> int:
        await dead_letters_of(broker).count()
        return 0


@pytest.fixture
def app_dir(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "ops_app.py").write_text(
        textwrap.dedent(
            """
            from taskiq import InMemoryBroker
            broker = InMemoryBroker()

            @broker.task(task_name="ops_app:one")
            async def one() -> None: ...

            def make_broker():
                return broker
            """
        )
    )
    yield tmp_path
    sys.modules.pop("ops_app", None)


def test_json_output_is_one_document(app_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = CountTasks().exec(["ops_app:broker", "--app-dir", str(app_dir), "--json", "--plus", "2"])
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    assert document["started"] is True
    assert document["tasks"] >= 3


def test_a_factory_function_and_tables(app_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert CountTasks().exec(["ops_app:make_broker", "--app-dir", str(app_dir)]) == 0
    printed = capsys.readouterr().out
    assert "Tasks" in printed
    assert "-" in printed  # an unknown cell is shown as '-', never a guess


def test_unsupported_is_one_line_and_exit_2(
    app_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert AskDeadLetters().exec(["ops_app:broker", "--app-dir", str(app_dir)]) == (
        EXIT_NOT_SUPPORTED
    )
    err = capsys.readouterr().err.strip()
    assert "InMemoryBroker" in err
    assert "\n" not in err


def test_a_bad_app_is_one_line_and_exit_1(
    app_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert CountTasks().exec(["ops_app:nope", "--app-dir", str(app_dir)]) == EXIT_FAILED
    err = capsys.readouterr().err.strip()
    assert err.startswith("taskiq count-tasks:")
    assert "\n" not in err


def test_not_a_broker(app_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert CountTasks().exec(["ops_app:one", "--app-dir", str(app_dir)]) == EXIT_FAILED
    assert "is not a taskiq broker" in capsys.readouterr().err
