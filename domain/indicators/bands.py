"""Bollinger Bands as TA-Lib's BBANDS computes them with a simple moving average."""

from __future__ import annotations

from collections import deque
from math import sqrt
from typing import ClassVar

from domain.indicators.base import check_period, check_positive_float

# Re-centre the deviation sums when the variance is below this fraction of the largest
# mean squared deviation they held since the last re-centring, i.e. when about six
# digits have cancelled out.
CANCELLATION = 1e-6


class BBands:
    """middle = SMA(period); upper/lower = middle ± std * (population std deviation).

    The middle band is TA-Lib's running-sum SMA, bit for bit. The variance is the mean of
    squares minus the square of the mean, but of the closes shifted by a reference value
    inside a recent window, so it does not lose its digits to cancellation (TA-Lib 0.8's
    deviation is accurate too, also for nearly flat windows at high prices). The
    reference moves to the newest close once every `period` bars, and at once when the
    variance comes out tiny next to the squared deviations the sums have carried:
    amortised O(1) per bar. A window of identical closes thus has a deviation of exactly
    0, as in TA-Lib; a variance that rounds below 0 is taken as 0.
    """

    __slots__ = (
        "_buf",
        "_countdown",
        "_inv",
        "_n",
        "_peak",
        "_ref",
        "_sum",
        "_sum_dev",
        "_sum_dev2",
        "period",
        "std",
        "warmup",
    )
    outputs: ClassVar[tuple[str, ...]] = ("upper", "middle", "lower")

    def __init__(self, period: int, std: float) -> None:
        self.period = check_period("BBANDS period", period, 2)
        self.std = check_positive_float("BBANDS std", std)
        self.warmup = period
        self._n = float(period)
        self._inv = 1.0 / float(period)
        self._buf: deque[float] = deque()
        self._sum = 0.0  # plain running sum of closes: the middle band, as TA-Lib
        self._ref = 0.0  # shift for the deviation sums: the first close, later re-centred
        self._sum_dev = 0.0  # sum of (close - ref) over the window
        self._sum_dev2 = 0.0  # sum of (close - ref) ** 2 over the window
        self._peak = 0.0  # largest _sum_dev2 since the reference was set: its error scale
        self._countdown = period  # windows left before the deviation sums are re-centred

    def update(
        self, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...] | None:
        buf = self._buf
        buf.append(close)
        if len(buf) < self.period:
            self._warm_up(close)
            return None

        total = self._sum + close
        dev = close - self._ref
        sum_dev = self._sum_dev + dev
        sum_dev2 = self._sum_dev2 + dev * dev
        peak = self._peak
        if sum_dev2 > peak:
            self._peak = peak = sum_dev2
        middle = total / self._n
        inv = self._inv
        mean_dev = sum_dev * inv
        variance = sum_dev2 * inv - mean_dev * mean_dev
        if variance < peak * inv * CANCELLATION:
            # Too few digits survive: the sums once held deviations far larger than this
            # window's (a tight or flat window after a move). Recompute around it.
            self._recentre()
            sum_dev = self._sum_dev
            sum_dev2 = self._sum_dev2
            mean_dev = sum_dev * inv
            variance = sum_dev2 * inv - mean_dev * mean_dev
        width = sqrt(variance) * self.std if variance > 0.0 else 0.0

        oldest = buf.popleft()
        self._sum = total - oldest
        countdown = self._countdown - 1
        if countdown:
            self._countdown = countdown
            dev = oldest - self._ref
            self._sum_dev = sum_dev - dev
            self._sum_dev2 = sum_dev2 - dev * dev
        else:
            self._recentre()
        return (middle + width, middle, middle - width)

    def _warm_up(self, close: float) -> None:
        if len(self._buf) == 1:
            self._ref = close
        self._sum += close
        dev = close - self._ref
        self._sum_dev += dev
        self._sum_dev2 += dev * dev

    def _recentre(self) -> None:
        """Recompute the deviation sums around the newest close: O(period), done once every
        `period` bars and whenever a tight window sits far from the old reference."""
        ref = self._buf[-1]
        sum_dev = 0.0
        sum_dev2 = 0.0
        for value in self._buf:
            dev = value - ref
            sum_dev += dev
            sum_dev2 += dev * dev
        self._ref = ref
        self._sum_dev = sum_dev
        self._sum_dev2 = sum_dev2
        self._peak = sum_dev2
        self._countdown = self.period
