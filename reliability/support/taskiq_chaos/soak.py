"""The long mode: drain many tasks through one worker under mixed faults; RSS and storage flat.

Tasks go out in rounds of `ROUND` (a tenth of the total for a reduced soak);
during each round one fault is injected, in turn: none, a SIGKILL of a child,
a partition (every tenth one lasting ``long_partition`` seconds, else 5 s), a
server restart (RabbitMQ: a connection drop), a burst of malformed messages.
After each round the runs recorded so far are counted (one byte per task, so
a million tasks cost a megabyte), and the worker's resident memory and the
server's storage for the task queue are sampled. The verdict: no task lost,
duplicates within what the faults could leave in flight, no child crash
beyond the ones we caused, memory and storage flat (the last sample within a
bound of the first after warm-up).
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from redis.asyncio import Redis
from taskiq import AsyncKicker

from taskiq_chaos.brokers import RECORD_TASK
from taskiq_chaos.corpus import corpus_for
from taskiq_chaos.session import Options, Session
from taskiq_chaos.targets import TARGETS, Target

ROUND = 5_000
#: Growth allowed between the first sample after warm-up and the last one.
RSS_SLACK = 1.5
RSS_FLOOR = 30 * 1024 * 1024
STORAGE_SLACK = 2 * 1024 * 1024


@dataclass
class SoakFigures:
    broker: str
    tasks: int
    seconds: float = 0.0
    lost: int = 0
    duplicated: int = 0
    allowance: int = 0
    child_crashes: int = 0
    rounds: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    rss: list[int] = field(default_factory=list)
    storage: list[int] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: The supervisor's crash lines and each crashed child's last error, for the report.
    crash_log: list[str] = field(default_factory=list)

    def judge(self) -> None:
        if self.lost:
            self.problems.append(f"{self.lost} tasks lost")
        if self.duplicated > self.allowance:
            self.problems.append(
                f"{self.duplicated} duplicates, at most {self.allowance} explained"
            )
        if self.child_crashes:
            self.problems.append(f"{self.child_crashes} child crashes we did not cause")
        warm = self.rss[min(1, len(self.rss) - 1)] if self.rss else 0
        if self.rss and self.rss[-1] > max(warm * RSS_SLACK, warm + RSS_FLOOR):
            self.problems.append(f"worker RSS grew from {warm} to {self.rss[-1]} bytes")
        base = self.storage[min(1, len(self.storage) - 1)] if self.storage else 0
        if self.storage and self.storage[-1] > base + STORAGE_SLACK:
            self.problems.append(f"server storage grew from {base} to {self.storage[-1]} bytes")


class Counter:
    """Reads the run list incrementally into one byte per task."""

    def __init__(self, target: Target, total: int) -> None:
        self.target = target
        self.counts = bytearray(total)
        self.offset = 0
        self.client = Redis.from_url(target.client_config().record_url, decode_responses=True)

    async def pull(self) -> None:
        lines = await self.client.lrange(self.target.record_key, self.offset, self.offset + 49_999)
        self.offset += len(lines)
        for line in lines:
            seq = int(str(line).split(" ", 1)[0]) if str(line)[:1].isdigit() else -1
            if 0 <= seq < len(self.counts):
                self.counts[seq] = min(self.counts[seq] + 1, 255)

    async def wait_for(self, first: int, last: int, deadline: float) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            await self.pull()
            if all(self.counts[first:last]):
                return
            await asyncio.sleep(0.2)


async def _fault(session: Session, index: int, long_partition: float) -> str:
    """Inject the ``index``-th fault of the rotation; return its name."""
    target, kind = session.target, index % 5
    await asyncio.sleep(session.rng.uniform(0.1, 1.0))
    if kind == 1:
        session.worker.kill_child(session.rng.choice(session.worker.children()))
        session.child_kills += 1
        return "sigkill-child"
    if kind == 2:
        assert target.proxy is not None
        seconds = long_partition if index % 50 == 2 else 5.0
        await asyncio.to_thread(target.proxy.partition, seconds)
        return f"partition-{seconds:g}s"
    if kind == 3:
        if target.restartable:
            await target.restart_server()
            return "server-restart"
        assert target.proxy is not None
        await asyncio.to_thread(target.proxy.partition, 1.0)
        return "connection-drop"
    if kind == 4:
        for _name, payload, extra in corpus_for(target.kind):
            await target.push_raw(payload, extra)
        return "malformed-burst"
    return "none"


async def soak_one(kind: str, total: int, long_partition: float, directory: Path) -> SoakFigures:
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    target = TARGETS[kind](directory)
    figures = SoakFigures(kind, total)
    size = max(min(ROUND, total // 10), 1)  # a reduced soak still goes through every fault
    options = Options(tasks=total, workers=2, max_async_tasks=20)
    session = Session(target, options, directory, "soak", rng=random.Random(7))
    await target.start()
    counter = Counter(target, total)
    started = time.monotonic()
    try:
        await session.start_worker()
        assert target.client is not None
        kicker = AsyncKicker(task_name=RECORD_TASK, broker=target.client, labels={})
        for index, first in enumerate(range(0, total, size)):
            last = min(first + size, total)
            for start in range(first, last, 200):
                await asyncio.gather(*(kicker.kiq(s) for s in range(start, min(start + 200, last))))
            name = await _fault(session, index, long_partition)
            figures.faults[name] = figures.faults.get(name, 0) + 1
            figures.rounds += 1
            await counter.wait_for(first, last, deadline=300)
            figures.rss.append(session.worker.rss_bytes())
            figures.storage.append(await target.storage_now())
        await asyncio.sleep(target.redelivery_ms / 1000 + 1)
        await counter.pull()
        await asyncio.to_thread(session.worker.stop)
        figures.seconds = time.monotonic() - started
        figures.lost = sum(1 for count in counter.counts if count == 0)
        figures.duplicated = sum(count - 1 for count in counter.counts if count > 1)
        real_faults = sum(n for name, n in figures.faults.items() if name != "none")
        figures.allowance = real_faults * session.capacity
        crashes = sum(len(worker.crash_lines()) for worker in session.workers)
        figures.child_crashes = max(0, crashes - session.child_kills)
        if figures.child_crashes:
            figures.crash_log = session.log_excerpt(limit=12)
        figures.judge()
        return figures
    finally:
        for worker in session.workers:
            await asyncio.to_thread(worker.stop, 5.0)
        await counter.client.aclose()
        await target.close()


async def run_soak(total: int, brokers: list[str] | None, long_partition: float) -> int:
    """Soak each broker in turn; print the figures as JSON lines; 1 if any failed."""
    failed = 0
    with tempfile.TemporaryDirectory(prefix="taskiq-soak-") as tmp:
        for kind in brokers or sorted(TARGETS):
            figures = await soak_one(kind, total, long_partition, Path(tmp) / kind)
            summary = {
                **figures.__dict__,
                "rss": _ends(figures.rss),
                "storage": _ends(figures.storage),
            }
            print(json.dumps(summary), flush=True)
            failed += bool(figures.problems)
    return 1 if failed else 0


def _ends(samples: list[int]) -> dict[str, int]:
    """First (after warm-up), peak and last of a series of samples."""
    if not samples:
        return {}
    return {
        "after_warmup": samples[min(1, len(samples) - 1)],
        "peak": max(samples),
        "last": samples[-1],
    }
