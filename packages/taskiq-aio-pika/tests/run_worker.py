"""Run a worker for ``module:broker`` the way ``taskiq worker`` would, minimally.

Used by the docs tests until every environment has the ``taskiq worker`` CLI.
"""

from __future__ import annotations

import asyncio
import importlib
import sys

from taskiq.receiver import Receiver


async def main(target: str) -> None:
    sys.path.insert(0, ".")
    module_name, attribute = target.split(":")
    broker = getattr(importlib.import_module(module_name), attribute)
    broker.is_worker_process = True
    await broker.startup()
    print("worker ready", flush=True)
    await Receiver(broker).listen(asyncio.Event())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
