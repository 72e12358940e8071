"""The command rate limiter: bursts up to capacity, refills evenly, one bucket per token."""

from __future__ import annotations

import pytest

from api.rate_limit import TokenBucketLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_bursts_to_capacity_then_says_when_to_retry():
    clock = FakeClock()
    limiter = TokenBucketLimiter(3, 30.0, clock)  # one token every 10 s
    assert [limiter.acquire("a") for _ in range(3)] == [0, 0, 0]
    assert limiter.acquire("a") == 10
    clock.now += 4
    assert limiter.acquire("a") == 6
    clock.now += 6
    assert limiter.acquire("a") == 0
    assert limiter.acquire("a") == 10


def test_each_key_has_its_own_bucket_and_refills_cap_at_capacity():
    clock = FakeClock()
    limiter = TokenBucketLimiter(2, 1.0, clock)
    assert limiter.acquire("a") == limiter.acquire("a") == 0
    assert limiter.acquire("a") == 1
    assert limiter.acquire("b") == 0
    clock.now += 1000
    assert [limiter.acquire("a") for _ in range(3)] == [0, 0, 1]


@pytest.mark.parametrize(("capacity", "window"), [(0, 1.0), (1, 0.0)])
def test_rejects_nonsense_limits(capacity, window):
    with pytest.raises(ValueError):
        TokenBucketLimiter(capacity, window)
