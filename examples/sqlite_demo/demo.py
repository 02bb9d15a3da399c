"""Basic Usage across processes: a real ``taskiq worker`` and this client, one SQLite file.

Starts ``taskiq worker tasks:broker`` on a file in a temporary folder, sends the
two tasks from this process, prints their results, then stops the worker with
SIGTERM (as a service manager would) and checks that it exited cleanly.
"""

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
#: Seconds the worker may take to start, run both tasks, or stop.
DEADLINE = 60


def start_worker(db: Path, log: Path) -> subprocess.Popen:
    with log.open("wb") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "taskiq", "worker", "tasks:broker", "--workers", "1"],
            cwd=HERE,
            env={**os.environ, "DEMO_DB": str(db), "PYTHONUNBUFFERED": "1"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )


async def send_tasks(db: Path) -> None:
    os.environ["DEMO_DB"] = str(db)
    sys.path.insert(0, str(HERE))
    from tasks import add_numbers, broker, multiply_numbers

    await broker.startup()
    try:
        result1 = await add_numbers.kiq(5, 3)
        result2 = await multiply_numbers.kiq(4, 7)
        value1 = await result1.wait_result(timeout=DEADLINE)
        value2 = await result2.wait_result(timeout=DEADLINE)
        print(f"Addition result: {value1}")
        print(f"Multiplication result: {value2}")
    finally:
        await broker.shutdown()


def stop_worker(worker: subprocess.Popen) -> int:
    worker.send_signal(signal.SIGTERM)
    try:
        return worker.wait(timeout=DEADLINE)
    except subprocess.TimeoutExpired:
        worker.kill()
        return worker.wait()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="taskiq-sqlite-demo-") as folder:
        db, log = Path(folder) / "tasks.db", Path(folder) / "worker.log"
        print(f"SQLiteBroker, no server: a taskiq worker process on {db}")
        worker = start_worker(db, log)
        try:
            asyncio.run(send_tasks(db))
        except Exception as exc:
            print(f"The demo failed: {exc}", file=sys.stderr)
            stop_worker(worker)
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
            return 1
        code = stop_worker(worker)
        if code != 0:
            print(f"The worker exited with {code}; its log:", file=sys.stderr)
            print(log.read_text(errors="replace")[-3000:], file=sys.stderr)
            return 1
        print("Worker stopped cleanly.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
