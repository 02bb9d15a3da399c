import asyncio

from taskiq import InMemoryBroker

# Create a broker
broker = InMemoryBroker()


# Define a task
@broker.task
async def add_numbers(a: int, b: int) -> int:
    return a + b


# Alternative: sync task
@broker.task
def multiply_numbers(a: int, b: int) -> int:
    return a * b


async def main():
    # Startup broker
    await broker.startup()

    # Send tasks for execution
    result1 = await add_numbers.kiq(5, 3)
    result2 = await multiply_numbers.kiq(4, 7)

    # Get results
    value1 = await result1.wait_result()  # 8
    value2 = await result2.wait_result()  # 28

    print(f"Addition result: {value1}")
    print(f"Multiplication result: {value2}")

    # Shutdown broker
    await broker.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
