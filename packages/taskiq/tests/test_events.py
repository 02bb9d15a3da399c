"""TaskiqEvents: the four lifecycle events, and which broker side fires them."""

from __future__ import annotations

from taskiq import InMemoryBroker, TaskiqEvents, TaskiqState


def test_the_four_events_and_their_values() -> None:
    assert [event.value for event in TaskiqEvents] == [
        "CLIENT_STARTUP",
        "CLIENT_SHUTDOWN",
        "WORKER_STARTUP",
        "WORKER_SHUTDOWN",
    ]
    assert TaskiqEvents("WORKER_STARTUP") is TaskiqEvents.WORKER_STARTUP
    assert TaskiqEvents.CLIENT_STARTUP == "CLIENT_STARTUP"


async def test_in_memory_broker_is_both_sides_and_fires_all_four() -> None:
    broker = InMemoryBroker()
    fired: list[TaskiqEvents] = []
    for event in TaskiqEvents:
        broker.add_event_handler(event, lambda _state, e=event: fired.append(e))
    await broker.startup()
    await broker.shutdown()
    assert sorted(fired) == sorted(TaskiqEvents)


async def test_handlers_share_the_broker_state_with_tasks() -> None:
    broker = InMemoryBroker()

    @broker.on_event(TaskiqEvents.WORKER_STARTUP)
    async def open_pool(state: TaskiqState) -> None:
        state.greeting = "hi"

    @broker.task
    async def greet(name: str) -> str:
        return f"{broker.state.greeting} {name}"

    await broker.startup()
    result = await (await greet.kiq("bo")).wait_result(timeout=20)
    await broker.shutdown()
    assert result.return_value == "hi bo"


async def test_handlers_of_one_event_run_in_registration_order() -> None:
    broker = InMemoryBroker()
    order: list[int] = []

    async def first(_state: TaskiqState) -> None:
        order.append(1)

    def second(_state: TaskiqState) -> None:
        order.append(2)

    broker.with_event_handlers(TaskiqEvents.CLIENT_STARTUP, first, second)
    await broker.startup()
    await broker.shutdown()
    assert order == [1, 2]
