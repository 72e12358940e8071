"""The simulator's OCO exits and cancels, as alpaca-py and the trade_updates stream see them."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderClass, OrderSide, OrderStatus, TimeInForce
from alpaca.trading.requests import LimitOrderRequest, StopLossRequest, TakeProfitRequest

from infrastructure.alpaca.clients import trading_client
from tests.alpaca.conftest import scripted_bars

HELD = 147
QUIET = ("100", "101", "99.5", "100.5")  # between the stop and the take-profit
TO_THE_STOP = ("100.5", "101", "96", "96.5")
TO_THE_TARGET = ("100.5", "105", "100", "104.5")


def _exit(cid: str = "ob-x-ACME-exit") -> LimitOrderRequest:
    """Sell everything at 104 or on a fall to 97, whichever comes first."""
    return LimitOrderRequest(
        symbol="ACME",
        qty=HELD,
        side=OrderSide.SELL,
        time_in_force=TimeInForce.DAY,
        client_order_id=cid,
        order_class=OrderClass.OCO,
        take_profit=TakeProfitRequest(limit_price=104),
        stop_loss=StopLossRequest(stop_price=97),
    )


def _events(updates: list[dict]) -> list[tuple[str, str, str]]:
    """(event, which order, its status then) of each trade update."""
    return [
        (u["event"], "leg" if u["order"]["type"] == "stop" else "parent", u["order"]["status"])
        for u in updates
    ]


def test_an_oco_whose_stop_is_hit_fills_its_stop_leg_and_cancels_the_take_profit(
    holding_sim, trade_updates
):
    sim = holding_sim(scripted_bars("ACME", QUIET, TO_THE_STOP), HELD)
    updates = trade_updates(sim)
    client = trading_client(sim.config)
    placed = client.submit_order(_exit())
    [leg] = placed.legs
    assert (placed.status, leg.status, leg.order_type) == ("new", "held", "stop")
    assert leg.client_order_id != placed.client_order_id
    UUID(leg.client_order_id)  # generated, as Alpaca names legs

    sim.step(1)  # the minute that falls through the stop
    received = updates.wait(3)
    assert _events(received) == [
        ("new", "parent", "new"),
        ("canceled", "parent", "canceled"),  # the take-profit goes first ...
        ("fill", "leg", "filled"),  # ... then the stop leg fills
    ]
    fill = received[2]
    assert (fill["order"]["id"], Decimal(fill["price"]), fill["qty"]) == (
        str(leg.id),
        Decimal(97),
        str(HELD),
    )

    for found in (
        client.get_order_by_client_id("ob-x-ACME-exit"),
        client.get_order_by_id(placed.id),
    ):
        [leg_now] = found.legs
        assert (found.status, found.filled_qty, found.filled_avg_price) == (
            OrderStatus.CANCELED,
            "0",
            None,
        )
        assert (leg_now.status, leg_now.filled_qty, Decimal(leg_now.filled_avg_price)) == (
            OrderStatus.FILLED,
            str(HELD),
            Decimal(97),
        )
    assert client.get_order_by_id(leg.id).status is OrderStatus.FILLED
    assert sim.positions() == {}  # sold once


def test_an_oco_whose_take_profit_is_reached_fills_the_parent_and_cancels_the_leg(
    holding_sim, trade_updates
):
    sim = holding_sim(scripted_bars("ACME", QUIET, TO_THE_TARGET), HELD)
    updates = trade_updates(sim)
    client = trading_client(sim.config)
    client.submit_order(_exit())
    sim.step(1)
    received = updates.wait(3)
    assert _events(received) == [
        ("new", "parent", "new"),
        ("fill", "parent", "filled"),
        ("canceled", "leg", "canceled"),
    ]
    found = client.get_order_by_client_id("ob-x-ACME-exit")
    [leg] = found.legs
    assert (found.status, found.filled_qty, Decimal(found.filled_avg_price)) == (
        OrderStatus.FILLED,
        str(HELD),
        Decimal(104),
    )
    assert (leg.status, leg.filled_qty, leg.filled_avg_price) == (OrderStatus.CANCELED, "0", None)
    assert sim.positions() == {}


def test_canceling_an_oco_cancels_its_leg_too_and_a_second_cancel_is_refused(
    holding_sim, trade_updates
):
    sim = holding_sim(scripted_bars("ACME", QUIET, QUIET), HELD)
    updates = trade_updates(sim)
    client = trading_client(sim.config)
    placed = client.submit_order(_exit())
    client.cancel_order_by_id(placed.id)
    assert _events(updates.wait(3)) == [
        ("new", "parent", "new"),
        ("canceled", "parent", "canceled"),
        ("canceled", "leg", "canceled"),
    ]
    with pytest.raises(APIError) as refused:
        client.cancel_order_by_id(placed.legs[0].id)
    assert refused.value.status_code == 422
    sim.step(1)
    assert sim.positions() == {"ACME": HELD}


def test_fill_on_cancel_fills_a_resting_limit_at_its_limit_and_refuses_the_cancel(holding_sim):
    sim = holding_sim(scripted_bars("ACME", QUIET, QUIET), HELD)
    client = trading_client(sim.config)
    resting = client.submit_order(
        LimitOrderRequest(
            symbol="ACME", qty=10, side=OrderSide.SELL, time_in_force=TimeInForce.DAY,
            limit_price=110, client_order_id="ob-x-ACME-limit",
        )
    )  # fmt: skip
    sim.faults(fill_on_cancel=1)
    with pytest.raises(APIError) as refused:
        client.cancel_order_by_id(resting.id)
    assert (refused.value.status_code, refused.value.message) == (
        422,
        "order is filled and cannot be canceled",
    )
    found = client.get_order_by_id(resting.id)
    assert (found.status, found.filled_qty, Decimal(found.filled_avg_price)) == (
        OrderStatus.FILLED,
        "10",
        Decimal(110),
    )
    assert sim.state()["faults"]["fill_on_cancel"] == 0


def test_fill_on_cancel_fills_an_oco_on_its_stop_leg_at_the_last_trade(holding_sim):
    sim = holding_sim(scripted_bars("ACME", QUIET, QUIET), HELD)
    client = trading_client(sim.config)
    placed = client.submit_order(_exit())
    sim.faults(fill_on_cancel=1)
    with pytest.raises(APIError) as refused:
        client.cancel_order_by_id(placed.id)
    assert refused.value.status_code == 422
    found = client.get_order_by_id(placed.id)
    [leg] = found.legs
    assert (found.status, leg.status, Decimal(leg.filled_avg_price)) == (
        OrderStatus.CANCELED,
        OrderStatus.FILLED,
        Decimal(QUIET[3]),
    )
    assert sim.positions() == {}
