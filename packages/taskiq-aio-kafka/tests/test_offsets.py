"""`OffsetTracker`: the committed position never passes an unfinished offset.

Besides hand-picked cases, every order of finishing a small batch is checked
against a model: after each step the committable position must be exactly the
first offset not yet finished (or one past the last when all are).
"""

from __future__ import annotations

import itertools
import random

import pytest
from taskiq_aio_kafka.offsets import OffsetTracker, PartitionOffsets


def test_nothing_fetched_commits_nothing() -> None:
    assert PartitionOffsets().committable() is None


def test_first_unfinished_blocks_later_finished() -> None:
    offsets = PartitionOffsets()
    for offset in range(5):
        offsets.fetched(offset)
    offsets.finished(1)
    offsets.finished(2)
    assert offsets.committable() == 0  # offset 0 still runs: commit nothing past it
    offsets.finished(0)
    assert offsets.committable() == 3


def test_all_finished_commits_one_past_the_last() -> None:
    offsets = PartitionOffsets()
    for offset in (10, 11, 12):
        offsets.fetched(offset)
    for offset in (12, 10, 11):
        offsets.finished(offset)
    assert offsets.committable() == 13
    assert offsets.unfinished == 0


def test_gaps_in_offsets_are_skipped() -> None:
    offsets = PartitionOffsets()
    for offset in (3, 7, 8):  # compaction or transaction markers leave gaps
        offsets.fetched(offset)
    offsets.finished(3)
    assert offsets.committable() == 7
    offsets.finished(8)
    offsets.finished(7)
    assert offsets.committable() == 9


def test_a_committed_position_is_not_offered_again() -> None:
    offsets = PartitionOffsets()
    offsets.fetched(0)
    offsets.finished(0)
    assert offsets.committable() == 1
    offsets.committed(1)
    assert offsets.committable() is None
    offsets.fetched(1)
    assert offsets.committable() is None  # 1 is unfinished and already the position
    offsets.finished(1)
    assert offsets.committable() == 2


def test_repeated_and_older_fetches_are_ignored() -> None:
    offsets = PartitionOffsets()
    assert offsets.fetched(5)
    assert not offsets.fetched(5)
    assert not offsets.fetched(2)
    assert offsets.unfinished == 1


def test_finishing_twice_or_unknown_offsets_changes_nothing() -> None:
    offsets = PartitionOffsets()
    offsets.fetched(0)
    offsets.fetched(1)
    offsets.finished(7)  # never fetched
    offsets.finished(1)
    offsets.finished(1)
    assert offsets.unfinished == 1
    assert offsets.committable() == 0


def test_an_older_commit_does_not_move_the_position_back() -> None:
    offsets = PartitionOffsets()
    for offset in range(3):
        offsets.fetched(offset)
        offsets.finished(offset)
    offsets.committed(3)
    offsets.committed(1)
    assert offsets.committable() is None


def model_position(fetched: list[int], done: set[int]) -> int:
    for offset in fetched:
        if offset not in done:
            return offset
    return fetched[-1] + 1


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 6])
def test_every_finishing_order_matches_the_model(size: int) -> None:
    fetched = [offset * 2 for offset in range(size)]  # with gaps
    for order in itertools.permutations(fetched):
        offsets = PartitionOffsets()
        for offset in fetched:
            offsets.fetched(offset)
        done: set[int] = set()
        committed: int | None = None
        for offset in order:
            offsets.finished(offset)
            done.add(offset)
            position = offsets.committable()
            expected = model_position(fetched, done)
            if position is not None:
                assert position == expected
                assert committed is None or position > committed
                offsets.committed(position)
                committed = position
            else:
                assert committed == expected
        assert committed == fetched[-1] + 1


def test_interleaved_fetching_and_finishing_never_commits_past_unfinished() -> None:
    rng = random.Random(17)
    for _ in range(300):
        offsets = PartitionOffsets()
        fetched: list[int] = []
        done: set[int] = set()
        next_offset = 0
        for _step in range(40):
            open_ = [o for o in fetched if o not in done]
            if not open_ or rng.random() < 0.4:
                next_offset += rng.randint(1, 3)
                offsets.fetched(next_offset)
                fetched.append(next_offset)
            else:
                offset = rng.choice(open_)
                offsets.finished(offset)
                done.add(offset)
            position = offsets.committable()
            if position is not None:
                offsets.committed(position)
                assert all(o in done for o in fetched if o < position)
                assert position == model_position(fetched, done)
            assert offsets.unfinished == len([o for o in fetched if o not in done])


def test_tracker_keeps_partitions_apart() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    for offset in range(3):
        tracker.fetched("a", offset)
        tracker.fetched("b", offset)
    tracker.finished("a", 0)
    tracker.finished("b", 1)
    assert tracker.to_commit() == {"a": 1, "b": 0}
    assert tracker.unfinished() == 4
    assert tracker.unfinished(["a"]) == 2


def test_tracker_commits_only_positions_that_moved() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.fetched("a", 0)
    tracker.finished("a", 0)
    positions = tracker.to_commit()
    tracker.committed(positions)
    assert tracker.to_commit() == {}


def test_dropped_partitions_ignore_late_settlements() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.fetched("a", 0)
    tracker.drop(["a"])
    assert not tracker.owns("a")
    tracker.finished("a", 0)
    assert tracker.to_commit() == {}
    assert tracker.to_commit(["a", "missing"]) == {}
    tracker.committed({"a": 5})
    assert tracker.unfinished() == 0


def test_a_reassigned_partition_starts_fresh() -> None:
    tracker: OffsetTracker[str] = OffsetTracker()
    tracker.fetched("a", 4)
    tracker.drop(["a"])
    assert tracker.fetched("a", 2)  # the new owner's records start at the commit
    tracker.finished("a", 4)  # a late ack from before the revocation
    assert tracker.to_commit() == {"a": 2}
