"""Invariants of the engine over generated markets and configs (hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.bars import Bar
from domain.bot import Bot
from domain.units import CENT
from infrastructure.sim_broker import SimulatorCosts
from infrastructure.transcoding import OrjsonTranscoder, TypedMapper
from tests.builders import config, engine_with, et, events_of

DAYS = [date(2024, 11, 1), date(2024, 11, 4)]


@st.composite
def markets(draw):
    symbols = draw(st.sampled_from([["AAPL"], ["AAPL", "MSFT"]]))
    bars: list[Bar] = []
    for day in DAYS[: draw(st.integers(1, 2))]:
        minutes = draw(st.integers(20, 150))
        start = et(day, 9, 30)
        for symbol in symbols:
            price = Decimal(draw(st.integers(20, 400)))
            moves = draw(st.lists(st.integers(-150, 150), min_size=minutes, max_size=minutes))
            wiggles = draw(st.lists(st.integers(0, 60), min_size=minutes, max_size=minutes))
            for i, (move, wiggle) in enumerate(zip(moves, wiggles, strict=True)):
                open_ = price
                close = max(CENT, (price * (1 + Decimal(move) / 10000)).quantize(CENT))
                spread = Decimal(wiggle) / 10000 * price
                high = (max(open_, close) + spread).quantize(CENT)
                low = max(CENT, (min(open_, close) - spread).quantize(CENT))
                bars.append(
                    Bar(
                        symbol, start + timedelta(minutes=i), open_, high, low, close, 1000 + wiggle
                    )
                )
                price = close
    bars.sort(key=lambda b: (b.timestamp, b.symbol))
    return symbols, bars


@st.composite
def bot_configs(draw, symbols):
    kinds = draw(
        st.lists(
            st.sampled_from(["RSI", "MACD", "SMA", "EMA", "BBANDS", "STOCH", "OBV"]),
            min_size=1,
            max_size=3,
            unique=True,
        )
    )
    params = {
        "RSI": {"period": draw(st.integers(2, 10)), "oversold": 40, "overbought": 60},
        "MACD": {"fast": 3, "slow": draw(st.integers(4, 12)), "signal": 3},
        "SMA": {"period": draw(st.integers(2, 10))},
        "EMA": {"period": draw(st.integers(2, 10))},
        "BBANDS": {"period": draw(st.integers(2, 10)), "std": 1},
        "STOCH": {"k": 5, "d": 3, "smooth": 3, "oversold": 30, "overbought": 70},
        "OBV": {},
    }
    risk = {
        "max_position_size": draw(st.sampled_from([0.2, 0.5, 1])),
        "max_positions": draw(st.integers(1, 2)),
        "stop_loss": draw(st.sampled_from([None, 0.002, 0.01])),
        "take_profit": draw(st.sampled_from([None, 0.003, 0.02])),
        "max_daily_loss": draw(st.sampled_from([None, 0.001, 0.01])),
    }
    return config(
        capital=draw(st.sampled_from([1000, 25000])),
        symbols=symbols,
        indicators={k: params[k] for k in kinds},
        risk_management=risk,
        min_votes=1,
        trading_frequency=draw(st.sampled_from([60, 120])),
        end_hour=11,
        end_minute=draw(st.sampled_from([0, 30])),
    )


COSTS = SimulatorCosts(Decimal("0.005"), Decimal("1"), Decimal("5"))


def run(cfg, bars, check_each_bar=None):
    engine = engine_with([cfg], bars[0].timestamp, COSTS)
    bot = engine.bots[0]
    for b in bars:
        engine.on_bar(b)
        if check_each_bar:
            check_each_bar(bot)
    return bot


@st.composite
def scenarios(draw):
    symbols, bars = draw(markets())
    return draw(bot_configs(symbols)), bars


SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def never_overcommitted(bot: Bot) -> None:
    assert bot.cash >= 0
    assert bot.available_cash >= 0
    assert bot.committed() <= bot.config.capital


@SETTINGS
@given(scenarios())
def test_position_equals_the_sum_of_its_fills(scenario):
    cfg, bars = scenario
    bot = run(cfg, bars)
    held: dict[str, int] = {}
    for event in events_of(bot):
        if isinstance(event, Bot.OrderFilled):
            sign = 1 if event.side == "buy" else -1
            held[event.symbol] = held.get(event.symbol, 0) + sign * event.qty
    assert {s: q for s, q in held.items() if q} == {s: p.qty for s, p in bot.positions.items()}


@SETTINGS
@given(scenarios())
def test_a_bot_never_commits_more_than_its_cash_or_capital(scenario):
    cfg, bars = scenario
    run(cfg, bars, check_each_bar=never_overcommitted)


@SETTINGS
@given(scenarios())
def test_every_order_follows_a_signal_and_a_passed_risk_check(scenario):
    cfg, bars = scenario
    bot = run(cfg, bars)
    last_signal: dict[str, Bot.SignalGenerated] = {}
    last_check: dict[str, Bot.RiskCheckPassed] = {}
    for event in events_of(bot):
        if isinstance(event, Bot.SignalGenerated):
            last_signal[event.symbol] = event
            last_check.pop(event.symbol, None)
        elif isinstance(event, Bot.RiskCheckPassed):
            assert event.symbol in last_signal
            last_check[event.symbol] = event
        elif isinstance(event, Bot.OrderSubmitted):
            signal = last_signal.pop(event.symbol)
            check = last_check.pop(event.symbol)
            assert signal.side == check.side == event.side
            assert check.qty == event.qty


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_replaying_twice_gives_byte_identical_events(scenario):
    cfg, bars = scenario
    mapper = TypedMapper(transcoder=OrjsonTranscoder())

    def stored(bot):
        return [
            (s.topic, s.originator_version, s.state)
            for s in map(mapper.to_stored_event, events_of(bot))
        ]

    assert stored(run(cfg, bars)) == stored(run(cfg, bars))
