"""Moving averages of the close: SMA, EMA and MACD, as TA-Lib computes them.

The arithmetic is done in TA-Lib's order (running sum for the SMA, sequential sum for
EMA seeds, `((x - prev) * k) + prev` for EMA steps) so results agree to the last bits.
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from domain.indicators.base import check_period


class WindowMean:
    """Mean of the last `period` values as TA_INT_SMA keeps it: a running sum."""

    __slots__ = ("_buf", "_n", "_total", "period", "warmup")

    def __init__(self, name: str, period: int) -> None:
        self.period = check_period(name, period, 2)
        self.warmup = period
        self._n = float(period)
        self._buf: deque[float] = deque()
        self._total = 0.0

    def add(self, value: float) -> tuple[float, ...] | None:
        buf = self._buf
        buf.append(value)
        total = self._total + value
        if len(buf) < self.period:
            self._total = total
            return None
        # TA-Lib: add the newest, emit, then drop the oldest of this window.
        self._total = total - buf.popleft()
        return (total / self._n,)


class SMA(WindowMean):
    """Simple moving average of the close over `period` bars."""

    __slots__ = ()
    outputs: ClassVar[tuple[str, ...]] = ("sma",)

    def __init__(self, period: int) -> None:
        super().__init__("SMA period", period)

    def update(
        self, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...] | None:
        return self.add(close)


class EMA:
    """Exponential moving average seeded with the SMA of the first `period` closes."""

    __slots__ = ("_count", "_k", "_n", "_value", "period", "warmup")
    outputs: ClassVar[tuple[str, ...]] = ("ema",)

    def __init__(self, period: int) -> None:
        self.period = check_period("EMA period", period, 2)
        self.warmup = period
        self._n = float(period)
        self._k = 2.0 / float(period + 1)
        self._count = 0
        self._value = 0.0  # running seed sum until warmed up, then the EMA

    def update(
        self, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...] | None:
        count = self._count
        if count >= self.period:
            value = self._value
            value = ((close - value) * self._k) + value
            self._value = value
            return (value,)
        count += 1
        self._count = count
        if count < self.period:
            self._value += close
            return None
        value = (self._value + close) / self._n
        self._value = value
        return (value,)


class MACD:
    """MACD as TA_INT_MACD computes it.

    Both EMAs start at bar `slow - 1`: the slow one seeded with the mean of closes
    [0, slow), the fast one with the mean of closes [slow - fast, slow). The signal is an
    EMA of the MACD line seeded with the mean of its first `signal` values.
    """

    __slots__ = (
        "_count",
        "_fast",
        "_fast_start",
        "_kf",
        "_ks",
        "_ksig",
        "_ready",
        "_sig_n",
        "_signal",
        "_slow",
        "_warm_macd",
        "fast",
        "signal",
        "slow",
        "warmup",
    )
    outputs: ClassVar[tuple[str, ...]] = ("macd", "signal", "hist")

    def __init__(self, fast: int, slow: int, signal: int) -> None:
        self.fast = check_period("MACD fast", fast, 2)
        self.slow = check_period("MACD slow", slow, 2)
        self.signal = check_period("MACD signal", signal, 1)
        if fast >= slow:
            raise ValueError(f"MACD fast ({fast}) must be less than slow ({slow})")
        self.warmup = slow + signal - 1
        self._kf = 2.0 / float(fast + 1)
        self._ks = 2.0 / float(slow + 1)
        self._sig_n = float(signal)
        self._ksig = 2.0 / float(signal + 1)
        self._fast_start = slow - fast
        self._count = 0
        self._fast = 0.0  # seed sums until bar slow - 1, then the EMAs
        self._slow = 0.0
        self._signal = 0.0  # seed sum of MACD values, then the signal EMA
        self._warm_macd = 0  # MACD values seen while seeding the signal
        self._ready = False

    def update(
        self, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...] | None:
        if self._ready:
            slow = self._slow
            slow = ((close - slow) * self._ks) + slow
            self._slow = slow
            fast = self._fast
            fast = ((close - fast) * self._kf) + fast
            self._fast = fast
            macd = fast - slow
            sig = self._signal
            sig = ((macd - sig) * self._ksig) + sig
            self._signal = sig
            return (macd, sig, macd - sig)
        return self._warm_up(close)

    def _warm_up(self, close: float) -> tuple[float, ...] | None:
        count = self._count
        self._count = count + 1
        if count < self.slow - 1:
            self._slow += close
            if count >= self._fast_start:
                self._fast += close
            return None
        if count == self.slow - 1:
            self._slow = (self._slow + close) / float(self.slow)
            self._fast = (self._fast + close) / float(self.fast)
        else:
            self._slow = ((close - self._slow) * self._ks) + self._slow
            self._fast = ((close - self._fast) * self._kf) + self._fast
        macd = self._fast - self._slow
        seen = self._warm_macd + 1
        self._warm_macd = seen
        if seen < self.signal:
            self._signal += macd
            return None
        sig = (self._signal + macd) / self._sig_n
        self._signal = sig
        self._ready = True
        return (macd, sig, macd - sig)
