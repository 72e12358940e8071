"""In-memory token buckets: each key may spend `capacity` requests per `window` seconds."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBucketLimiter:
    """Bursts up to `capacity`, refilled evenly over `window` seconds; one bucket per key.

    Per process: several server workers each keep their own buckets.
    """

    def __init__(
        self,
        capacity: int,
        window: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1 or window <= 0:
            raise ValueError("capacity must be >= 1 and window > 0")
        self.capacity = capacity
        self.rate = capacity / window
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> int:
        """Spend one request for `key`: 0 if allowed, else whole seconds until one is."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(key, (float(self.capacity), now))
            tokens = min(float(self.capacity), tokens + (now - last) * self.rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0
            self._buckets[key] = (tokens, now)
            return max(1, math.ceil((1 - tokens) / self.rate))
