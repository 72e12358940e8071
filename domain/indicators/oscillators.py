"""Bounded oscillators: Wilder's RSI and the (slow) stochastic, as TA-Lib computes them."""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from domain.indicators.base import check_period

# TA-Lib's TA_EPSILON, used by its scale-aware zero test (TA_IS_ZERO_SCALED).
ZERO_EPSILON = 1e-14


class RSI:
    """Wilder's RSI of the close over `period` bars.

    The first averages are the simple means of the first `period` changes; each later
    average is `(prev * (period - 1) + change) / period`. RSI is
    `100 * (gain / (gain + loss))`, and 0 when both averages are 0 (a flat series).
    Like TA-Lib 0.8 the division by `period` is a multiplication by its reciprocal, which
    reproduces TA-Lib's RSI bit for bit.
    """

    __slots__ = ("_count", "_gain", "_inv", "_loss", "_nm1", "_prev", "period", "warmup")
    outputs: ClassVar[tuple[str, ...]] = ("rsi",)

    def __init__(self, period: int) -> None:
        self.period = check_period("RSI period", period, 2)
        self.warmup = period + 1
        self._inv = 1.0 / float(period)
        self._nm1 = float(period - 1)
        self._count = 0
        self._prev = 0.0
        self._gain = 0.0
        self._loss = 0.0

    def update(
        self, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...] | None:
        count = self._count
        diff = close - self._prev
        self._prev = close
        if count > self.period:
            nm1 = self._nm1
            inv = self._inv
            if diff < 0.0:
                loss = (self._loss * nm1 - diff) * inv
                gain = (self._gain * nm1) * inv
            else:
                gain = (self._gain * nm1 + diff) * inv
                loss = (self._loss * nm1) * inv
            self._gain = gain
            self._loss = loss
            total = gain + loss
            return (100.0 * (gain / total),) if total != 0.0 else (0.0,)
        self._count = count + 1
        if count == 0:
            return None
        if diff < 0.0:
            self._loss -= diff
        else:
            self._gain += diff
        if count < self.period:
            return None
        gain = self._gain * self._inv
        loss = self._loss * self._inv
        self._gain = gain
        self._loss = loss
        total = gain + loss
        return (100.0 * (gain / total),) if total != 0.0 else (0.0,)


class Stoch:
    """Slow stochastic: TA-Lib STOCH(fastk=k, slowk=smooth, slowd=d), both MAs simple.

    fastK = 100 * ((close - lowest low) / (highest high - lowest low)) over `k` bars, and 0
    when that range is zero in TA-Lib's scale-aware sense, |range| <= 1e-14 * (|highest| +
    |lowest|); "k" = SMA(fastK, smooth); "d" = SMA(k, d). Like TA-Lib, neither value is
    reported until both exist.
    """

    __slots__ = (
        "_d_buf",
        "_d_n",
        "_d_sum",
        "_hi_idx",
        "_hi_val",
        "_i",
        "_k_buf",
        "_k_sum",
        "_lo_idx",
        "_lo_val",
        "_s_n",
        "d",
        "k",
        "smooth",
        "warmup",
    )
    outputs: ClassVar[tuple[str, ...]] = ("k", "d")

    def __init__(self, k: int, d: int, smooth: int) -> None:
        self.k = check_period("STOCH k", k, 1)
        self.d = check_period("STOCH d", d, 1)
        self.smooth = check_period("STOCH smooth", smooth, 1)
        self.warmup = k + smooth + d - 2
        self._s_n = float(smooth)
        self._d_n = float(d)
        self._i = 0
        # Monotonic deques (bar index, value) of the rolling highest high / lowest low.
        self._hi_idx: deque[int] = deque()
        self._hi_val: deque[float] = deque()
        self._lo_idx: deque[int] = deque()
        self._lo_val: deque[float] = deque()
        self._k_buf: deque[float] = deque()
        self._k_sum = 0.0
        self._d_buf: deque[float] = deque()
        self._d_sum = 0.0

    def update(
        self, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...] | None:
        i = self._i
        self._i = i + 1
        expired = i - self.k

        hi_idx = self._hi_idx
        hi_val = self._hi_val
        while hi_val and hi_val[-1] <= high:
            hi_val.pop()
            hi_idx.pop()
        hi_val.append(high)
        hi_idx.append(i)
        if hi_idx[0] <= expired:
            hi_idx.popleft()
            hi_val.popleft()

        lo_idx = self._lo_idx
        lo_val = self._lo_val
        while lo_val and lo_val[-1] >= low:
            lo_val.pop()
            lo_idx.pop()
        lo_val.append(low)
        lo_idx.append(i)
        if lo_idx[0] <= expired:
            lo_idx.popleft()
            lo_val.popleft()

        if expired < -1:
            return None
        highest = hi_val[0]
        lowest = lo_val[0]
        span = highest - lowest
        if abs(span) <= ZERO_EPSILON * (abs(highest) + abs(lowest)):
            fast_k = 0.0
        else:
            fast_k = 100.0 * ((close - lowest) / span)

        k_buf = self._k_buf
        k_buf.append(fast_k)
        k_sum = self._k_sum + fast_k
        if len(k_buf) < self.smooth:
            self._k_sum = k_sum
            return None
        self._k_sum = k_sum - k_buf.popleft()
        slow_k = k_sum / self._s_n

        d_buf = self._d_buf
        d_buf.append(slow_k)
        d_sum = self._d_sum + slow_k
        if len(d_buf) < self.d:
            self._d_sum = d_sum
            return None
        self._d_sum = d_sum - d_buf.popleft()
        return (slow_k, d_sum / self._d_n)
