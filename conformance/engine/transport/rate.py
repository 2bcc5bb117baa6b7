"""The rate a run sends at: a cap across all requests, lowered while the target throttles; and backoff."""

from __future__ import annotations

import collections
import random
import threading
import time


class RateLimiter:
    """At most `rate` requests a second across the run (None: no limit), lowered while the target throttles.

    When more than a fifth of the last `WINDOW` seconds' requests were throttled, the rate drops to
    90% of what the target accepted in that time (at most once per `cooldown`): the target's own
    limit, measured. Sporadic throttles (fewer) lower nothing; their retries back off. Each answer
    that is not throttled raises the rate by about 5% a second, never above the rate asked for.
    """

    MIN_RATE = 0.5
    WINDOW = 2.0  # seconds over which sent and throttled requests are counted
    THROTTLED_SHARE = 0.2  # above this share of throttled requests, the rate is lowered
    GROWTH = 0.05  # per second, while answers are not throttled

    def __init__(self, rate: float | None, cooldown: float = 0.5) -> None:
        self.ceiling = rate
        self.rate = rate
        self.cooldown = cooldown
        self.throttles = 0
        self.lowest: float | None = None  # the lowest rate throttling brought it to
        self._next = 0.0
        self._last_cut = -float("inf")
        self._sent: collections.deque[float] = collections.deque(maxlen=4096)
        self._throttled: collections.deque[float] = collections.deque(maxlen=4096)
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next request's slot: the seconds to wait before it may go (0: at once)."""
        with self._lock:
            now = time.monotonic()
            self._sent.append(now)
            if not self.rate:
                return 0.0
            slot = max(now, self._next)
            self._next = slot + 1.0 / self.rate
        return slot - now

    def throttled(self) -> None:
        """The target throttled a request: lower the rate to what it accepts, if it throttles much."""
        with self._lock:
            now = time.monotonic()
            self.throttles += 1
            self._throttled.append(now)
            if now - self._last_cut < self.cooldown:
                return
            sent = [t for t in self._sent if now - t <= self.WINDOW]
            throttled = sum(1 for t in self._throttled if now - t <= self.WINDOW)
            if len(sent) < 10 or throttled <= self.THROTTLED_SHARE * len(sent):
                return
            self._last_cut = now
            accepted = (len(sent) - throttled) / max(now - sent[0], 0.05)
            lowered = max(0.9 * accepted, self.MIN_RATE)
            self.rate = lowered if self.rate is None else min(self.rate, lowered)
            self.lowest = self.rate if self.lowest is None else min(self.lowest, self.rate)

    def answered(self) -> None:
        """The target answered without throttling: raise a lowered rate a little."""
        with self._lock:
            if self.lowest is None or not self.rate:
                return
            raised = self.rate * (1 + self.GROWTH / max(self.rate, 1.0))  # about GROWTH a second at this rate
            self.rate = raised if self.ceiling is None else min(raised, self.ceiling)


def backoff(attempt: int, base: float = 0.1, cap: float = 5.0) -> float:
    """Exponential backoff with full jitter: a random time in [0, min(cap, base * 2**attempt)]."""
    return random.uniform(0, min(cap, base * 2**attempt))
