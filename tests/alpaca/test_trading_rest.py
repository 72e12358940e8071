"""alpaca-py's TradingClient and the AlpacaBroker against the simulator's trading API."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import GetCalendarRequest, GetOrdersRequest, MarketOrderRequest

from application.engine import SettableClock
from application.ports import UpdateKind
from domain.orders import OrderRequest, OrderType, Side
from infrastructure.alpaca.broker import AlpacaBroker
from infrastructure.alpaca.clients import trading_client
from infrastructure.alpaca.market_clock import AlpacaMarketClock


def _broker(sim, clock=None):
    clock = clock or SettableClock(datetime(2024, 10, 31, 13, 30, tzinfo=UTC))
    return AlpacaBroker(trading_client(sim.config, timeout=0.5), clock, backoff=0.01)


def test_account_clock_and_calendar_parse_into_alpaca_py_models(sim):
    client = trading_client(sim.config)
    sim.step(10)
    assert Decimal(client.get_account().cash) == Decimal(1_000_000)
    market = AlpacaMarketClock(client)
    now = market.clock()
    assert now.is_open and now.timestamp.utcoffset() is not None
    assert market.now() == now.timestamp
    sessions = market.sessions(date(2024, 11, 27), date(2024, 12, 2))
    # Thanksgiving is closed, the day after closes at 13:00 New York time.
    assert [s.day for s in sessions] == [date(2024, 11, 27), date(2024, 11, 29), date(2024, 12, 2)]
    assert sessions[1].close.hour == 13 and sessions[1].close.utcoffset() is not None
    assert (
        client.get_calendar(GetCalendarRequest(start=date(2024, 11, 28), end=date(2024, 11, 28)))
        == []
    )


def test_orders_round_trip_through_the_broker_port(sim, sample_bars):
    clock = SettableClock(datetime(2024, 10, 31, 13, 40, tzinfo=UTC))
    broker = _broker(sim, clock)
    sim.step(10)  # the 13:40 bar is trading; 13:30-13:39 are published
    broker.submit(OrderRequest("ob-a-AAPL-entry", "AAPL", Side.BUY, 10, OrderType.MARKET))
    broker.submit(
        OrderRequest("ob-a-MSFT-entry", "MSFT", Side.BUY, 5, OrderType.LIMIT, Decimal("300"))
    )
    updates = broker.poll_updates()
    assert [(u.kind, u.client_order_id) for u in updates] == [
        (UpdateKind.ACCEPTED, "ob-a-AAPL-entry"),
        (UpdateKind.ACCEPTED, "ob-a-MSFT-entry"),
    ]
    # The market order filled at the open of the bar in progress, but the engine sees the fill
    # only once it observes that bar (where replay's simulator produces it).
    bar = next(b for b in sample_bars if b.symbol == "AAPL" and b.timestamp == clock.now())
    broker.observe(bar)
    [fill] = broker.poll_updates()
    assert (fill.kind, fill.qty, fill.price, fill.at) == (
        UpdateKind.FILLED,
        10,
        bar.open,
        bar.timestamp,
    )

    client = trading_client(sim.config)
    [position] = client.get_all_positions()
    assert (position.symbol, position.qty, Decimal(position.avg_entry_price)) == (
        "AAPL",
        "10",
        bar.open,
    )
    resting = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))
    assert [o.client_order_id for o in resting] == ["ob-a-MSFT-entry"]

    broker.cancel("ob-a-MSFT-entry")
    [canceled] = broker.poll_updates()
    assert canceled.kind is UpdateKind.CANCELED
    assert client.get_order_by_client_id("ob-a-MSFT-entry").status is OrderStatus.CANCELED
    broker.cancel("ob-a-MSFT-entry")  # twice: nothing more happens
    assert broker.poll_updates() == []


def test_a_duplicate_client_order_id_is_refused_like_alpaca(sim):
    client = trading_client(sim.config)
    sim.step(5)
    order = MarketOrderRequest(
        symbol="SPY",
        qty=1,
        side=OrderSide.BUY,
        time_in_force=TimeInForce.DAY,
        client_order_id="dup-1",
    )
    client.submit_order(order)
    with pytest.raises(APIError) as refused:
        client.submit_order(order)
    assert refused.value.status_code == 422
    assert refused.value.message == "client_order_id must be unique"


def test_a_restarted_broker_resubmitting_a_decision_adopts_the_existing_order(sim):
    sim.step(5)
    request = OrderRequest("ob-b-SPY-entry", "SPY", Side.BUY, 3, OrderType.MARKET)
    _broker(sim).submit(request)
    again = _broker(sim)  # a new process: nothing in memory
    again.submit(request)
    assert [u.kind for u in again.poll_updates()] == [UpdateKind.ACCEPTED]
    assert again.stats["adopted"] == 1
    assert len(sim.orders()) == 1


def test_an_order_alpaca_refuses_is_reported_rejected(sim):
    sim.step(5)
    broker = _broker(sim)
    broker.submit(OrderRequest("ob-c-SPY-exit", "SPY", Side.SELL, 3, OrderType.MARKET))
    [update] = broker.poll_updates()
    assert (update.kind, update.reason) == (
        UpdateKind.REJECTED,
        "insufficient qty available for order",
    )


@pytest.mark.parametrize(
    "faults",
    [
        {"http_429": 4},
        {"http_500": 4},
        {"http_500_after": 3},  # the order exists, the answer is lost
        {"timeouts": 2, "timeout_ms": 800},  # the order exists, the answer comes too late
        {"http_429": 2, "http_500_after": 2, "http_500": 2, "only": "/v2/orders"},
    ],
)
def test_error_storms_never_place_a_decision_twice(sim, faults):
    sim.step(5)
    broker = _broker(sim)
    sim.faults(**faults)
    for n in range(4):
        broker.submit(OrderRequest(f"ob-d-SPY-{n}", "SPY", Side.BUY, 1, OrderType.MARKET))
    ids = sorted(o["client_order_id"] for o in sim.orders())
    assert ids == [f"ob-d-SPY-{n}" for n in range(4)]
    accepted = [u.client_order_id for u in broker.poll_updates() if u.kind is UpdateKind.ACCEPTED]
    assert sorted(accepted) == ids
    assert broker.stats["retries"] >= 1


def test_an_order_withdrawn_as_never_received_can_be_sent_again(sim):
    """A restart withdraws a stored order the broker never got; the same decision taken again
    (same client id) is then placed, and its answers reach the engine."""
    broker = _broker(sim, SettableClock(datetime(2024, 10, 31, 13, 40, tzinfo=UTC)))
    sim.step(10)
    request = OrderRequest("ob-w-AAPL-flatten", "AAPL", Side.BUY, 3, OrderType.MARKET)
    broker.track(request.client_order_id, "AAPL", 0, False)  # known from the bot's events
    assert broker.refresh(request.client_order_id) is None  # the broker never had it
    assert broker.poll_updates() == []
    broker.submit(request)
    assert [(u.kind, u.client_order_id) for u in broker.poll_updates()] == [
        (UpdateKind.ACCEPTED, "ob-w-AAPL-flatten")
    ]
