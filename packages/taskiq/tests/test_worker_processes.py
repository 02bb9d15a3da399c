"""``taskiq worker`` as users run it: real supervisor and child processes over Redis."""

from __future__ import annotations

import os
import re
import signal
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "support"))
from worker_harness import Harness

pytestmark = pytest.mark.slow


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_workers_flag_starts_that_many_children_which_all_run_tasks(
    harness: Harness,
) -> None:
    worker = harness.worker("app:broker", "--workers", "2")
    started = await harness.wait_items("started", 2)
    assert len(set(started)) == 2
    for number in range(6):
        await harness.kick("record", f"t{number}")
    done = await harness.wait_items("done", 6)
    assert sorted(item.split(":")[0] for item in done) == [f"t{n}" for n in range(6)]
    assert {item.split(":")[1] for item in done} <= set(started)
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_sigterm_stops_fetching_at_once_and_finishes_running_tasks(
    harness: Harness,
) -> None:
    worker = harness.worker("app:broker", "--workers", "1")
    await harness.wait_items("started", 1)
    await harness.kick("block", "running")
    await harness.wait_items("begun", 1)
    worker.send(signal.SIGTERM)
    await worker.wait_log("Stop requested (SIGTERM)")
    await harness.kick("record", "late")
    await harness.release()
    assert await worker.wait_exit() == 0
    done = await harness.items("done")
    assert [item.split(":")[0] for item in done] == ["running"]
    assert await harness.queue_length() == 1  # "late" was left to the broker


async def test_wait_tasks_timeout_bounds_the_graceful_stop(harness: Harness) -> None:
    worker = harness.worker("app:broker", "--workers", "1", "--wait-tasks-timeout", "0.5")
    await harness.wait_items("started", 1)
    await harness.kick("block", "never-released")
    await harness.wait_items("begun", 1)
    worker.send(signal.SIGINT)
    assert await worker.wait_exit() == 0
    assert await harness.items("done") == []
    assert "--wait-tasks-timeout" in worker.log() or "wait_tasks_timeout" in worker.log()


async def test_hardkill_count_signals_kill_the_children(harness: Harness) -> None:
    worker = harness.worker("app:broker", "--workers", "1", "--hardkill-count", "2")
    [child] = await harness.wait_items("started", 1)
    await harness.kick("block", "stuck")
    await harness.wait_items("begun", 1)
    worker.send(signal.SIGTERM)
    await worker.wait_log("Stop requested (SIGTERM)")
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 1
    assert not _alive(int(child))
    assert "Killing 1 children" in worker.log()


async def test_crashed_child_is_restarted_until_max_fails_is_exceeded(
    harness: Harness,
) -> None:
    worker = harness.worker("app:broker", "--workers", "1", "--max-fails", "1")
    [first] = await harness.wait_items("started", 1)
    await harness.kick("crash")
    started = await harness.wait_items("started", 2)
    assert started[1] != first
    await harness.kick("record", "after-restart")
    [done] = await harness.wait_items("done", 1)
    assert done.split(":")[:2] == ["after-restart", started[1]]
    await harness.kick("crash")
    assert await worker.wait_exit() == 1
    log = worker.log()
    assert "died (exit code 13)" in log
    assert "more than --max-fails=1" in log


async def test_max_tasks_per_child_replaces_the_child_at_once_without_losing_messages(
    harness: Harness,
) -> None:
    worker = harness.worker("app:broker", "--workers", "1", "--max-tasks-per-child", "2")
    [old] = await harness.wait_items("started", 1)
    await harness.kick("block", "a")
    await harness.kick("block", "b")
    await harness.wait_items("begun", 2)
    # The old child holds a and b, still running; its replacement serves the queue now.
    [_, new] = await harness.wait_items("started", 2)
    await harness.kick("record", "c")
    [done] = await harness.wait_items("done", 1)
    assert done.split(":")[:2] == ["c", new]
    await harness.release()
    done = await harness.wait_items("done", 3)
    assert sorted(item.split(":")[0] for item in done) == ["a", "b", "c"]
    assert {item.split(":")[1] for item in done if item[0] in "ab"} == {old}
    await harness.wait_for(lambda: _async(not _alive(int(old))))
    assert worker.process.poll() is None  # the supervisor keeps running
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_max_tasks_per_child_keeps_every_slot_alive_over_many_tasks(
    harness: Harness,
) -> None:
    worker = harness.worker("app:broker", "--workers", "2", "--max-tasks-per-child", "3")
    for number in range(20):
        await harness.kick("record", f"t{number}")
    done = await harness.wait_items("done", 20)
    assert sorted(item.split(":")[0] for item in done) == sorted(f"t{n}" for n in range(20))
    per_child: dict[str, int] = {}
    for item in done:
        per_child[item.split(":")[1]] = per_child.get(item.split(":")[1], 0) + 1
    assert max(per_child.values()) <= 3
    assert await harness.queue_length() == 0
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_sighup_reloads_children_with_new_code(harness: Harness) -> None:
    worker = harness.worker("app:broker", "--workers", "1")
    [old] = await harness.wait_items("started", 1)
    await harness.kick("record", "before")
    [before] = await harness.wait_items("done", 1)
    assert before.endswith(":v1")
    app = harness.app_dir / "app.py"
    app.write_text(app.read_text().replace('VERSION = "v1"', 'VERSION = "v2"'))
    worker.send(signal.SIGHUP)
    await worker.wait_log(f"worker-0 (pid {old}) exited")
    await harness.kick("record", "after")
    done = await harness.wait_items("done", 2)
    assert done[1].startswith("after:")
    assert done[1].endswith(":v2")
    assert worker.process.poll() is None
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_sighup_with_broken_code_keeps_the_old_children(harness: Harness) -> None:
    worker = harness.worker("app:broker", "--workers", "1")
    await harness.wait_items("started", 1)
    app = harness.app_dir / "app.py"
    app.write_text(app.read_text() + "\nthis is not python\n")
    worker.send(signal.SIGHUP)
    await worker.wait_log("New code cannot be loaded")
    await harness.kick("record", "still-served")
    [done] = await harness.wait_items("done", 1)
    assert done.startswith("still-served:")
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_max_async_tasks_and_max_prefetch_bound_a_child(harness: Harness) -> None:
    worker = harness.worker(
        "app:broker", "--workers", "1", "--max-async-tasks", "2", "--max-prefetch", "1"
    )
    for number in range(6):
        await harness.kick("block", f"t{number}")

    async def saturated() -> bool:
        return await harness.counter("running") == 2 and await harness.queue_length() == 3

    # Two run, one waits in the child, three stay in the queue.
    await harness.wait_for(saturated)
    await harness.release()
    await harness.wait_items("done", 6)
    samples = [int(sample) for sample in await harness.items("samples")]
    assert max(samples) == 2
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_sync_tasks_run_in_a_bounded_thread_pool(harness: Harness) -> None:
    worker = harness.worker("app:broker", "--workers", "1", "--max-threadpool-threads", "2")
    [child] = await harness.wait_items("started", 1)
    for number in range(4):
        await harness.kick("sync_block", f"t{number}")

    async def two_running_two_waiting() -> bool:
        begun = await harness.items("begun")
        return len(begun) == 2 and await harness.queue_length() == 0

    await harness.wait_for(two_running_two_waiting)
    await harness.release()
    done = await harness.wait_items("done", 4)
    assert max(int(sample) for sample in await harness.items("samples")) == 2
    assert {item.split(":")[1] for item in done} == {child}  # threads of the child
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_use_process_pool_runs_sync_tasks_in_other_processes(harness: Harness) -> None:
    worker = harness.worker(
        "app:broker",
        "--workers",
        "1",
        "--use-process-pool",
        "--max-process-pool-processes",
        "1",
    )
    [child] = await harness.wait_items("started", 1)
    await harness.kick("sync_pid", "p")
    [done] = await harness.wait_items("done", 1)
    tag, pid, parent = done.split(":")
    assert tag == "p"
    assert pid != child
    assert parent == child
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def _async(value: bool) -> bool:
    return value


@pytest.mark.parametrize(
    ("flags", "acked_while_running"),
    [([], False), (["--ack-type", "when_received"], True)],
)
async def test_ack_type_chooses_when_messages_are_acknowledged(
    harness: Harness,
    flags: list[str],
    acked_while_running: bool,
) -> None:
    worker = harness.worker("app:broker", "--workers", "1", *flags)
    await harness.kick("block", "a")
    await harness.wait_items("begun", 1)
    if acked_while_running:
        await harness.wait_items("queue:acks", 1)
    else:
        assert await harness.items("queue:acks") == []  # when_saved: not before the end
    await harness.release()
    await harness.wait_items("done", 1)
    await harness.wait_items("queue:acks", 1)
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


@pytest.mark.parametrize(
    ("flags", "teardown"),
    [([], "saw-error"), (["--no-propagate-errors"], "clean")],
)
async def test_no_propagate_errors_keeps_task_errors_out_of_dependencies(
    harness: Harness,
    flags: list[str],
    teardown: str,
) -> None:
    worker = harness.worker("app:broker", "--workers", "1", *flags)
    await harness.kick("fail")
    assert await harness.wait_items("teardown", 1) == [teardown]
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0


async def test_shutdown_timeout_bounds_a_hanging_broker_shutdown(harness: Harness) -> None:
    await harness.redis.set(harness.key("hang-shutdown"), 1)
    worker = harness.worker("app:broker", "--workers", "1", "--shutdown-timeout", "0.5")
    await harness.wait_items("started", 1)
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0
    assert "longer than --shutdown-timeout=0.5s" in worker.log()


async def test_graceful_stop_runs_the_worker_shutdown_event(harness: Harness) -> None:
    worker = harness.worker("app:broker", "--workers", "2")
    started = await harness.wait_items("started", 2)
    worker.send(signal.SIGINT)
    assert await worker.wait_exit() == 0
    assert sorted(await harness.items("shutdown")) == sorted(started)


async def test_children_stop_when_the_supervisor_is_killed(harness: Harness) -> None:
    worker = harness.worker("app:broker", "--workers", "1")
    [child] = await harness.wait_items("started", 1)
    worker.process.kill()
    worker.process.wait()
    assert await harness.wait_items("shutdown", 1) == [child]
    await harness.wait_for(lambda: _async(not _alive(int(child))))


async def test_quick_successive_reloads_leave_exactly_one_child_per_slot(
    harness: Harness,
) -> None:
    worker = harness.worker("app:broker", "--workers", "1")
    [old] = await harness.wait_items("started", 1)
    worker.send(signal.SIGHUP)
    await worker.wait_log("Reloading the children")
    worker.send(signal.SIGHUP)  # while the first replacement is still starting
    await worker.wait_log("Reloading the children", count=2)

    async def only_the_newest_child_lives() -> bool:
        # The supervisor logs every child it starts; a replacement stopped by the
        # second SIGHUP may die before its startup hook ever records it.
        spawned = re.findall(r"Started worker-0 \(pid (\d+)\)", worker.log())
        if len(spawned) < 3:
            return False
        *replaced, newest = (int(pid) for pid in spawned)
        return _alive(newest) and not any(_alive(pid) for pid in replaced)

    await harness.wait_for(only_the_newest_child_lives)
    assert not _alive(int(old))
    await harness.kick("record", "served")
    await harness.wait_items("done", 1)
    worker.send(signal.SIGTERM)
    assert await worker.wait_exit() == 0
