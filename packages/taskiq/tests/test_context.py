"""Context: what a task knows about its delivery, and requeue / reject."""

from __future__ import annotations

from typing import Annotated, Any

from taskiq import (
    AckableMessage,
    Context,
    InMemoryBroker,
    Receiver,
    TaskiqDepends,
    TaskiqMiddleware,
    TaskiqResult,
    TaskRejectedError,
)
from taskiq.context import REQUEUE_LABEL
from taskiq.message import TaskiqMessage

DEADLINE = 20.0


async def test_context_exposes_message_broker_and_state() -> None:
    broker = InMemoryBroker(await_inplace=True)
    broker.state.greeting = "hi"

    @broker.task(custom="label")
    async def inspect_me(context: Annotated[Context, TaskiqDepends()]) -> list[Any]:
        return [
            context.message.task_id,
            context.message.labels["custom"],
            context.broker is broker,
            context.state.greeting,
        ]

    handle = await inspect_me.kiq()
    result = await handle.wait_result(timeout=DEADLINE)
    assert result.return_value == [handle.task_id, "label", True, "hi"]


async def test_requeue_sends_the_same_message_again_with_a_count() -> None:
    broker = InMemoryBroker()
    runs: list[int] = []

    @broker.task
    async def flaky(context: Context = TaskiqDepends()) -> int:
        runs.append(context.requeue_count)
        if context.requeue_count < 2:
            await context.requeue()
        return context.requeue_count

    handle = await flaky.kiq()
    result = await handle.wait_result(timeout=DEADLINE)
    await broker.wait_all()
    assert runs == [0, 1, 2]
    assert result.return_value == 2
    assert int(result.labels[REQUEUE_LABEL]) == 2


async def test_requeue_acks_the_original_and_stores_nothing_for_that_run() -> None:
    sent: list[TaskiqMessage] = []

    class CapturingBroker(InMemoryBroker):
        async def kick(self, message: Any) -> None:
            sent.append(self.formatter.loads(message.message))

    broker = CapturingBroker()

    @broker.task(task_name="again")
    async def again(context: Context = TaskiqDepends()) -> None:
        await context.requeue()

    settled: list[str] = []
    message = TaskiqMessage(task_id="r1", task_name="again", labels={REQUEUE_LABEL: "3"})
    ackable = AckableMessage(
        data=broker.formatter.dumps(message).message,
        ack=lambda: settled.append("ack"),
        reject=lambda: settled.append("reject"),
    )
    assert await Receiver(broker).callback(ackable) is None
    assert settled == ["ack"]
    assert [(m.task_id, m.labels[REQUEUE_LABEL]) for m in sent] == [("r1", 4)]
    assert not await broker.result_backend.is_result_ready("r1")


async def test_reject_rejects_the_delivery_and_stores_an_error() -> None:
    broker = InMemoryBroker()
    hooks: list[str] = []

    class Watch(TaskiqMiddleware):
        def on_error(self, message: Any, result: Any, exception: BaseException) -> None:
            hooks.append("on_error")

        def post_execute(self, message: Any, result: TaskiqResult[Any]) -> None:
            hooks.append("post_execute")

    broker.add_middlewares(Watch())

    @broker.task(task_name="picky")
    def picky(context: Context = TaskiqDepends()) -> None:
        context.reject()

    settled: list[str] = []
    message = TaskiqMessage(task_id="x1", task_name="picky")
    ackable = AckableMessage(
        data=broker.formatter.dumps(message).message,
        ack=lambda: settled.append("ack"),
        reject=lambda: settled.append("reject"),
    )
    await Receiver(broker).callback(ackable)
    assert settled == ["reject"]
    stored = await broker.result_backend.get_result("x1")
    assert isinstance(stored.error, TaskRejectedError)
    assert hooks == ["post_execute"], "a rejected task is not an error to retry"


async def test_rejected_task_waiter_gets_the_error() -> None:
    broker = InMemoryBroker()

    @broker.task
    async def refuse(context: Context = TaskiqDepends()) -> None:
        context.reject()

    result = await (await refuse.kiq()).wait_result(timeout=DEADLINE)
    assert result.is_err
    assert isinstance(result.error, TaskRejectedError)


async def test_malformed_requeue_label_counts_as_zero() -> None:
    broker = InMemoryBroker()
    message = TaskiqMessage(task_id="a", task_name="b", labels={REQUEUE_LABEL: "x"})
    context = Context(message, broker)
    assert context.requeue_count == 0
