from datetime import date
from decimal import Decimal

from application.engine import SettableClock
from application.ports import UpdateKind
from domain.orders import OrderRequest, OrderType, Side
from infrastructure.sim_broker import SimulatedBroker, SimulatorCosts
from tests.builders import bar, et

DAY = date(2024, 11, 1)
T = [et(DAY, 10, m) for m in range(10)]


def broker(costs=None):
    clock = SettableClock(T[0])
    return SimulatedBroker(clock, costs), clock


def fills(b):
    return [
        (u.client_order_id, u.qty, u.price, u.fee)
        for u in b.poll_updates()
        if u.kind is UpdateKind.FILLED
    ]


def test_market_order_fills_at_the_next_bars_open():
    b, clock = broker()
    b.observe(bar("AAPL", T[0], "100", open_="99"))
    clock.set(T[1])
    b.submit(OrderRequest("m1", "AAPL", Side.BUY, 5, OrderType.MARKET))
    assert fills(b) == []
    b.observe(bar("AAPL", T[1], "102", open_="101"))
    assert fills(b) == [("m1", 5, Decimal("101"), Decimal(0))]


def test_limit_buy_fills_at_open_when_marketable_else_at_limit_else_not():
    b, _ = broker()
    b.submit(OrderRequest("l1", "AAPL", Side.BUY, 1, OrderType.LIMIT, Decimal("100")))
    b.submit(OrderRequest("l2", "AAPL", Side.BUY, 1, OrderType.LIMIT, Decimal("98")))
    b.submit(OrderRequest("l3", "AAPL", Side.BUY, 1, OrderType.LIMIT, Decimal("90")))
    b.observe(bar("AAPL", T[1], "99", open_="99.5", low="97"))
    assert fills(b) == [("l1", 1, Decimal("99.5"), 0), ("l2", 1, Decimal("98"), 0)]


def test_oco_stop_fills_at_the_gap_open_when_price_gaps_through():
    b, _ = broker()
    b.submit(OrderRequest("p", "AAPL", Side.SELL, 3, OrderType.OCO, Decimal("110"), Decimal("95")))
    b.observe(bar("AAPL", T[1], "94", open_="93", high="96", low="92"))
    assert fills(b) == [("p", 3, Decimal("93"), 0)]


def test_oco_stop_inside_the_bar_fills_at_the_stop_and_is_checked_before_the_target():
    b, _ = broker()
    b.submit(OrderRequest("p", "AAPL", Side.SELL, 3, OrderType.OCO, Decimal("101"), Decimal("99")))
    b.observe(bar("AAPL", T[1], "100", open_="100", high="102", low="98"))
    assert fills(b) == [("p", 3, Decimal("99"), 0)]


def test_oco_target_fills_at_the_target_or_a_better_gap_open():
    b, _ = broker()
    b.submit(OrderRequest("p", "AAPL", Side.SELL, 3, OrderType.OCO, Decimal("101"), Decimal("95")))
    b.observe(bar("AAPL", T[1], "100.5", open_="100", high="101.2", low="99.5"))
    assert fills(b) == [("p", 3, Decimal("101"), 0)]
    b.submit(OrderRequest("q", "AAPL", Side.SELL, 1, OrderType.OCO, Decimal("101"), Decimal("95")))
    b.observe(bar("AAPL", T[2], "103", open_="102.5"))
    assert fills(b) == [("q", 1, Decimal("102.5"), 0)]


def test_slippage_moves_market_fills_against_the_trader_and_commission_has_a_minimum():
    costs = SimulatorCosts(Decimal("0.005"), Decimal("1.00"), Decimal("10"))
    b, _ = broker(costs)
    b.submit(OrderRequest("buy", "AAPL", Side.BUY, 100, OrderType.MARKET))
    b.submit(OrderRequest("sell", "AAPL", Side.SELL, 1000, OrderType.MARKET))
    b.observe(bar("AAPL", T[1], "100", open_="100"))
    assert fills(b) == [
        ("buy", 100, Decimal("100.10"), Decimal("1.00")),
        ("sell", 1000, Decimal("99.90"), Decimal("5.00")),
    ]


def test_a_reused_client_order_id_is_rejected_like_alpaca_does():
    b, _ = broker()
    b.submit(OrderRequest("same", "AAPL", Side.BUY, 1, OrderType.MARKET))
    b.submit(OrderRequest("same", "AAPL", Side.BUY, 1, OrderType.MARKET))
    kinds = [(u.kind, u.reason) for u in b.poll_updates()]
    assert kinds == [
        (UpdateKind.ACCEPTED, ""),
        (UpdateKind.REJECTED, "client_order_id must be unique"),
    ]


def test_cancel_removes_a_resting_order():
    b, _ = broker()
    b.submit(OrderRequest("m", "AAPL", Side.BUY, 1, OrderType.MARKET))
    b.cancel("m")
    b.observe(bar("AAPL", T[1], "100"))
    assert [u.kind for u in b.poll_updates()] == [UpdateKind.ACCEPTED, UpdateKind.CANCELED]
