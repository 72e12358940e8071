"""The simulator's market hours: outside them an order is queued for the next open, as Alpaca."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from alpaca.trading.enums import OrderSide, OrderStatus, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

from domain.calendar import Session, session_on
from infrastructure.alpaca.clients import trading_client, trading_stream
from infrastructure.alpaca_sim.runner import RunningSim
from infrastructure.alpaca_sim.server import SimOptions
from infrastructure.sample_data import generate_bars
from tests.alpaca.conftest import Sim, wait_for


def _session(day: date) -> Session:
    session = session_on(day)
    assert session is not None
    return session


D1, D2 = _session(date(2024, 11, 6)), _session(date(2024, 11, 7))
D2_OPEN = D2.open.astimezone(UTC)
BARS = generate_bars(["AAPL", "MSFT"], [D1.day, D2.day], 3)


@pytest.fixture
def evening() -> Iterator[Sim]:
    """17:00 New York, after D1's close; D2 opens the next morning."""
    with RunningSim(BARS, SimOptions(start=D1.close + timedelta(hours=1))) as running:
        yield Sim(running)


def _move_to(sim: Sim, moment: datetime) -> None:
    sim.post("/admin/clock", {"to": moment.isoformat()})


class Updates:
    """alpaca-py's TradingStream on a thread: (event, symbol) of each trade update."""

    def __init__(self, sim: Sim) -> None:
        self.seen: list[tuple[str, str]] = []
        self.stream = trading_stream(sim.config, min_backoff=0.05)
        self.stream.subscribe_trade_updates(self._on_update)
        threading.Thread(target=self.stream.run, daemon=True).start()
        wait_for(lambda: sim.state()["stream_clients"]["trading"], what="the trading stream")

    async def _on_update(self, update: Any) -> None:
        data = update["data"]
        self.seen.append((data["event"], data["order"]["symbol"]))

    def wait(self, count: int) -> list[tuple[str, str]]:
        wait_for(lambda: len(self.seen) >= count, what=f"{count} trade updates")
        return self.seen


def test_a_market_order_while_the_market_is_closed_is_queued_and_fills_at_the_open(evening):
    client, updates = trading_client(evening.config), Updates(evening)
    market = client.submit_order(
        MarketOrderRequest(symbol="AAPL", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    low = LimitOrderRequest(
        symbol="MSFT", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY, limit_price=1
    )
    limit = client.submit_order(low)
    assert market.status is OrderStatus.ACCEPTED and limit.status is OrderStatus.ACCEPTED
    _move_to(evening, D2_OPEN - timedelta(minutes=1))
    assert client.get_order_by_id(market.id).status is OrderStatus.ACCEPTED  # not before the open
    _move_to(evening, D2_OPEN)
    filled = client.get_order_by_id(market.id)
    opening = next(b for b in BARS if b.symbol == "AAPL" and b.timestamp == D2_OPEN)
    assert filled.status is OrderStatus.FILLED and filled.filled_at == D2_OPEN
    assert Decimal(filled.filled_avg_price) == opening.open
    assert client.get_order_by_id(limit.id).status is OrderStatus.NEW  # routed, resting
    _move_to(evening, D2.close)
    assert client.get_order_by_id(limit.id).status is OrderStatus.EXPIRED  # a day order
    assert updates.wait(6) == [
        ("accepted", "AAPL"), ("accepted", "MSFT"),  # taken at 17:00, not routed
        ("new", "AAPL"), ("new", "MSFT"), ("fill", "AAPL"),  # routed at the open
        ("expired", "MSFT"),
    ]  # fmt: skip
    updates.stream.stop()
