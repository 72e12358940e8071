"""Every indicator value a signal event carries equals TA-Lib's on the same bars."""

from __future__ import annotations

import math
from decimal import Decimal
from pathlib import Path

import numpy as np
import talib

from application.bot_config import parse_bot_config
from application.replay import replay
from domain.bot import Bot
from infrastructure.bars_io import load_bars
from infrastructure.bootstrap import build_application
from infrastructure.sim_broker import SimulatedBroker

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "bars.csv"

EVERY_INDICATOR = {
    "name": "all-indicators",
    "capital": 100000,
    "symbols": ["AAPL", "MSFT", "SPY"],
    "indicators": {
        "RSI": {"period": 14, "oversold": 45, "overbought": 55},
        "MACD": {"fast": 12, "slow": 26, "signal": 9},
        "SMA": {"period": 20},
        "EMA": {"period": 10},
        "BBANDS": {"period": 20, "std": 2},
        "STOCH": {"k": 14, "d": 3, "smooth": 3},
        "VOLUME_SMA": {"period": 20},
        "OBV": {},
    },
    "risk_management": {"max_position_size": 0.2, "max_positions": 3},
    "min_votes": 3,
    "end_hour": 15,
}


def talib_series(bars):
    high = np.array([float(b.high) for b in bars])
    low = np.array([float(b.low) for b in bars])
    close = np.array([float(b.close) for b in bars])
    volume = np.array([float(b.volume) for b in bars])
    macd, signal, hist = talib.MACD(close, 12, 26, 9)
    upper, middle, lower = talib.BBANDS(close, 20, 2.0, 2.0, 0)
    k, d = talib.STOCH(high, low, close, 14, 3, 0, 3, 0)
    return {
        "RSI(14).rsi": talib.RSI(close, 14),
        "MACD(12,26,9).macd": macd,
        "MACD(12,26,9).signal": signal,
        "MACD(12,26,9).hist": hist,
        "SMA(20).sma": talib.SMA(close, 20),
        "EMA(10).ema": talib.EMA(close, 10),
        "BBANDS(20,2).upper": upper,
        "BBANDS(20,2).middle": middle,
        "BBANDS(20,2).lower": lower,
        "STOCH(14,3,3).k": k,
        "STOCH(14,3,3).d": d,
        "VOLUME_SMA(20).volume_sma": talib.SMA(volume, 20),
        "OBV.obv": talib.OBV(close, volume),
    }


def test_signal_indicator_values_match_talib(tmp_path):
    bars = load_bars([SAMPLE])
    app = build_application(f"sqlite:///{tmp_path / 's.sqlite'}")
    config = parse_bot_config(EVERY_INDICATOR)
    result = replay(app, bars, [config], SimulatedBroker, "talib-check")
    signals = [
        e
        for e in app.bot_events(result.bots[0].id)
        if isinstance(e, Bot.SignalGenerated) and len(e.indicators) > 2
    ]
    assert len(signals) >= 20
    by_symbol = {s: [b for b in bars if b.symbol == s] for s in config.symbols}
    expected = {s: talib_series(b) for s, b in by_symbol.items()}
    index = {s: {b.timestamp: i for i, b in enumerate(b)} for s, b in by_symbol.items()}
    compared = 0
    for signal in signals:
        i = index[signal.symbol][signal.bar_time]
        assert signal.indicators["close"] == by_symbol[signal.symbol][i].close
        for key, value in signal.indicators.items():
            if key == "close":
                continue
            want = expected[signal.symbol][key][i]
            assert isinstance(value, Decimal)
            assert math.isclose(float(value), want, rel_tol=1e-9, abs_tol=1e-9), (key, value, want)
            compared += 1
    assert compared == len(signals) * 13
