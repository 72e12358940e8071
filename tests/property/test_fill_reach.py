"""`domain.fills.reach` never rules out a bar that the fill rules would fill (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from domain.bars import Bar
from domain.fills import exit_fill, limit_fill, market_fill, reach
from domain.orders import OrderType

prices = st.integers(90, 110).map(Decimal)
maybe_prices = st.none() | prices


@st.composite
def bars(draw):
    low, high = sorted((draw(prices), draw(prices)))
    open_ = draw(st.integers(int(low), int(high)).map(Decimal))
    close = draw(st.integers(int(low), int(high)).map(Decimal))
    return Bar("AAPL", datetime(2024, 11, 1, 15, tzinfo=UTC), open_, high, low, close, 100)


def reachable(bar: Bar, order_type: OrderType, buying: bool, limit, stop) -> bool:
    low, high = reach(order_type, buying, limit, stop)
    return bar.low <= low or bar.high >= high


@given(bars())
def test_a_market_order_always_reaches_the_bar(bar):
    assert market_fill(bar) is not None
    assert reachable(bar, OrderType.MARKET, True, None, None)
    assert reachable(bar, OrderType.MARKET, False, None, None)


@given(bars(), st.booleans(), prices)
def test_a_limit_order_fills_exactly_when_it_reaches_the_bar(bar, buying, limit):
    filled = limit_fill(bar, buying, limit) is not None
    assert filled == reachable(bar, OrderType.LIMIT, buying, limit, None)


@given(bars(), st.booleans(), maybe_prices, maybe_prices, st.booleans())
def test_an_exit_fills_exactly_when_it_reaches_the_bar(bar, buying, target, stop, intrabar):
    filled = exit_fill(bar, buying, stop, target, intrabar) is not None
    assert filled == reachable(bar, OrderType.OCO, buying, target, stop)
