"""The queue-inspection contract's accessor, and the commands on a broker without it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from taskiq import InMemoryBroker, NotSupportedError, QueueDepth, queues_of
from taskiq.cli.ops.dead_letters import DeadLettersCMD
from taskiq.cli.ops.status import QUEUE_COLUMNS, depth_row, workers_section


def test_a_broker_without_inspection_says_so_in_one_line() -> None:
    with pytest.raises(NotSupportedError, match=r"^Not supported by InMemoryBroker: queue"):
        queues_of(InMemoryBroker())


def test_an_unknown_count_stays_none_in_a_row() -> None:
    depth = QueueDepth("q", ready=3, delayed=None, in_flight=None, dead=0)
    assert depth_row(depth) == ["q", 3, None, None, 0]
    assert len(QUEUE_COLUMNS) == len(depth_row(depth))


async def test_the_workers_section_lists_heartbeats_and_is_left_out_without_them() -> None:
    from taskiq.result_backends.dummy import DummyResultBackend

    empty = await workers_section(InMemoryBroker())  # the in-memory backend keeps heartbeats
    assert empty is not None
    assert (empty.key, empty.rows, empty.document) == ("workers", [], [])
    no_heartbeats = InMemoryBroker().with_result_backend(DummyResultBackend())
    assert await workers_section(no_heartbeats) is None


@pytest.mark.parametrize(
    "args",
    [
        ["status", "mem_app:broker"],
        ["purge", "mem_app:broker", "--yes"],
        ["dead-letters", "mem_app:broker", "count"],
    ],
)
def test_commands_exit_2_on_a_broker_that_cannot(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "mem_app.py").write_text(
        "from taskiq import InMemoryBroker\nbroker = InMemoryBroker()\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "taskiq", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "not supported by InMemoryBroker" in done.stderr.lower().replace(
        "inmemorybroker", "InMemoryBroker"
    )
    assert done.stderr.strip().count("\n") == 0


def test_replay_needs_ids_or_all_not_both(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "dl_app.py").write_text(
        textwrap.dedent(
            """
            from taskiq import InMemoryBroker
            from taskiq.control import DeadLetterPage, DeadLetterStore

            class Empty(DeadLetterStore):
                async def list(self, limit=100, cursor=None):
                    return DeadLetterPage((), None)
                async def count(self):
                    return 0
                async def replay(self, ids, *, to_queue=None):
                    return 0
                async def replay_all(self, *, to_queue=None):
                    return 0
                async def delete(self, ids):
                    return 0
                async def delete_all(self):
                    return 0

            class Keeping(InMemoryBroker):
                def dead_letter_store(self, queue=None):
                    return Empty()

            broker = Keeping()
            """
        )
    )
    base = ["dl_app:broker", "--app-dir", str(tmp_path)]
    try:
        assert DeadLettersCMD().exec([*base, "replay", "1", "--all", "--yes"]) == 1
        assert "not both" in capsys.readouterr().err
        assert DeadLettersCMD().exec([*base, "delete", "--yes"]) == 1
        assert DeadLettersCMD().exec([*base, "delete", "--all", "--json"]) == 0
        assert '"deleted": 0' in capsys.readouterr().out
    finally:
        sys.modules.pop("dl_app", None)
