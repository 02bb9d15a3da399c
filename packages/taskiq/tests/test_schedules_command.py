"""``taskiq schedules`` on label schedules: listed with policies, read-only changes exit 2."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from taskiq.cli.ops.schedules import SchedulesCMD

APP = textwrap.dedent(
    """
    from taskiq import InMemoryBroker, TaskiqScheduler
    from taskiq.schedule_sources import LabelScheduleSource

    broker = InMemoryBroker()


    @broker.task(
        task_name="sync",
        schedule=[{"cron": "*/5 * * * * *", "overlap": "skip", "schedule_id": "sync-5s"}],
    )
    async def sync() -> None: ...


    scheduler = TaskiqScheduler(broker, [LabelScheduleSource(broker)])
    """,
)


@pytest.fixture
def app_dir(tmp_path: Path) -> str:
    (tmp_path / "label_app.py").write_text(APP)
    return str(tmp_path)


def test_list_shows_label_schedules_with_their_policies(
    app_dir: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = SchedulesCMD().exec(["label_app:scheduler", "list", "--json", "--app-dir", app_dir])
    assert code == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["schedule_id"], row["overlap"], row["source"]) == (
        "sync-5s",
        "skip",
        "LabelScheduleSource",
    )
    assert row["next_fire"].endswith(("0:00", "5:00", "0+00:00", "5+00:00"))


def test_next_lists_fire_times_on_the_cron_seconds(
    app_dir: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = ["label_app:scheduler", "next", "sync-5s", "--count", "4", "--json"]
    assert SchedulesCMD().exec([*args, "--app-dir", app_dir]) == 0
    fires = json.loads(capsys.readouterr().out)["next"]
    assert len(fires) == 4
    assert all(int(fire[17:19]) % 5 == 0 for fire in fires)


def test_pausing_a_label_schedule_is_not_supported(
    app_dir: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = SchedulesCMD().exec(["label_app:scheduler", "pause", "sync-5s", "--app-dir", app_dir])
    assert code == 2
    assert "read-only" in capsys.readouterr().err


def test_an_action_without_an_id_is_refused(
    app_dir: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert SchedulesCMD().exec(["label_app:scheduler", "pause", "--app-dir", app_dir]) == 1
    assert "give the schedule id" in capsys.readouterr().err


def test_an_app_that_is_not_a_scheduler_is_refused(
    app_dir: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert SchedulesCMD().exec(["label_app:broker", "list", "--app-dir", app_dir]) == 1
    assert "not a TaskiqScheduler" in capsys.readouterr().err
