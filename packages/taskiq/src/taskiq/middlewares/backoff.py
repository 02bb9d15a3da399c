"""How long to wait before retry number *n*: fixed, or doubling up to a cap, with jitter.

Kept apart from the middleware so the arithmetic can be checked exactly, with
a seeded random generator.
"""

from __future__ import annotations

import random

#: Doubling stops growing after this many steps; the cap applies long before.
_MAX_DOUBLINGS = 64


def retry_delay(
    base: float,
    retry: int,
    *,
    exponential: bool = False,
    cap: float = 60.0,
    jitter: bool = False,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number ``retry`` (1 for the first retry).

    - fixed: ``base`` every time;
    - ``exponential``: ``base * 2 ** (retry - 1)``, never more than ``cap``;
    - ``jitter``: a uniform draw in ``[delay / 2, delay]`` ("equal jitter"), so
      retries of many tasks that failed together spread out, while the delay
      never exceeds the un-jittered value (nor the cap).

    Negative inputs are treated as zero.
    """
    delay = max(base, 0.0)
    if exponential:
        doublings = min(max(retry - 1, 0), _MAX_DOUBLINGS)
        delay = min(delay * 2.0**doublings, max(cap, 0.0))
    if jitter:
        delay = (rng or random).uniform(delay / 2, delay)
    return delay
