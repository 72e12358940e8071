"""Wires the live trader to Alpaca: broker, bar feed and market clock over alpaca-py clients."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from uuid import UUID

from application.engine import SettableClock
from application.live import LiveTrader
from application.service import OpenbellApplication
from domain.bars import Bar
from infrastructure.alpaca.broker import AlpacaBroker
from infrastructure.alpaca.clients import (
    data_stream,
    history_client,
    trading_client,
    trading_stream,
)
from infrastructure.alpaca.config import AlpacaConfig
from infrastructure.alpaca.market_clock import AlpacaMarketClock
from infrastructure.alpaca.market_data import AlpacaBarFeed
from infrastructure.heap import freeze_heap

# Python hands the GIL over every 5 ms by default; the live trader is a few threads mostly
# waiting on sockets (order answers, both streams), so an answer would wait that long for the
# thread that can read it (bench/README.md has the figures).
SWITCH_INTERVAL = 0.001


def tune_interpreter() -> None:
    """For a process that runs the live trader (`openbell live`, bench/live.py)."""
    sys.setswitchinterval(SWITCH_INTERVAL)
    freeze_heap()


def build_live_trader(
    app: OpenbellApplication,
    config: AlpacaConfig,
    *,
    bots: Sequence[UUID] | None = None,
    on_bar: Callable[[Bar], object] | None = None,
    min_backoff: float = 1.0,
    retry_backoff: float = 0.05,
) -> LiveTrader:
    """A LiveTrader over Alpaca (or `openbell alpaca-sim`) as `config` says; paper by default."""
    clock = SettableClock(datetime.now(UTC))  # set from the broker's clock on start
    client = trading_client(config)
    name = (
        f"alpaca {'paper' if config.paper else 'LIVE'} ({config.trading_url or 'alpaca.markets'})"
    )
    broker = AlpacaBroker(
        client,
        clock,
        trading_stream(config, min_backoff=min_backoff),
        backoff=retry_backoff,
        name=name,
    )

    def bars_for(symbols: Sequence[str]) -> AlpacaBarFeed:
        return AlpacaBarFeed(
            data_stream(config, min_backoff=min_backoff),
            history_client(config),
            symbols,
            feed=config.feed,
            backoff=retry_backoff,
        )

    return LiveTrader(
        app, broker, AlpacaMarketClock(client), bars_for, clock, bots=bots, on_bar=on_bar
    )
