"""Streaming calculators agree with the whole-series pandas-ta/TA-Lib implementation.

For generated OHLCV series and parameters, every bar streamed through a calculator gives
None exactly where `compute_series` has NaN, and values within 1e-9 (relative or absolute)
elsewhere. `compute_series` itself is checked against TA-Lib called directly.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
import talib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from talib._ta_lib import MA_Type

from domain.indicators import KINDS, make_indicator
from infrastructure.indicator_series import compute_series

TOLERANCE = 1e-9
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


SEGMENT_KINDS = ("walk", "flat", "tiny", "ulp")


@st.composite
def ohlcv(draw: st.DrawFn, max_size: int = 300) -> pd.DataFrame:
    """Plausible bars: positive prices, high >= max(open, close), low <= min(open, close),
    integer volumes >= 0.

    The series is a run of segments, each a random walk, a flat stretch (identical
    zero-range bars), tiny moves (~1e-9 relative) or moves of a few ulps (where TA-Lib's
    zero tests kick in); hypothesis picks the segments, a drawn seed the noise within.
    """
    segments = draw(
        st.lists(
            st.tuples(
                st.integers(min_value=1, max_value=80),
                st.sampled_from(SEGMENT_KINDS),
                st.floats(min_value=0.0005, max_value=0.05),
            ),
            min_size=1,
            max_size=10,
        )
    )
    price = draw(st.floats(min_value=0.5, max_value=5_000.0))
    cents = draw(st.booleans())  # whole cents: exact ties between closes, highs and lows
    wick_chance = draw(st.sampled_from([0.0, 0.5, 1.0]))
    rng = np.random.default_rng(draw(st.integers(min_value=0, max_value=2**32 - 1)))
    rows: list[tuple[float, float, float, float, float]] = []
    for length, kind, sigma in segments:
        for _ in range(length):
            if len(rows) == max_size:
                break
            volume = float(rng.integers(0, 5_000_000)) if rng.random() > 0.1 else 0.0
            if kind == "flat":
                rows.append((price, price, price, price, volume))
                continue
            scale = {"walk": sigma, "tiny": 1e-9, "ulp": 4e-16}[kind]
            open_ = price * (1.0 + scale * rng.normal())
            price = max(price * (1.0 + scale * rng.normal()), 0.01)
            wick = rng.random() < wick_chance
            high = max(open_, price) * (1.0 + (rng.uniform(0.0, sigma) if wick else 0.0))
            low = min(open_, price) * (1.0 - (rng.uniform(0.0, sigma) if wick else 0.0))
            if cents:
                open_, price = max(round(open_, 2), 0.01), max(round(price, 2), 0.01)
                high = max(round(high, 2), open_, price)
                low = min(max(round(low, 2), 0.01), open_, price)
            rows.append((open_, high, max(low, 0.001), price, volume))
    return pd.DataFrame(rows, columns=["open", "high", "low", "close", "volume"])


def _period(upper: int = 50) -> st.SearchStrategy[int]:
    return st.integers(min_value=2, max_value=upper)


@st.composite
def macd_params(draw: st.DrawFn) -> dict[str, Any]:
    fast = draw(st.integers(min_value=2, max_value=30))
    slow = draw(st.integers(min_value=fast + 1, max_value=60))
    return {"fast": fast, "slow": slow, "signal": draw(st.integers(min_value=1, max_value=20))}


PARAMS: dict[str, st.SearchStrategy[dict[str, Any]]] = {
    "SMA": st.fixed_dictionaries({"period": _period()}),
    "EMA": st.fixed_dictionaries({"period": _period()}),
    "RSI": st.fixed_dictionaries(
        {"period": _period()}, optional={"oversold": st.just(30), "overbought": st.just(70)}
    ),
    "MACD": macd_params(),
    "BBANDS": st.fixed_dictionaries(
        {
            "period": _period(),
            "std": st.one_of(
                st.floats(min_value=0.1, max_value=4.0),
                st.sampled_from([Decimal("1"), Decimal("2"), Decimal("2.5")]),
            ),
        }
    ),
    "STOCH": st.fixed_dictionaries(
        {
            "k": st.integers(min_value=1, max_value=30),
            "d": st.integers(min_value=1, max_value=10),
            "smooth": st.integers(min_value=1, max_value=10),
        }
    ),
    "VOLUME_SMA": st.fixed_dictionaries({"period": _period()}),
    "OBV": st.just({}),
}


def test_every_kind_has_a_parameter_strategy() -> None:
    assert set(PARAMS) == set(KINDS)


@settings(max_examples=50, deadline=None)
@given(bars=ohlcv())
def test_generated_bars_are_plausible(bars: pd.DataFrame) -> None:
    assert len(bars) >= 1
    assert (bars[["open", "high", "low", "close"]] > 0).all().all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert (bars["volume"] >= 0).all()
    assert (bars["volume"] == bars["volume"].round()).all()


def assert_stream_matches_series(bars: pd.DataFrame, kind: str, params: dict[str, Any]) -> None:
    calc = make_indicator(kind, params)
    expected = compute_series(bars, kind, params)
    assert tuple(expected.columns) == calc.outputs
    reference = expected.to_numpy()
    rows = bars[["high", "low", "close", "volume"]].itertuples(index=False, name=None)
    for i, (high, low, close, volume) in enumerate(rows):
        got = calc.update(high, low, close, volume)
        want = reference[i]
        if got is None:
            assert np.isnan(want).all(), f"bar {i}: streamed None, TA-Lib has {want}"
            assert i < calc.warmup - 1, f"bar {i}: None after warm-up ({calc.warmup})"
            continue
        assert i >= calc.warmup - 1, f"bar {i}: value before warm-up ({calc.warmup})"
        assert not np.isnan(want).any(), f"bar {i}: streamed {got}, TA-Lib has {want}"
        assert len(got) == len(calc.outputs)
        for name, g, w in zip(calc.outputs, got, want, strict=True):
            assert math.isclose(g, w, rel_tol=TOLERANCE, abs_tol=TOLERANCE), (
                f"bar {i} {name}: streamed {g!r}, TA-Lib {w!r}"
            )


@pytest.mark.parametrize("kind", KINDS)
@SETTINGS
@given(data=st.data())
def test_streaming_matches_talib_after_warmup(kind: str, data: st.DataObject) -> None:
    bars = data.draw(ohlcv(), label="bars")
    params = data.draw(PARAMS[kind], label="params")
    assert_stream_matches_series(bars, kind, params)


def talib_direct(
    bars: pd.DataFrame, kind: str, params: dict[str, Any]
) -> list[npt.NDArray[np.float64]]:
    high, low, close, volume = (
        bars[c].to_numpy(dtype="float64") for c in ("high", "low", "close", "volume")
    )
    if kind == "SMA":
        return [talib.SMA(close, timeperiod=params["period"])]
    if kind == "EMA":
        return [talib.EMA(close, timeperiod=params["period"])]
    if kind == "RSI":
        return [talib.RSI(close, timeperiod=params["period"])]
    if kind == "MACD":
        return list(talib.MACD(close, params["fast"], params["slow"], params["signal"]))
    if kind == "BBANDS":
        std = float(params["std"])
        return list(talib.BBANDS(close, params["period"], std, std, MA_Type.SMA))
    if kind == "STOCH":
        return list(
            talib.STOCH(
                high,
                low,
                close,
                params["k"],
                params["smooth"],
                MA_Type.SMA,
                params["d"],
                MA_Type.SMA,
            )
        )
    if kind == "VOLUME_SMA":
        return [talib.SMA(volume, timeperiod=params["period"])]
    assert kind == "OBV"
    return [talib.OBV(close, volume)]


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_compute_series_gives_talib_numbers(kind: str, data: st.DataObject) -> None:
    bars = data.draw(ohlcv(max_size=200), label="bars")
    params = data.draw(PARAMS[kind], label="params")
    got = compute_series(bars, kind, params)
    assert got.index.equals(bars.index)
    for column, want in zip(got.columns, talib_direct(bars, kind, params), strict=True):
        np.testing.assert_array_equal(got[column].to_numpy(), want, err_msg=column)


def test_long_random_walk_does_not_drift_from_talib() -> None:
    rng = np.random.default_rng(20240601)
    size = 20_000
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, size)))
    close[5_000:5_400] = close[5_000]  # a long flat stretch mid-way
    open_ = close * (1.0 + rng.normal(0.0, 0.002, size))
    high = np.maximum(open_, close) * (1.0 + rng.uniform(0.0, 0.01, size))
    low = np.minimum(open_, close) * (1.0 - rng.uniform(0.0, 0.01, size))
    volume = rng.integers(0, 1_000_000, size).astype("float64")
    bars = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close, "volume": volume})
    for kind, params in [
        ("SMA", {"period": 50}),
        ("EMA", {"period": 20}),
        ("RSI", {"period": 14}),
        ("MACD", {"fast": 12, "slow": 26, "signal": 9}),
        ("BBANDS", {"period": 20, "std": 2}),
        ("STOCH", {"k": 14, "d": 3, "smooth": 3}),
        ("VOLUME_SMA", {"period": 20}),
        ("OBV", {}),
    ]:
        assert_stream_matches_series(bars, kind, params)
