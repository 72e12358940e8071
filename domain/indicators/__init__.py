"""Streaming technical indicators that reproduce TA-Lib's default definitions bar by bar.

Each calculator takes one bar at a time (`update(high, low, close, volume)`) in O(1),
returns its `outputs` once `warmup` bars have been seen and None before that.
"""

from domain.indicators.averages import EMA, MACD, SMA
from domain.indicators.bands import BBands
from domain.indicators.base import MAX_PERIOD, Calculator
from domain.indicators.factory import KINDS, make_indicator
from domain.indicators.oscillators import RSI, Stoch
from domain.indicators.volume import OBV, VolumeSMA

__all__ = [
    "EMA",
    "KINDS",
    "MACD",
    "MAX_PERIOD",
    "OBV",
    "RSI",
    "SMA",
    "BBands",
    "Calculator",
    "Stoch",
    "VolumeSMA",
    "make_indicator",
]
