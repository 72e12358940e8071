"""Volume indicators: the SMA of volume and On-Balance Volume, as TA-Lib computes them."""

from __future__ import annotations

from typing import ClassVar

from domain.indicators.averages import WindowMean


class VolumeSMA(WindowMean):
    """Simple moving average of the volume over `period` bars."""

    __slots__ = ()
    outputs: ClassVar[tuple[str, ...]] = ("volume_sma",)

    def __init__(self, period: int) -> None:
        super().__init__("VOLUME_SMA period", period)

    def update(
        self, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...] | None:
        return self.add(volume)


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
