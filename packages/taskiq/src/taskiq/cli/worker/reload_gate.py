"""When a requested reload may run: after a burst settles, never while children start.

An editor saving, a ``git checkout`` or a code generator touches many files
within a moment; reloading for each batch the watcher reports would start
and stop children over and over. `ReloadGate` collects the changes and lets
one reload through once no change has arrived for `QUIET` seconds. A reload
requested while the children of the previous start or reload are not ready
yet waits for them (at most `HOLD_LIMIT` seconds, so that a fix for children
that cannot get ready, say a wrong broker address, still reloads them):
replacing children that are still importing would only start the same
work again.

The gate holds no clock and no processes; the supervisor passes it the time
and how long the current children have been starting.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Seconds without a new relevant change after which a burst counts as over.
QUIET = 0.5
#: Longest a reload waits for the children that are starting to become ready.
HOLD_LIMIT = 30.0


class ReloadGate:
    """Turns file changes and SIGHUPs into at most one reload at a time."""

    def __init__(self, quiet: float = QUIET, hold_limit: float = HOLD_LIMIT) -> None:
        self.quiet = quiet
        self.hold_limit = hold_limit
        self._paths: set[str] = set()
        self._signalled = False
        self._settles_at: float | None = None
        self._held_logged = False

    @property
    def pending(self) -> bool:
        """A reload has been asked for and has not run yet."""
        return self._signalled or bool(self._paths)

    def files_changed(self, paths: Iterable[str], now: float) -> None:
        """Record a batch of changes; each batch restarts the quiet period."""
        self._paths.update(paths)
        self._settles_at = now + self.quiet

    def signalled(self) -> None:
        """SIGHUP: reload as soon as no children are starting, without a quiet period."""
        self._signalled = True

    def next_check(self, starting_since: float | None) -> float | None:
        """The moment the supervisor should look again (None: nothing pending)."""
        if not self.pending:
            return None
        moments = [self._settles_at or 0.0]
        if starting_since is not None:
            moments.append(starting_since + self.hold_limit)
        return max(moments)

    def is_held(self, now: float, starting_since: float | None) -> bool:
        """Settled, but children started earlier are not ready yet."""
        return (
            self.pending
            and self._settled(now)
            and starting_since is not None
            and now < starting_since + self.hold_limit
        )

    def take(self, now: float, starting_since: float | None) -> str | None:
        """The reason of the reload to run now, or None (nothing due yet).

        ``starting_since`` is when the oldest child that is still starting
        (started by the worker's start or a reload, not ready yet) began.
        """
        if not self.pending or self.is_held(now, starting_since) or not self._settled(now):
            return None
        reasons = []
        if self._signalled:
            reasons.append("SIGHUP received")
        if self._paths:
            reasons.append(f"files changed: {', '.join(sorted(self._paths))}")
        self._paths.clear()
        self._signalled = False
        self._settles_at = None
        self._held_logged = False
        return "; ".join(reasons)

    def first_hold(self) -> bool:
        """True once per pending reload: the supervisor logs that it is holding it."""
        if self._held_logged:
            return False
        self._held_logged = True
        return True

    def _settled(self, now: float) -> bool:
        return self._settles_at is None or now >= self._settles_at
