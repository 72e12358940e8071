"""The chaos test's market: seeded bars the project does not ship, and bots that trade them hard.

The bars are a random walk of one-minute bars on two sessions (the first one is the history a
starting trader warms up from), more volatile than `infrastructure.sample_data`'s, with gaps
between bars (a stop gapped through fills at the open) and wicks inside a bar (a stop or a target
reached mid-bar, sometimes in the very bar a bot decides to exit on). The bots have tight stops
and targets and vote with one indicator, so protective OCOs fill often and exits race them.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from uuid import UUID

from application.bot_config import parse_bot_config
from application.service import OpenbellApplication, bot_id_for
from domain.bars import BAR_LENGTH, Bar
from domain.calendar import session_on

SYMBOLS = ("AMD", "INTC", "QQQ", "TSLA")
HISTORY_DAY, DAY = date(2025, 3, 4), date(2025, 3, 5)
_SESSION = session_on(DAY)
assert _SESSION is not None
OPEN = _SESSION.open.astimezone(UTC)

_CENT = Decimal("0.01")
_MINUTE_VOL = 0.0018  # ~3.5% a day: 0.2-1% stops and targets are reached within minutes
_GAP_P, _GAP = 0.03, (0.003, 0.012)  # a bar opening away from the last close
_WICK_P, _WICK = 0.05, (0.003, 0.012)  # a bar reaching far on one side, then coming back


def chaos_bars(seed: int) -> list[Bar]:
    """Both sessions' bars of every symbol, by (timestamp, symbol); the same for the same seed."""
    bars = [bar for symbol in SYMBOLS for bar in _walk(symbol, seed)]
    return sorted(bars, key=lambda bar: (bar.timestamp, bar.symbol))


def _walk(symbol: str, seed: int) -> list[Bar]:
    rng = random.Random(f"chaos:{seed}:{symbol}")
    anchor = price = 20.0 + 380.0 * rng.random()
    bars: list[Bar] = []
    for day in (HISTORY_DAY, DAY):
        session = session_on(day)
        assert session is not None
        minute, close_at = session.open.astimezone(UTC), session.close.astimezone(UTC)
        price *= 1.0 + rng.gauss(0.0, 0.01)  # overnight
        while minute < close_at:
            bars.append(_bar(rng, symbol, minute, price, anchor))
            price = float(bars[-1].close)
            minute += BAR_LENGTH
    return bars


def _bar(rng: random.Random, symbol: str, minute: datetime, price: float, anchor: float) -> Bar:
    opening = price
    if rng.random() < _GAP_P:
        opening *= 1.0 + rng.choice((-1.0, 1.0)) * rng.uniform(*_GAP)
    move = rng.gauss(0.0, _MINUTE_VOL) - 0.002 * (opening / anchor - 1.0)
    closing = opening * (1.0 + move)
    high = max(opening, closing) * (1.0 + abs(rng.gauss(0.0, _MINUTE_VOL / 2)))
    low = min(opening, closing) * (1.0 - abs(rng.gauss(0.0, _MINUTE_VOL / 2)))
    if rng.random() < _WICK_P:
        if rng.random() < 0.5:
            high *= 1.0 + rng.uniform(*_WICK)
        else:
            low *= 1.0 - rng.uniform(*_WICK)
    o, c = _cents(opening), _cents(closing)
    h, lo = max(_cents(high), o, c), min(_cents(low), o, c)
    volume = int(rng.uniform(2_000, 60_000) * (1.0 + 40.0 * abs(move)))
    return Bar(symbol, minute, o, h, lo, c, volume)


def _cents(value: float) -> Decimal:
    return Decimal(max(value, 0.01)).quantize(_CENT, rounding=ROUND_HALF_EVEN)


def _bot(
    name: str,
    symbols: list[str],
    indicators: dict[str, Any],
    stop: str,
    target: str,
    window: tuple[int, int, int, int],
    **extra: Any,
) -> dict[str, Any]:
    return {
        "name": name, "capital": 90000, "trading_frequency": 60, "symbols": symbols,
        "indicators": indicators,
        "risk_management": {"stop_loss": stop, "take_profit": target, "max_position_size": 0.3,
                            "max_positions": 3, **extra.pop("risk", {})},
        "start_hour": window[0], "start_minute": window[1],
        "end_hour": window[2], "end_minute": window[3],
        "min_votes": 1, **extra,
    }  # fmt: skip


# Windows end between 12:10 and 13:25 New York time, so flattening at a window's end is killed
# into too; each symbol is traded by three or four bots sharing the one account.
BOTS = [
    _bot("chaos-rsi", ["AMD", "TSLA"], {"RSI": {"period": 5, "oversold": 40, "overbought": 60}},
         "0.003", "0.005", (9, 30, 13, 0)),
    _bot("chaos-trend", ["TSLA", "QQQ"], {"EMA": {"period": 5}, "SMA": {"period": 10}},
         "0.002", "0.004", (9, 35, 12, 30)),
    _bot("chaos-macd", ["AMD", "INTC"],
         {"MACD": {"fast": 5, "slow": 13, "signal": 4},
          "RSI": {"period": 7, "oversold": 45, "overbought": 55}},
         "0.005", "0.008", (9, 40, 13, 15)),
    _bot("chaos-stoch", ["INTC", "QQQ", "TSLA"],
         {"STOCH": {"k": 5, "d": 3, "smooth": 2, "oversold": 30, "overbought": 70}},
         "0.004", "0.006", (9, 30, 12, 45), risk={"max_daily_loss": 0.01}),
    _bot("chaos-bands", ["AMD", "QQQ"], {"BBANDS": {"period": 10, "std": 1}, "EMA": {"period": 3}},
         "0.01", "0.01", (10, 0, 13, 20)),
    _bot("chaos-volume", ["TSLA", "INTC"],
         {"OBV": {}, "VOLUME_SMA": {"period": 5},
          "RSI": {"period": 4, "oversold": 45, "overbought": 55}},
         "0.006", "0.003", (9, 31, 12, 10), entry_price_buffer="0.001"),
    _bot("chaos-all", list(SYMBOLS),
         {"RSI": {"period": 3, "oversold": 45, "overbought": 55}, "EMA": {"period": 4}},
         "0.002", "0.002", (9, 30, 13, 25)),
]  # fmt: skip


def create_bots(app: OpenbellApplication, seed: int) -> dict[UUID, str]:
    """Store and start the bots (as the API would); their ids with their names."""
    ids = {}
    for body in BOTS:
        config = parse_bot_config(body)
        bot_id = bot_id_for(config.name, f"chaos-{seed}")
        app.create_bot(bot_id, config, OPEN)
        app.run_command(bot_id, "start", OPEN)
        ids[bot_id] = config.name
    return ids
