"""Which order of a group fills, and at what price: replay's fill rules for the simulator.

`fill_price` is the rule orders meet bars by (`domain.fills`, without slippage: Alpaca charges
no commission and we model none). `race_price` is the `fill_on_cancel` fault's: an order that
fills as its cancel arrives.
"""

from __future__ import annotations

from decimal import Decimal

from domain.bars import Bar
from domain.fills import Fill, FillKind, exit_fill, limit_fill, market_fill
from infrastructure.alpaca_sim.orders import SimOrder

STOP_FILLS = (FillKind.STOP, FillKind.STOP_GAP)
Execution = tuple[Decimal, SimOrder]  # the price, and the order of the group that fills


def fill_price(order: SimOrder, bar: Bar, intrabar: bool) -> Execution | None:
    """Where `order` (a simple order or an OCO parent) fills against `bar`, if it does.

    An OCO's stop-loss leg is checked before its take-profit (the conservative reading of a bar
    that touched both), so the leg fills on a stop and the parent on a take-profit.
    """
    buying = order.side == "buy"
    if order.type == "market":
        fill: Fill | None = market_fill(bar)
    elif order.legs:
        [leg] = order.legs
        fill = exit_fill(bar, buying, leg.stop_price, order.limit_price, intrabar)
        if fill is not None and fill[1] in STOP_FILLS:
            return fill[0], leg
    elif order.type == "stop":
        fill = exit_fill(bar, buying, order.stop_price, None, intrabar)
    else:
        assert order.limit_price is not None
        fill = limit_fill(bar, buying, order.limit_price)
    return None if fill is None else (fill[0], order)


def race_price(order: SimOrder, bar: Bar | None, mark: Decimal | None) -> Execution | None:
    """Where an order that fills as its cancel arrives fills, deterministically.

    No fill rule would fill it against the bar in progress: it met every price of that bar
    already (resting orders meet whole bars, from their open). So it fills at the last trade, that
    bar's close (`mark`, the last close published, with no bar in progress): a limit at its limit
    instead, never worse; an OCO on its stop-loss leg, as a stop triggered then. None when no
    price is known at all.
    """
    last = bar.close if bar is not None else mark
    if last is None:
        return None
    if order.legs:
        return last, order.legs[0]
    if order.type == "limit":
        assert order.limit_price is not None
        return order.limit_price, order
    return last, order
