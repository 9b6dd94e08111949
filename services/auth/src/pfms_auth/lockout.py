"""Brute-force arithmetic: N failures inside a sliding window lock for a while. No I/O.

The same rule guards an account (5 per 15 minutes) and a client IP (20 per 15 minutes); the
counters live in Redis (`throttle.py`) so that every replica sees the same failures.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    max_failures: int
    window_seconds: int
    lockout_seconds: int


def recent(timestamps: Iterable[float], now: float, window_seconds: int) -> list[float]:
    """Failures still inside the window that ends now."""
    start = now - window_seconds
    return sorted(t for t in timestamps if start < t <= now)


def locked_until(timestamps: Iterable[float], now: float, policy: Policy) -> float | None:
    """When the failure just recorded at `now` reaches the limit, the lock's end; otherwise None."""
    if len(recent(timestamps, now, policy.window_seconds)) >= policy.max_failures:
        return now + policy.lockout_seconds
    return None


def retry_after(until: float, now: float) -> int:
    """Whole seconds to announce in `Retry-After`: rounded up, never 0 while still locked."""
    return max(1, math.ceil(until - now))
