"""The scenarios: each sends tasks, injects one kind of fault while they drain, and returns.

`SCENARIOS` are the ones every broker must pass; `KNOWN_FAILURES` reproduce
issue 21 items fixed on other branches (the tests mark them as expected to
fail until those land). See reliability/README.md for what each one does.
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio

from taskiq_chaos.brokers import BLOCK_TASK
from taskiq_chaos.corpus import ABSURD_LABELS, HUGE_ENTRY, Item, corpus_for
from taskiq_chaos.results import check_forged_results
from taskiq_chaos.session import Scenario, Session, until


async def sigkill_child(session: Session) -> None:
    """SIGKILL one worker child at a random moment; the supervisor restarts it."""
    await session.start_worker()
    await session.send(session.options.tasks)
    await session.at_random_moment()
    children = session.worker.children()
    victim = session.rng.choice(children)
    moment = time.time()
    session.worker.kill_child(victim)
    session.child_kills += 1
    session.fault("SIGKILL child", moment, {victim})


async def sigkill_group(session: Session) -> None:
    """SIGKILL the supervisor and all children at once, then start a new worker."""
    await session.start_worker(workers=1)
    await session.send(session.options.tasks)
    await session.at_random_moment()
    doomed = {session.worker.pid, *session.worker.children()}
    moment = time.time()
    await asyncio.to_thread(session.worker.kill_group)
    session.fault("SIGKILL group", moment, doomed)
    await session.start_worker(workers=1)


async def server_restart(session: Session) -> None:
    """Stop our own server (SIGTERM) for a second and start it again on the same port.

    The shared RabbitMQ is never restarted: there every connection is dropped
    instead (the proxy cuts them for a second), which is what a client sees.
    """
    await session.start_worker(workers=1)
    await session.send(session.options.tasks)
    await session.at_random_moment()
    moment = time.time()
    if session.target.restartable:
        await session.target.restart_server(down_for=1.0)
        session.fault("server restart", moment)
    else:
        assert session.target.proxy is not None
        await asyncio.to_thread(session.target.proxy.partition, 1.0)
        session.fault("all connections dropped", moment)


async def partition(session: Session) -> None:
    """Cut the worker off its server (connections dropped, new ones refused) for a while."""
    await session.start_worker(workers=1)
    await session.send(session.options.tasks)
    await session.at_random_moment()
    assert session.target.proxy is not None
    moment = time.time()
    await asyncio.to_thread(session.target.proxy.partition, session.options.partition_seconds)
    session.fault(f"{session.options.partition_seconds:g} s partition", moment)


async def restart_during_partition(session: Session) -> None:
    """A child is SIGKILLed while the worker is cut off: its replacement starts in the outage."""
    await session.start_worker(workers=1)
    await session.send(session.options.tasks)
    await session.at_random_moment()
    proxy = session.target.proxy
    assert proxy is not None
    moment = time.time()
    proxy.cut()
    victim = session.rng.choice(session.worker.children())
    started = session.worker.log().count("Started worker-")
    session.worker.kill_child(victim)
    session.child_kills += 1

    async def replaced() -> bool:
        return session.worker.log().count("Started worker-") > started

    await until(replaced, 30)
    # Long enough for the replacement to import the app and try to connect.
    await asyncio.sleep(max(session.options.partition_seconds, 8.0))
    proxy.heal()
    session.fault(
        f"SIGKILL child in a {session.options.partition_seconds:g} s partition", moment, {victim}
    )


async def _push_corpus(session: Session, items: list[Item]) -> None:
    """Good tasks before, between and after the malformed ones; then check nothing is stuck."""
    await session.start_worker(workers=1)
    chunk = max(session.options.tasks // (len(items) + 1), 1)
    for _name, payload, extra in items:
        await session.send(chunk)
        await session.target.push_raw(payload, extra)
    await session.send(session.options.tasks - len(session.sent))
    await session.wait_done(1.0)
    session.notes.append(f"{len(items)} malformed messages: {', '.join(n for n, _, _ in items)}")


async def _expect_drained(session: Session) -> None:
    """After the drain nothing may stay queued for ever (every malformed one was settled)."""

    async def drained() -> bool:
        return await session.target.backlog() == 0

    await until(drained, session.target.redelivery_ms / 1000 * 3 + 10)
    left = await session.target.backlog()
    dead = await session.target.dead_letter_count()
    session.notes.append(f"dead letters: {dead}, still queued: {left}")
    if left:
        session.problems.append(f"{left} messages were never settled (still queued)")


async def malformed(session: Session) -> None:
    """The malformed corpus, pushed raw into the queue among good tasks."""
    await _push_corpus(session, corpus_for(session.target.kind))
    await _expect_drained(session)


async def forged_results(session: Session) -> None:
    """Real results read back fine; forged and garbage ones give our own clear errors."""
    await session.start_worker(workers=1)
    await session.send(session.options.tasks)
    await session.wait_done(1.0)
    await check_forged_results(session)


async def absurd_labels(session: Session) -> None:
    """Issue 21 item 1: delay/timeout of 1e300 (and a NATS not-before of 1e300)."""
    await _push_corpus(session, ABSURD_LABELS[session.target.kind])
    await _expect_drained(session)


async def huge_entry(session: Session) -> None:
    """Issue 21 item 2: a Redis stream entry with 5,000 fields must be dead-lettered."""
    await _push_corpus(session, [HUGE_ENTRY])
    await _expect_drained(session)


async def stream_deleted(session: Session) -> None:
    """Issue 21 item 4: DEL of the queue's stream while the workers block reading it."""
    await session.start_worker(workers=1)
    await session.send(20)
    await session.wait_done(1.0)
    async with redis.asyncio.Redis.from_url(session.target.direct_url()) as client:
        await client.delete(f"{{{session.target.queue}}}")
    await asyncio.sleep(2.0)
    await session.send(session.options.tasks - len(session.sent))


async def blocked_loop(session: Session) -> None:
    """Issue 21 item 5: a task blocks its event loop for 3 x the redelivery time."""
    await session.start_worker()
    seconds = session.target.redelivery_ms / 1000 * 3
    await session.send(20)
    blocking_seq = len(session.sent)
    await session.kick(BLOCK_TASK, blocking_seq, seconds)
    session.sent.append(blocking_seq)
    await session.send(session.options.tasks - len(session.sent))
    await asyncio.sleep(seconds)


async def idle_then_stop(session: Session) -> None:
    """Issue 21 item 7: an idle worker, then a graceful stop, must log no noise."""
    await session.start_worker(workers=1)
    await session.send(10)
    await session.wait_done(1.0)
    await asyncio.sleep(10.0)
    await asyncio.to_thread(session.worker.stop)
    noise = [
        line
        for line in session.worker.log().splitlines()
        if "Fetching tasks failed" in line or "signal wakeup fd" in line
    ]
    if noise:
        session.problems.append(f"{len(noise)} noise lines, first: {noise[0][:200]}")


SCENARIOS: dict[str, Scenario] = {
    "sigkill-child": sigkill_child,
    "sigkill-group": sigkill_group,
    "server-restart": server_restart,
    "partition": partition,
    "malformed": malformed,
    "forged-results": forged_results,
    "restart-in-partition": restart_during_partition,
}

KNOWN_FAILURES: dict[str, Scenario] = {
    "absurd-labels": absurd_labels,
    "huge-entry": huge_entry,
    "stream-deleted": stream_deleted,
    "blocked-loop": blocked_loop,
    "idle-then-stop": idle_then_stop,
}
