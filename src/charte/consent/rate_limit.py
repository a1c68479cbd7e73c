"""A small in-process rate limiter: so many posts per period per key (the public consent API's, per network).

Each post to the public consent API writes events and ledger entries, and anyone may post: the limiter keeps one
network (the minimised address, an IPv4 /24 or IPv6 /48) from flooding the store. It is a token bucket kept as
a single number per key (GCRA: the *theoretical arrival time* of the next call): ``limit`` calls may come at once,
then one more every ``period / limit`` seconds, so a key sustains ``limit`` calls per ``period`` (twice as many at
most in a period that starts with a full bucket). A refused call costs nothing: hammering does not lengthen the
wait.

Memory stays bounded: a key whose bucket has filled up again says nothing more than an absent key and is dropped
as calls go by (least recently used first); past ``max_keys`` keys the least recently used one is dropped even if
its bucket is not full. The limiter counts in one process only: N server processes allow N times the limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

#: Keys remembered at most: about 150 bytes each, so a few megabytes. Only networks that posted within the last
#: period need remembering; beyond this many at once, the least recently seen are forgotten.
MAX_KEYS = 20_000
#: Stale keys dropped per call, at most (the sweep is amortised over calls).
_SWEEP = 4
#: Seconds of rounding forgiven: ``period / limit`` added up ``limit`` times is not always ``period`` in floats.
_EPSILON = 1e-6


class RateLimiter:
    """``limit`` calls per ``period`` seconds per key, in bursts of up to ``limit``, on an injected clock.

    ``clock`` returns seconds on any fixed origin (``time.monotonic`` by default; tests pass their own).
    """

    def __init__(self, limit: int, period: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = MAX_KEYS) -> None:
        if limit < 1:
            raise ValueError("a rate limit allows at least one call per period")
        if period <= 0:
            raise ValueError("the period must be positive")
        if max_keys < 1:
            raise ValueError("the limiter must remember at least one key")
        self.limit = limit
        self.period = float(period)
        self.max_keys = max_keys
        self._clock = clock
        self._interval = self.period / limit
        # A post is allowed while the next theoretical arrival is at most this far ahead of now.
        self._tolerance = self.period - self._interval
        # key -> theoretical arrival time of its next call; in order of last use (least recent first).
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> int:
        """Count a call for ``key`` if allowed: 0 when it may go ahead, else whole seconds to wait (not counted)."""
        with self._lock:
            now = self._clock()
            arrival = self._next.pop(key, now)
            if arrival < now:
                arrival = now
            wait = arrival - self._tolerance - now
            if wait > _EPSILON:
                self._next[key] = arrival  # still remembered, now the most recently used
                return max(1, math.ceil(wait - _EPSILON))
            self._next[key] = arrival + self._interval
            self._forget(now)
            return 0

    def __len__(self) -> int:
        """How many keys are remembered now."""
        return len(self._next)

    def _forget(self, now: float) -> None:
        # Least recently used keys come first: drop the few whose bucket is full again (their next arrival has
        # passed), then, past the bound, the least recently used ones whatever their state.
        remembered = self._next
        for _ in range(_SWEEP):
            oldest = next(iter(remembered))
            if remembered[oldest] > now:  # the key just counted is last, and ahead of now: the loop stops there
                break
            del remembered[oldest]
        while len(remembered) > self.max_keys:
            del remembered[next(iter(remembered))]
