"""``reliability/run``: the short form (every scenario on every broker) or ``--soak``.

reliability/run                          short form, as CI runs it (through pytest)
reliability/run --direct                 the same scenarios without pytest, a table
reliability/run --direct -b redis -s partition --tasks 2000
reliability/run --soak [--soak-tasks N]  the long mode (see taskiq_chaos.soak)
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from taskiq_chaos.scenarios import KNOWN_FAILURES, SCENARIOS
from taskiq_chaos.session import Options, run_scenario
from taskiq_chaos.targets import TARGETS


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="reliability/run", description=__doc__.split("\n")[0])
    parser.add_argument("--soak", action="store_true", help="the long mode (not in CI)")
    parser.add_argument("--soak-tasks", type=int, default=1_000_000)
    parser.add_argument("--direct", action="store_true", help="run without pytest, print a table")
    parser.add_argument("-b", "--broker", action="append", choices=sorted(TARGETS))
    parser.add_argument("-s", "--scenario", action="append", choices=[*SCENARIOS, *KNOWN_FAILURES])
    parser.add_argument("--tasks", type=int, default=200)
    parser.add_argument("--partition", type=float, default=5.0, help="seconds (60 in long mode)")
    parser.add_argument("--seed", type=int, default=None)
    return parser.parse_args(argv)


async def run_direct(args: argparse.Namespace) -> int:
    """Run the chosen scenarios one after another; print one line each; 1 if any failed."""
    options = Options(tasks=args.tasks, partition_seconds=args.partition, seed=args.seed)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="taskiq-chaos-") as tmp:
        for kind in args.broker or sorted(TARGETS):
            for name in args.scenario or list(SCENARIOS):
                scenario = SCENARIOS.get(name) or KNOWN_FAILURES[name]
                target = TARGETS[kind](Path(tmp) / kind / name)
                if name == "server-restart" and not target.restartable:
                    print(
                        f"{kind:<9} {name:<22} (server not restartable: a connection drop instead)"
                    )
                report = await run_scenario(
                    target, scenario, name, Path(tmp) / kind / name, options
                )
                print(report.explain() if not report.passed else report.line(), flush=True)
                failed += not report.passed
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.soak:
        from taskiq_chaos.soak import run_soak

        return asyncio.run(run_soak(args.soak_tasks, args.broker, args.partition or 60.0))
    return asyncio.run(run_direct(args))


if __name__ == "__main__":
    sys.exit(main())
