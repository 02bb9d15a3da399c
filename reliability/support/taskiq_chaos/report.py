"""What one scenario measured, computed exactly from the recorded task runs.

Every run of a task appends ``<seq> <pid> <time>`` on the shared Redis (see
`taskiq_chaos.brokers.RunRecorder`), so the verdict needs no sampling:

- lost: sent tasks that never ran;
- duplicated: runs beyond the first, of which a duplicate is *explained* when the
  earlier run happened in a process we SIGKILLed, or during a fault window (a
  partition or a server restart, when an acknowledgement can be lost), and
  *beyond in-flight* when there are more than the workers could hold at once
  (``capacity``) per fault: at-least-once allows the first, never the second;
- longest stall: the longest time in which no new task completed;
- child crashes: restarts in the supervisor's log, less the children we killed.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field

#: A run up to this long before a fault, or after it ends, is still inside it (s).
FAULT_GRACE = 1.5


@dataclass
class Fault:
    """One injected fault: its kind, when, and which processes it killed."""

    kind: str
    start: float
    end: float
    killed: set[int] = field(default_factory=set)

    def covers(self, moment: float) -> bool:
        return self.start - FAULT_GRACE <= moment <= self.end + FAULT_GRACE


@dataclass(frozen=True)
class TaskRun:
    seq: int
    pid: int
    at: float

    @classmethod
    def parse(cls, line: str) -> TaskRun:
        seq, pid, at = line.split()
        return cls(int(seq), int(pid), float(at))


@dataclass
class Report:
    """The figures of one scenario on one broker, and what is wrong with them."""

    scenario: str
    broker: str
    sent: int = 0
    done: int = 0
    lost: int = 0
    duplicated: int = 0
    unexplained_duplicates: int = 0
    duplicated_beyond_in_flight: int = 0
    longest_stall: float = 0.0
    child_crashes: int = 0
    faults: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems

    def line(self) -> str:
        """One row for the run script's table."""
        verdict = "ok" if self.passed else "FAIL"
        return (
            f"{self.broker:<9} {self.scenario:<22} sent={self.sent:<6} done={self.done:<6} "
            f"lost={self.lost:<3} dup={self.duplicated:<3} (unexplained "
            f"{self.unexplained_duplicates}, beyond in-flight "
            f"{self.duplicated_beyond_in_flight}) stall={self.longest_stall:5.1f}s "
            f"crashes={self.child_crashes}  {verdict}"
        )

    def explain(self) -> str:
        """The row, the faults, notes and problems: the assertion message of a test."""
        parts = [self.line(), *(f"  fault: {f}" for f in self.faults)]
        parts += [f"  note: {n}" for n in self.notes]
        parts += [f"  PROBLEM: {p}" for p in self.problems]
        return "\n".join(parts)


def analyse(
    report: Report,
    sent: list[int],
    runs: list[TaskRun],
    faults: list[Fault],
    capacity: int,
    started_at: float,
) -> None:
    """Fill ``report`` from the runs of the ``sent`` tasks; see the module docstring."""
    by_seq: dict[int, list[TaskRun]] = defaultdict(list)
    for run in sorted(runs, key=lambda r: r.at):
        by_seq[run.seq].append(run)
    report.sent = len(sent)
    report.done = sum(1 for seq in sent if by_seq.get(seq))
    report.lost = report.sent - report.done
    killed = set().union(*(f.killed for f in faults)) if faults else set()
    for seq in sent:
        earlier = by_seq.get(seq, [])[:-1]
        report.duplicated += len(earlier)
        report.unexplained_duplicates += sum(
            1
            for run in earlier
            if run.pid not in killed and not any(f.covers(run.at) for f in faults)
        )
    allowance = max(len(faults), 1) * capacity if faults else 0
    report.duplicated_beyond_in_flight = max(0, report.duplicated - allowance)
    report.longest_stall = longest_gap(started_at, [by_seq[s][0].at for s in sent if by_seq.get(s)])
    report.faults = [
        f"{f.kind} at +{f.start - started_at:.1f}s for {f.end - f.start:.1f}s" for f in faults
    ]
    _judge(report)


def longest_gap(started_at: float, completions: list[float]) -> float:
    """Longest time between the start (or a completion) and the next first completion."""
    moments = [started_at, *sorted(completions)]
    return max((b - a for a, b in itertools.pairwise(moments)), default=0.0)


def _judge(report: Report) -> None:
    if report.lost:
        report.problems.append(f"{report.lost} of {report.sent} tasks never ran")
    if report.unexplained_duplicates:
        report.problems.append(
            f"{report.unexplained_duplicates} duplicate runs with no fault to explain them"
        )
    if report.duplicated_beyond_in_flight:
        report.problems.append(
            f"{report.duplicated_beyond_in_flight} duplicates beyond what was in flight"
        )
    if report.child_crashes:
        report.problems.append(f"{report.child_crashes} child crashes caused by input or outage")
