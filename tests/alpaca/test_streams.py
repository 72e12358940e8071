"""StockDataStream and TradingStream against the simulator: drops, reconnects, backfill."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from application.engine import SettableClock
from domain.orders import OrderRequest, OrderType, Side
from infrastructure.alpaca.broker import AlpacaBroker
from infrastructure.alpaca.clients import (
    data_stream,
    history_client,
    trading_client,
    trading_stream,
)
from infrastructure.alpaca.market_data import AlpacaBarFeed
from tests.alpaca.conftest import wait_for

SYMBOLS = ["AAPL", "MSFT", "SPY"]
OPEN = datetime(2024, 10, 31, 13, 30, tzinfo=UTC)


@pytest.fixture
def feed(sim):
    feed = AlpacaBarFeed(
        data_stream(sim.config, min_backoff=0.05),
        history_client(sim.config),
        SYMBOLS,
        backoff=0.01,
    )
    feed.start()
    # Subscribed, not just connected: a fresh feed has no newest bar to backfill from, so bars
    # published before its subscription reached the simulator would never arrive.
    wait_for(lambda: sim.state()["bar_subscriptions"] == SYMBOLS, what="the subscription")
    yield feed
    feed.stop()


class Collector:
    """Drains the feed on a thread, as the live runner does."""

    def __init__(self, feed: AlpacaBarFeed) -> None:
        self.bars: list = []
        self._thread = threading.Thread(target=self._run, args=(feed,), daemon=True)
        self._thread.start()

    def _run(self, feed: AlpacaBarFeed) -> None:
        for bar in feed.bars():
            self.bars.append(bar)

    def wait(self, count: int) -> None:
        wait_for(lambda: len(self.bars) >= count, what=f"{count} bars (have {len(self.bars)})")


def test_streamed_bars_equal_the_replayed_ones(sim, feed, sample_bars):
    got = Collector(feed)
    sim.step(5)
    got.wait(15)
    expected = [b for b in sample_bars if b.timestamp < datetime(2024, 10, 31, 13, 35, tzinfo=UTC)]
    assert got.bars == expected  # same Decimals, same (time, symbol) order
    assert feed.stats["gaps"] == 0


def test_a_dropped_data_stream_reconnects_and_backfills_no_bar_missed_or_doubled(
    sim, feed, sample_bars
):
    got = Collector(feed)
    sim.step(3)
    got.wait(9)
    sim.faults(block_streams=True, drop_streams=True)  # an outage: no stream for 4 minutes
    wait_for(lambda: not sim.state()["stream_clients"]["data"], what="the drop")
    sim.step(4)
    sim.faults(block_streams=False)
    wait_for(lambda: sim.state()["stream_clients"]["data"], what="the reconnect")
    got.wait(21)  # fetched as soon as the stream is back, before any new bar arrives
    missed = [b for b in sample_bars if b.timestamp < datetime(2024, 10, 31, 13, 37, tzinfo=UTC)]
    assert got.bars == missed and feed.stats["streamed"] == 9
    sim.step(2)
    got.wait(27)
    expected = [b for b in sample_bars if b.timestamp < datetime(2024, 10, 31, 13, 39, tzinfo=UTC)]
    assert got.bars == expected
    assert feed.stats["backfilled"] == 12 and feed.stats["gaps"] == 1


def test_backfill_pages_through_history_and_survives_errors(sim, sample_bars):
    sim.running.sim.options = type(sim.running.sim.options)(page_size=7)
    feed = AlpacaBarFeed(data_stream(sim.config), history_client(sim.config), SYMBOLS, backoff=0.01)
    sim.step(30)
    sim.faults(http_500=2, http_429=1)
    history = feed.history(OPEN)
    assert history == [
        b for b in sample_bars if b.timestamp < datetime(2024, 10, 31, 14, 0, tzinfo=UTC)
    ]


def test_trade_updates_arrive_on_the_stream_and_count_once(sim):
    clock = SettableClock(OPEN)
    broker = AlpacaBroker(
        trading_client(sim.config),
        clock,
        trading_stream(sim.config, min_backoff=0.05),
        backoff=0.01,
    )
    broker.start()
    try:
        wait_for(lambda: sim.state()["stream_clients"]["trading"], what="the trading stream")
        sim.step(1)
        # Far below the market: it rests until the stream reports otherwise.
        broker.submit(
            OrderRequest("ob-e-AAPL-entry", "AAPL", Side.BUY, 2, OrderType.LIMIT, Decimal("1"))
        )
        broker.submit(
            OrderRequest("ob-e-MSFT-entry", "MSFT", Side.BUY, 2, OrderType.LIMIT, Decimal("500"))
        )
        sim.faults(drop_streams=True)  # the trade stream reconnects by itself
        wait_for(lambda: sim.state()["stream_clients"]["trading"], what="the reconnect")
        trading_client(sim.config).cancel_orders()  # canceled behind the bot's back
        updates: list = []
        wait_for(lambda: updates.extend(broker.poll_updates()) or len(updates) >= 3, what="updates")
        kinds = sorted((u.client_order_id, u.kind.value) for u in updates)
        # MSFT filled on submission (held until its bar is observed), AAPL's cancel streamed in.
        assert kinds == [
            ("ob-e-AAPL-entry", "accepted"),
            ("ob-e-AAPL-entry", "canceled"),
            ("ob-e-MSFT-entry", "accepted"),
        ]
    finally:
        broker.close()
