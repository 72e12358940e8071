"""Volume indicators: the SMA of volume and On-Balance Volume, as TA-Lib computes them."""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from domain.indicators.base import check_period


class VolumeSMA:
    """Simple moving average of the volume over `period` bars (TA_INT_SMA running sum)."""

    __slots__ = ("_buf", "_n", "_total", "period", "warmup")
    outputs: ClassVar[tuple[str, ...]] = ("volume_sma",)

    def __init__(self, period: int) -> None:
        self.period = check_period("VOLUME_SMA period", period, 2)
        self.warmup = period
        self._n = float(period)
        self._buf: deque[float] = deque()
        self._total = 0.0

    def update(
        self, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...] | None:
        buf = self._buf
        buf.append(volume)
        total = self._total + volume
        if len(buf) < self.period:
            self._total = total
            return None
        self._total = total - buf.popleft()
        return (total / self._n,)


class OBV:
    """On-Balance Volume: starts at the first bar's volume, then adds the volume of an up
    close, subtracts that of a down close and keeps still on an unchanged close."""

    __slots__ = ("_obv", "_prev", "_started")
    outputs: ClassVar[tuple[str, ...]] = ("obv",)
    warmup: ClassVar[int] = 1

    def __init__(self) -> None:
        self._started = False
        self._prev = 0.0
        self._obv = 0.0

    def update(
        self, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...] | None:
        if not self._started:
            self._started = True
            obv = float(volume)
        elif close > self._prev:
            obv = self._obv + volume
        elif close < self._prev:
            obv = self._obv - volume
        else:
            obv = self._obv
        self._prev = close
        self._obv = obv
        return (obv,)
