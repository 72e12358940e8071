"""Whole-series indicators with pandas-ta on its TA-Lib backend.

`compute_series` is the vectorised counterpart of the streaming calculators in
`domain.indicators`: same kinds, same parameters (checked by the same factory), same
output names, TA-Lib's numbers, NaN during warm-up.

pandas-ta 0.4.71b0 quirks handled here:
- `ta.stoch(..., talib=True)` calls TA-Lib STOCH with `slowk_period=d`, silently ignoring
  `smooth_k`, and delegates to TA-Lib only when `smooth_k > 2`; its own pandas path
  reports %K before %D exists and refuses series shorter than `k + d + smooth_k` bars
  (TA-Lib needs `k + d + smooth_k - 2`). STOCH therefore calls TA-Lib directly.
- A series shorter than an indicator's warm-up makes pandas-ta return None instead of a
  frame; that becomes an all-NaN frame here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pandas_ta as ta
import talib
from talib._ta_lib import MA_Type

from domain.indicators import EMA, MACD, OBV, RSI, SMA, BBands, Stoch, VolumeSMA, make_indicator


def compute_series(bars: pd.DataFrame, kind: str, params: Mapping[str, Any]) -> pd.DataFrame:
    """Indicator `kind` with `params` (as for `domain.indicators.make_indicator`) over
    `bars`, a frame with float columns open, high, low, close, volume.

    Returns a frame on `bars.index` with one float column per calculator output, named
    like the outputs, NaN where TA-Lib has no value yet. Raises ValueError like
    `make_indicator` for an unknown kind or bad parameters."""
    calculator = make_indicator(kind, params)
    high = bars["high"].astype("float64")
    low = bars["low"].astype("float64")
    close = bars["close"].astype("float64")
    volume = bars["volume"].astype("float64")

    # pandas-ta result, and the column name prefix for each calculator output in order.
    raw: pd.DataFrame | pd.Series | None
    prefixes: tuple[str, ...] = ("",)
    if isinstance(calculator, Stoch):
        slow_k, slow_d = talib.STOCH(
            high.to_numpy(),
            low.to_numpy(),
            close.to_numpy(),
            fastk_period=calculator.k,
            slowk_period=calculator.smooth,
            slowk_matype=MA_Type.SMA,
            slowd_period=calculator.d,
            slowd_matype=MA_Type.SMA,
        )
        raw = pd.DataFrame({"k": slow_k, "d": slow_d}, index=bars.index)
        prefixes = ("k", "d")
    elif isinstance(calculator, SMA):
        raw = ta.sma(close, length=calculator.period, talib=True)
    elif isinstance(calculator, VolumeSMA):
        raw = ta.sma(volume, length=calculator.period, talib=True)
    elif isinstance(calculator, EMA):
        raw = ta.ema(close, length=calculator.period, talib=True)
    elif isinstance(calculator, RSI):
        raw = ta.rsi(close, length=calculator.period, talib=True)
    elif isinstance(calculator, MACD):
        raw = ta.macd(
            close,
            fast=calculator.fast,
            slow=calculator.slow,
            signal=calculator.signal,
            talib=True,
        )
        prefixes = ("MACD_", "MACDs_", "MACDh_")
    elif isinstance(calculator, BBands):
        raw = ta.bbands(
            close,
            length=calculator.period,
            lower_std=calculator.std,
            upper_std=calculator.std,
            mamode="sma",
            talib=True,
        )
        prefixes = ("BBU_", "BBM_", "BBL_")
    elif isinstance(calculator, OBV):
        raw = ta.obv(close, volume, talib=True)
    else:  # pragma: no cover - every kind make_indicator builds is handled above
        raise AssertionError(f"no whole-series implementation for {kind}")

    columns = calculator.outputs
    if raw is None:
        return pd.DataFrame(np.nan, index=bars.index, columns=list(columns), dtype="float64")
    if isinstance(raw, pd.Series):
        return pd.DataFrame({columns[0]: raw.to_numpy(dtype="float64")}, index=bars.index)
    data = {
        name: _column(raw, prefix).to_numpy(dtype="float64")
        for name, prefix in zip(columns, prefixes, strict=True)
    }
    return pd.DataFrame(data, index=bars.index)


def _column(frame: pd.DataFrame, prefix: str) -> pd.Series:
    """The one column of a pandas-ta result whose name starts with `prefix`."""
    matches = [name for name in frame.columns if str(name).startswith(prefix)]
    if len(matches) != 1:
        raise RuntimeError(f"expected one column {prefix}* in {list(frame.columns)}")
    return frame[matches[0]]
