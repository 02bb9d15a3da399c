"""One scenario's run: a target, the worker processes, the tasks sent and the faults.

A scenario is a coroutine that gets a `Session`, sends tasks, injects faults
while the worker drains them and returns; `Session.finish` then waits for the
drain (and a quiet spell in which late duplicates would show), stops the
workers and turns the recorded runs into a `Report`.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from taskiq import AsyncKicker

from taskiq_chaos.brokers import RECORD_TASK
from taskiq_chaos.report import Fault, Report, TaskRun, analyse
from taskiq_chaos.targets import Target
from taskiq_chaos.worker import WorkerProcess


@dataclass
class Options:
    """Sizes of a scenario (the CI short form uses the defaults)."""

    tasks: int = 200
    partition_seconds: float = 5.0
    workers: int = 2
    max_async_tasks: int = 4
    max_prefetch: int = 0
    drain_deadline: float = 90.0
    seed: int | None = None
    worker_args: tuple[str, ...] = ()


@dataclass
class Session:
    target: Target
    options: Options
    log_dir: Path
    scenario: str
    rng: random.Random = field(default_factory=random.Random)
    workers: list[WorkerProcess] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)
    task_ids: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    child_kills: int = 0

    @property
    def worker(self) -> WorkerProcess:
        return self.workers[-1]

    @property
    def capacity(self) -> int:
        """Tasks the workers can hold at once (run + prefetch + broker prefetch)."""
        per_child = self.options.max_async_tasks + self.options.max_prefetch + self.target.qos
        return max((w.workers for w in self.workers), default=self.options.workers) * per_child

    async def start_worker(self, workers: int | None = None) -> WorkerProcess:
        """Start ``taskiq worker`` with ``workers`` children (default: the options')."""
        worker = WorkerProcess(
            self.target.worker_config(),
            self.log_dir / f"worker-{len(self.workers)}.log",
            workers=workers or self.options.workers,
            max_async_tasks=self.options.max_async_tasks,
            extra_args=(
                "--max-prefetch",
                str(self.options.max_prefetch),
                *self.options.worker_args,
            ),
        )
        self.workers.append(worker)
        await asyncio.to_thread(worker.wait_ready)
        return worker

    # -- sending -------------------------------------------------------------

    async def send(self, count: int, pause: tuple[float, float] = (0.01, 0.06)) -> None:
        """Send ``count`` record tasks with the next seqs (only the accepted count as sent)."""
        assert self.target.client is not None
        kicker = AsyncKicker(task_name=RECORD_TASK, broker=self.target.client, labels={})
        first = len(self.sent)
        if not first:
            self.started_at = time.time()  # stalls count from the first task sent
        seqs = list(range(first, first + count))
        for start in range(0, len(seqs), 50):
            batch = seqs[start : start + 50]
            tasks = await asyncio.gather(
                *(kicker.kiq(seq, self.rng.uniform(*pause)) for seq in batch)
            )
            self.task_ids.update(
                (seq, task.task_id) for seq, task in zip(batch, tasks, strict=True)
            )
            self.sent += batch

    async def kick(self, task_name: str, *args: object, **labels: object) -> None:
        assert self.target.client is not None
        await AsyncKicker(task_name=task_name, broker=self.target.client, labels=dict(labels)).kiq(
            *args
        )

    # -- observing -----------------------------------------------------------

    async def runs(self) -> list[TaskRun]:
        lines = await self.target.run_lines()
        return [TaskRun.parse(line) for line in lines if line.split(" ", 1)[0].isdigit()]

    async def done_count(self) -> int:
        sent = set(self.sent)
        return len({run.seq for run in await self.runs() if run.seq in sent})

    async def wait_done(self, fraction: float, deadline: float | None = None) -> None:
        """Wait until ``fraction`` of the sent tasks ran at least once (or the deadline)."""
        wanted = int(len(self.sent) * fraction)

        async def enough() -> bool:
            return await self.done_count() >= wanted

        await until(enough, deadline or self.options.drain_deadline)

    async def at_random_moment(self) -> None:
        """Wait until between 10 % and 60 % of the sent tasks are done."""
        await self.wait_done(self.rng.uniform(0.1, 0.6))

    def fault(self, kind: str, start: float, killed: set[int] | None = None) -> None:
        self.faults.append(Fault(kind, start, time.time(), killed or set()))

    # -- finishing -----------------------------------------------------------

    async def finish(self) -> Report:
        """Drain, wait out late redeliveries, stop the workers, compute the report."""
        await self.wait_done(1.0)
        await asyncio.sleep(self.target.redelivery_ms / 1000 + 0.5)  # late duplicates show here
        for worker in self.workers:
            await asyncio.to_thread(worker.stop)
        report = Report(self.scenario, self.target.kind, notes=self.notes)
        crashes = sum(len(worker.crash_lines()) for worker in self.workers)
        report.child_crashes = max(0, crashes - self.child_kills)
        analyse(report, self.sent, await self.runs(), self.faults, self.capacity, self.started_at)
        report.problems += self.problems
        if not report.passed:
            report.notes += self.log_excerpt()
        return report

    def log_excerpt(self, limit: int = 10) -> list[str]:
        """The worker log lines that explain a failure: crashes first, then errors."""
        ranked: list[tuple[int, str]] = []
        for worker in self.workers:
            for line in worker.log().splitlines():
                rank = next((i for i, w in enumerate(_TELLING) if w in line), None)
                if rank is not None:
                    ranked.append((rank, f"{worker.log_path.name}: {line[:300]}"))
        return [line for _, line in sorted(ranked, key=lambda item: item[0])[:limit]]


#: Log words that explain a failure, most telling first.
_TELLING = ("died (", "exited on its own", "[ERROR]", "Error:", "[WARNING]")

Scenario = Callable[[Session], Awaitable[None]]


async def until(condition: Callable[[], Awaitable[bool]], deadline: float) -> bool:
    """Poll ``condition`` until it holds or ``deadline`` seconds pass; tell which."""
    end = time.monotonic() + deadline
    while True:
        if await condition():
            return True
        if time.monotonic() > end:
            return False
        await asyncio.sleep(0.05)


async def run_scenario(
    target: Target,
    scenario: Scenario,
    name: str,
    log_dir: Path,
    options: Options | None = None,
) -> Report:
    """Start ``target``, run ``scenario`` against it, return its report; always clean up."""
    options = options or Options()
    await asyncio.to_thread(log_dir.mkdir, parents=True, exist_ok=True)
    session = Session(target, options, log_dir, name, rng=random.Random(options.seed))
    await target.start()
    try:
        await scenario(session)
        return await session.finish()
    finally:
        for worker in session.workers:
            await asyncio.to_thread(worker.stop, 5.0)
        await target.close()
