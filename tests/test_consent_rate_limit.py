"""The public consent API's rate limiter on its own: bursts, waits, keys kept apart, bounded memory (injected clock)."""

from __future__ import annotations

import pytest

from charte.consent.rate_limit import RateLimiter
from tests.consent_support import Seconds


def test_a_burst_of_the_limit_passes_then_the_next_waits_for_its_share_of_the_period() -> None:
    clock = Seconds()
    limiter = RateLimiter(60, 60, clock=clock)
    assert [limiter.hit("192.0.2.0/24") for _ in range(60)] == [0] * 60
    assert limiter.hit("192.0.2.0/24") == 1  # one post a second comes back
    assert limiter.hit("192.0.2.0/24") == 1  # refused posts count for nothing: the wait does not grow
    clock.now += 0.5
    assert limiter.hit("192.0.2.0/24") == 1  # half a second left: the answer rounds up
    clock.now += 0.5
    assert limiter.hit("192.0.2.0/24") == 0
    assert limiter.hit("192.0.2.0/24") == 1
    clock.now += 60  # a whole period later the bucket is full again
    assert [limiter.hit("192.0.2.0/24") for _ in range(60)] == [0] * 60
    assert limiter.hit("192.0.2.0/24") == 1


def test_the_wait_is_whole_seconds_until_the_next_post_is_allowed() -> None:
    clock = Seconds()
    limiter = RateLimiter(7, 60, clock=clock)  # one post every 8.57 s once the burst is spent
    for _ in range(7):
        assert limiter.hit("k") == 0
    wait = limiter.hit("k")
    assert wait == 9
    clock.now += wait - 1
    assert limiter.hit("k") > 0
    clock.now += 1
    assert limiter.hit("k") == 0


def test_keys_are_counted_apart() -> None:
    clock = Seconds()
    limiter = RateLimiter(2, 60, clock=clock)
    assert limiter.hit("192.0.2.0/24") == 0 and limiter.hit("192.0.2.0/24") == 0
    assert limiter.hit("192.0.2.0/24") == 30
    assert limiter.hit("198.51.100.0/24") == 0 and limiter.hit("2001:db8:1::/48") == 0
    assert limiter.hit("192.0.2.0/24") == 30


def test_memory_stays_bounded() -> None:
    clock = Seconds()
    limiter = RateLimiter(5, 60, clock=clock, max_keys=100)
    # A steady trickle of new networks: those whose bucket filled up again are forgotten as calls go by.
    for n in range(5000):
        assert limiter.hit(f"net-{n}") == 0
        clock.now += 1
    assert len(limiter) <= 61
    # A flood of new networks at once: the least recently seen go beyond the bound.
    for n in range(1000):
        limiter.hit(f"flood-{n}")
    assert len(limiter) == 100
    # A network still hammering stays remembered (it is recently used), and still limited.
    for _ in range(5):
        assert limiter.hit("hammer") == 0
    for n in range(1000):
        limiter.hit(f"more-{n}")
        assert limiter.hit("hammer") > 0


@pytest.mark.parametrize(("limit", "period", "max_keys"), [(0, 60, 10), (-1, 60, 10), (5, 0, 10), (5, 60, 0)])
def test_a_limiter_needs_sensible_bounds(limit: int, period: float, max_keys: int) -> None:
    with pytest.raises(ValueError):
        RateLimiter(limit, period, max_keys=max_keys)
