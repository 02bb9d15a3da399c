"""Profile one scenario of this project (or upstream Taskiq) with py-spy; print hot spots.

    .venv/bin/python benchmarks/profile.py drain [--n 20000] [--system this]
    ... profile.py inproc_seq --n 50000

Worker scenarios (drain, iobound) sample the worker process; the others sample the
scenario script itself. Raw stacks go to benchmarks/results/profile-<system>-<scenario>.txt;
the summary (top functions by inclusive and by own time) is printed and saved next to it.
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
PYSPY = str(HERE / ".venvs" / "tools" / "bin" / "py-spy")
PYTHONS = {
    "this": HERE.parent / ".venv" / "bin" / "python",
    "taskiq": HERE / ".venvs" / "taskiq" / "bin" / "python",
}


def _frame(frame: str) -> str:
    """'func (path/to/file.py:12)' -> 'func (file.py)': aggregate over lines."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    short = "/".join(Path(path).parts[-2:])
    return f"{name} ({short})"


def summarize(raw: Path, top: int = 30) -> str:
    """Inclusive and own sample shares per function."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [_frame(f) for f in stack.split(";") if f] or ["(no frame)"]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    lines = [f"{total} samples"]
    for title, counter in (("inclusive", inclusive), ("own", own)):
        lines.append(f"\n-- top {top} by {title} time --")
        lines += [f"{100 * c / total:5.1f}%  {f}" for f, c in counter.most_common(top)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--system", default="this", choices=sorted(PYTHONS))
    parser.add_argument("--broker", default="redis")
    args = parser.parse_args()
    raw = HERE / "results" / f"profile-{args.system}-{args.scenario}.txt"
    run = f"bench-prof-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "BENCH_RUN": run,
        "BENCH_QUEUE": f"{run}-q",
        "BENCH_BROKER": args.broker,
        "BENCH_PYSPY": PYSPY,
    }
    cmd = [str(PYTHONS[args.system]), "bench_taskiq.py", args.scenario, str(args.n)]
    if args.scenario in {"drain", "iobound"}:
        env["BENCH_PROFILE"] = str(raw)
    else:
        cmd = [PYSPY, "record", "--format", "raw", "-r", "200", "-o", str(raw), "--", *cmd]
    subprocess.run(cmd, cwd=HERE / "systems", env=env, check=True)
    sys.path.insert(0, str(HERE))
    from cleanup import cleanup_redis

    cleanup_redis(run)
    summary = summarize(raw)
    raw.with_suffix(".summary.txt").write_text(summary + "\n")
    print(summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
