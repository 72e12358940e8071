"""A session traded live through alpaca-py and the simulator decides exactly as its replay."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from application.bot_config import parse_bot_config
from application.engine import SettableClock, TradingEngine
from domain.bot import Bot
from domain.config import BotConfig
from infrastructure.alpaca.broker import AlpacaBroker
from infrastructure.alpaca.clients import (
    data_stream,
    history_client,
    trading_client,
    trading_stream,
)
from infrastructure.alpaca.market_data import AlpacaBarFeed
from infrastructure.sim_broker import SimulatedBroker
from tests.alpaca.conftest import wait_for

BOTS = Path(__file__).resolve().parents[2] / "data" / "sample" / "bots"
MINUTES = 150  # 09:30-12:00 New York, the sample bots' window
IGNORED = {"originator_version", "broker_order_id"}  # Alpaca's order ids are its own


def _configs() -> list[BotConfig]:
    configs = [
        parse_bot_config(json.loads((BOTS / name).read_text()))
        for name in ("rsi_macd.json", "trend_bands.json", "stoch_volume.json")
    ]
    # Stops and targets a tenth of a percent away: often hit inside the bar the entry filled in.
    tight = json.loads((BOTS / "rsi_macd.json").read_text())
    tight |= {"name": "tight", "min_votes": 1}
    tight["risk_management"] |= {"stop_loss": 0.001, "take_profit": 0.002}
    return [*configs, parse_bot_config(tight)]


def _bots(engine: TradingEngine, at: Any) -> list[Bot]:
    bots = []
    for n, config in enumerate(_configs()):
        bot = Bot.create(UUID(int=n + 1), config, at)
        bot.start(at)
        engine.add_bot(bot)
        bots.append(bot)
    return bots


def _decisions(bot: Bot) -> list[tuple[str, dict[str, Any]]]:
    return [
        (type(e).__name__, {k: v for k, v in vars(e).items() if k not in IGNORED})
        for e in bot.collect_events()
    ]


def _protected_in_their_entry_bar(events: list[tuple[str, dict[str, Any]]]) -> int:
    """Stop-loss or take-profit fills in the same minute as the entry they protect."""
    count, bought = 0, {}
    for name, fields in events:
        if name == "OrderFilled" and fields["side"] == "buy":
            bought[fields["symbol"]] = fields["timestamp"]
        elif name == "OrderFilled" and fields["client_order_id"].endswith("-protect"):
            count += fields["timestamp"] == bought.get(fields["symbol"])
    return count


def test_a_session_traded_through_alpaca_decides_like_its_replay(sim, sample_bars):
    bars = [
        b
        for b in sample_bars
        if b.timestamp < sample_bars[0].timestamp + timedelta(minutes=MINUTES)
    ]
    symbols = sorted({b.symbol for b in bars})

    replay_clock = SettableClock(bars[0].timestamp)
    replayed = TradingEngine(SimulatedBroker(replay_clock), replay_clock)
    replay_bots = _bots(replayed, bars[0].timestamp)
    replayed.run(bars)

    clock = SettableClock(bars[0].timestamp)
    broker = AlpacaBroker(
        trading_client(sim.config), clock, trading_stream(sim.config, min_backoff=0.05)
    )
    feed = AlpacaBarFeed(
        data_stream(sim.config, min_backoff=0.05), history_client(sim.config), symbols
    )
    live = TradingEngine(broker, clock)
    live_bots = _bots(live, bars[0].timestamp)
    broker.start()
    feed.start()
    try:
        wait_for(lambda: sim.state()["stream_clients"] == {"data": 1, "trading": 1}, what="streams")
        seen = 0
        for _ in range(MINUTES):
            sim.step(1)
            got = []
            wait_for(lambda got=got: got.extend(feed.next_bars(0.01)) or len(got) >= len(symbols))
            live.on_minute(sorted(got, key=lambda b: b.symbol))  # one minute a step
            seen += len(got)
            # As the live trader does between bars: what its orders met in the minute now in
            # progress (an entry filled at its open, the protection placed after it).
            for _ in range(3):
                broker.release_current()
                live.dispatch_updates()
        assert seen == len(bars)
    finally:
        feed.stop()
        broker.close()

    trades = protected_at_once = 0
    for mine, theirs in zip(live_bots, replay_bots, strict=True):
        live_events, replay_events = _decisions(mine), _decisions(theirs)
        assert live_events == replay_events, mine.config.name
        trades += sum(name == "OrderFilled" for name, _ in live_events)
        protected_at_once += _protected_in_their_entry_bar(live_events)
    assert trades >= 4  # the session did trade
    assert protected_at_once >= 1  # a stop or target hit inside its entry's bar, both sides
    assert broker.stats["submits"] == len(sim.orders())
