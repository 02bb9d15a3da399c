"""Every Redis key and channel name taskiq_redis uses, in one place.

Keys that one broker queue touches together share a Redis Cluster hash slot:
they all contain the hash tag ``{<queue_name>}``, so the Lua scripts that move
entries between them (ack, dead-letter, delayed delivery, replay) run in one
slot. Layout of a `RedisStreamBroker` / `RedisBroker` queue named ``q``::

    {q}                  stream of priority 0 (the only one without priorities)
    {q}:p<N>             stream of priority N (1..max_priority), read highest first
    {q}:delayed          sorted set: entries waiting for their ``delay`` (score: due, ms)
    {q}:dead             stream of dead letters (rejected, malformed, too many deliveries)

`ListQueueBroker` uses a list named ``queue_name`` and `PubSubBroker` a channel
named ``queue_name``, exactly as Taskiq does. The result backend stores
``<prefix_str>:<task_id>`` (or ``<task_id>`` without a prefix), progress under
``<...>:progress``, the task-state timeline (a list) under ``<...>:state``, and
announces stored results on one channel per prefix, and events on another.
Worker heartbeats (`taskiq_redis.workers`) live under ``{<prefix_str or taskiq>:workers}``:
an ``:index`` set of worker ids and one ``:<worker id>`` string per worker, with a TTL.
"""

from __future__ import annotations

#: Field names inside a stream entry.
DATA_FIELD = b"data"
TASK_ID_FIELD = b"task_id"
TASK_NAME_FIELD = b"task_name"
#: Deliveries the entry had before it was re-added to the stream (replay, shutdown).
DELIVERIES_FIELD = b"deliveries"


class StreamQueueKeys:
    """Names of the keys behind one stream queue (see the module docstring)."""

    def __init__(self, queue_name: str, max_priority: int | None = None) -> None:
        self.queue_name = queue_name
        self.tag = f"{{{queue_name}}}"
        self.max_priority = max_priority or 0
        self.delayed = f"{self.tag}:delayed"
        self.dead = f"{self.tag}:dead"

    def stream(self, priority: int = 0) -> str:
        """The stream holding entries of ``priority`` (clamped to the configured levels)."""
        level = min(max(priority, 0), self.max_priority)
        return self.tag if level == 0 else f"{self.tag}:p{level}"

    def streams_by_urgency(self) -> list[str]:
        """Every priority stream, highest priority first: the order they are read in."""
        return [self.stream(level) for level in range(self.max_priority, -1, -1)]

    def streams_by_level(self) -> list[str]:
        """Every priority stream indexed by level (0 first): the Lua scripts' KEYS order."""
        return [self.stream(level) for level in range(self.max_priority + 1)]


def result_key(prefix: str | None, task_id: str) -> str:
    """Where the result of ``task_id`` is stored."""
    return f"{prefix}:{task_id}" if prefix else task_id


def progress_key(prefix: str | None, task_id: str) -> str:
    """Where the progress of ``task_id`` is stored."""
    return f"{result_key(prefix, task_id)}:progress"


def state_key(prefix: str | None, task_id: str) -> str:
    """The list of task-state transitions of ``task_id`` (JSON, oldest first)."""
    return f"{result_key(prefix, task_id)}:state"


def results_channel(prefix: str | None) -> str:
    """The pub/sub channel on which stored results are announced (payload: task id)."""
    return f"{prefix}:taskiq:results-ready" if prefix else "taskiq:results-ready"


def events_channel(prefix: str | None) -> str:
    """The pub/sub channel of the events feed (JSON events, see `taskiq_redis.events`)."""
    return f"{prefix}:taskiq:events" if prefix else "taskiq:events"


def schedule_hash(prefix: str) -> str:
    """`RedisScheduleSource`: one hash, schedule id -> serialized schedule."""
    return f"{prefix}:schedules"


def list_schedule_keys(prefix: str) -> tuple[str, str, str]:
    """`ListRedisScheduleSource`: (cron id list, time sorted set, data key prefix)."""
    return f"{prefix}:cron", f"{prefix}:time", f"{prefix}:data:"


def workers_tag(prefix: str | None) -> str:
    """The hash tag of the worker heartbeat keys: the index and every record in one slot."""
    return f"{{{prefix or 'taskiq'}:workers}}"


def workers_index_key(prefix: str | None) -> str:
    """Set of the worker ids that published a heartbeat (pruned of expired ones on read)."""
    return f"{workers_tag(prefix)}:index"


def worker_key(prefix: str | None, worker: str) -> str:
    """The heartbeat record of one worker child, a string with a TTL."""
    return f"{workers_tag(prefix)}:{worker}"
