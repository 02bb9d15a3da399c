"""`ReloadGate`: one reload per burst of changes, none while children are starting."""

from __future__ import annotations

from taskiq.cli.worker.reload_gate import ReloadGate


def test_a_burst_gives_one_reload_once_it_has_been_quiet() -> None:
    gate = ReloadGate(quiet=0.5, hold_limit=30)
    gate.files_changed(["/app/a.py"], now=10.0)
    gate.files_changed(["/app/b.py"], now=10.4)
    assert gate.take(now=10.8, starting_since=None) is None  # 0.4 s after the last change
    assert gate.next_check(None) == 10.9
    assert gate.take(now=10.9, starting_since=None) == "files changed: /app/a.py, /app/b.py"
    assert not gate.pending
    assert gate.take(now=20.0, starting_since=None) is None


def test_a_settled_change_waits_for_the_children_that_are_starting() -> None:
    gate = ReloadGate(quiet=0.5, hold_limit=30)
    gate.files_changed(["/app/a.py"], now=10.0)
    assert gate.is_held(now=11.0, starting_since=9.0)
    assert gate.take(now=11.0, starting_since=9.0) is None
    assert gate.first_hold()
    assert not gate.first_hold()  # logged once per pending reload
    assert gate.take(now=12.0, starting_since=None) == "files changed: /app/a.py"
    gate.files_changed(["/app/b.py"], now=13.0)
    assert not gate.is_held(now=13.1, starting_since=12.5)  # still settling, not held
    assert gate.is_held(now=13.6, starting_since=12.5)
    assert gate.first_hold()


def test_children_that_never_get_ready_hold_a_reload_for_at_most_the_limit() -> None:
    gate = ReloadGate(quiet=0.5, hold_limit=30)
    gate.files_changed(["/app/fix.py"], now=10.0)
    assert gate.next_check(starting_since=5.0) == 35.0
    assert gate.take(now=34.9, starting_since=5.0) is None
    assert gate.take(now=35.0, starting_since=5.0) == "files changed: /app/fix.py"


def test_sighup_needs_no_quiet_period_but_waits_for_starting_children() -> None:
    gate = ReloadGate(quiet=0.5, hold_limit=30)
    assert gate.next_check(None) is None
    gate.signalled()
    assert gate.take(now=1.0, starting_since=0.5) is None
    assert gate.take(now=1.0, starting_since=None) == "SIGHUP received"
    gate.signalled()
    gate.files_changed(["/app/a.py"], now=2.0)
    assert gate.take(now=2.6, starting_since=None) == "SIGHUP received; files changed: /app/a.py"
