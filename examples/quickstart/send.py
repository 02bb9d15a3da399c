"""Sends one task and prints its result; run it while a worker is running."""

import asyncio

from app import add, broker


async def main() -> None:
    await broker.startup()
    task = await add.kiq(2, 3)
    result = await task.wait_result(timeout=30)
    print(f"2 + 3 = {result.return_value}")
    await broker.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
