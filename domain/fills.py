"""Where a resting order fills against a bar: one rule for replay's simulated broker and for the
Alpaca simulator, so a live session over the simulator fills where its replay does.

A market order fills at the bar's open. A limit order fills at the open when the open is already
through its limit, else at the limit if the bar trades through it. An exit's stop leg is checked
before its take-profit leg (the conservative reading of a bar that touched both): a gap through
the stop fills at the open, a touch at the stop; the take-profit likewise. `intrabar` is for an
order placed inside the bar (an exit sent right after its entry filled at the open): the open was
before it, so it cannot fill there.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from domain.bars import Bar
from domain.orders import OrderType


class FillKind(StrEnum):
    """What the fill price is: a broker adding slippage needs to know."""

    MARKET = "market"  # a market order, at the open
    LIMIT_AT_OPEN = "limit at open"  # the open was better than the limit
    LIMIT = "limit"
    STOP_GAP = "stop gap"  # the bar opened through the stop
    STOP = "stop"
    TARGET_GAP = "target gap"  # the bar opened through the take-profit
    TARGET = "target"


Fill = tuple[Decimal, FillKind]  # the price, and what it is

_NEVER_LOW = Decimal("-Infinity")  # no bar's low is at or below it
_NEVER_HIGH = Decimal("Infinity")  # no bar's high is at or above it


def reach(
    order_type: OrderType, buying: bool, limit: Decimal | None, stop: Decimal | None
) -> tuple[Decimal, Decimal]:
    """(low, high): an order can fill on a bar only if the bar's low is at or below `low` or
    its high at or above `high`.

    A bar opens between its low and high, so this covers the gap fills too. A broker that
    checks a resting order on every bar needs these two comparisons, not the rules below.
    """
    if order_type is OrderType.MARKET:
        return _NEVER_HIGH, _NEVER_HIGH  # every bar fills it
    if order_type is OrderType.LIMIT:
        assert limit is not None
        return (limit, _NEVER_HIGH) if buying else (_NEVER_LOW, limit)
    # An exit: selling, the stop is below the market and the take-profit above; buying, reversed.
    low_leg, high_leg = (limit, stop) if buying else (stop, limit)
    return (
        _NEVER_LOW if low_leg is None else low_leg,
        _NEVER_HIGH if high_leg is None else high_leg,
    )


def market_fill(bar: Bar) -> Fill:
    return bar.open, FillKind.MARKET


def limit_fill(bar: Bar, buying: bool, limit: Decimal) -> Fill | None:
    if buying:
        if bar.open <= limit:
            return bar.open, FillKind.LIMIT_AT_OPEN
        return (limit, FillKind.LIMIT) if bar.low <= limit else None
    if bar.open >= limit:
        return bar.open, FillKind.LIMIT_AT_OPEN
    return (limit, FillKind.LIMIT) if bar.high >= limit else None


def exit_fill(
    bar: Bar, buying: bool, stop: Decimal | None, target: Decimal | None, intrabar: bool
) -> Fill | None:
    """A stop, a take-profit, or both (one cancels the other)."""
    if stop is not None:
        if not intrabar and (bar.open >= stop if buying else bar.open <= stop):
            return bar.open, FillKind.STOP_GAP
        if bar.high >= stop if buying else bar.low <= stop:
            return stop, FillKind.STOP
    if target is not None:
        if not intrabar and (bar.open <= target if buying else bar.open >= target):
            return bar.open, FillKind.TARGET_GAP
        if bar.low <= target if buying else bar.high >= target:
            return target, FillKind.TARGET
    return None
