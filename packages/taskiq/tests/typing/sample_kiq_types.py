"""Checked by mypy in test_typing.py: lines marked "E:" must be errors, "R:" reveal types.

Not a test module: pytest does not collect it (its name does not start with
``test_``). Revealed types are compared by the test.
"""

from __future__ import annotations

from taskiq import AsyncKicker, InMemoryBroker, TaskiqResult, gather
from typing_extensions import reveal_type

broker = InMemoryBroker()


@broker.task
async def async_add(a: int, b: int) -> int:
    return a + b


@broker.task(task_name="named")
def sync_upper(text: str, *, loud: bool = False) -> str:
    return text.upper() if loud else text


async def main() -> None:
    reveal_type((await (await async_add.kiq(1, 2)).wait_result()).return_value)  # R: int
    reveal_type((await (await sync_upper.kiq("a")).wait_result()).return_value)  # R: str
    reveal_type(await (await async_add.kiq(1, 2)).get_result())  # R: TaskiqResult[int]
    reveal_type(await async_add(1, 2))  # R: int
    reveal_type(sync_upper("a", loud=True))  # R: str
    kicked = await async_add.kicker().with_labels(priority=1).kiq(1, 2)
    reveal_type((await kicked.wait_result()).return_value)  # R: int
    by_name = await AsyncKicker("named", broker, {}).kiq("anything", goes=True)
    reveal_type(by_name)  # R: AsyncTaskiqTask[Any]
    results: tuple[TaskiqResult[object], ...] = await gather(kicked, by_name)
    reveal_type(results)  # R: tuple[TaskiqResult[object], ...]

    await async_add.kiq("1", 2)  # E: wrong type for a
    await async_add.kiq(1)  # E: missing b
    await sync_upper.kiq("a", loud="yes")  # E: wrong type for loud
    await sync_upper.kiq("a", True)  # E: loud is keyword-only
    await async_add.kicker().kiq(1, c=2)  # E: unknown keyword
