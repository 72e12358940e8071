"""Pieces of the read models that need no database: topics, value encoding, cursors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.bot import Bot
from projections import default_projections
from projections.base import BOT_EVENTS, cost_of, dumps, iso, ny_day
from projections.paging import TRADE_SORTS, InvalidCursor, Keyset


def test_the_bots_read_model_consumes_every_bot_event_class():
    found = {
        value
        for value in vars(Bot).values()
        if isinstance(value, type) and issubclass(value, Bot.Event) and value is not Bot.Event
    }
    assert found == set(BOT_EVENTS)


def test_projection_names_and_topics():
    projections = default_projections()
    assert [p.name for p in projections] == ["bots", "trades", "positions", "orders", "pnl"]
    trades = projections[1]
    assert set(trades.topics) == {
        "domain.bot:Bot.SignalGenerated",
        "domain.bot:Bot.OrderFilled",
        "domain.bot:Bot.OrderPartiallyFilled",
    }
    # every projection handles each topic it subscribes to
    for projection in projections[1:]:
        assert set(projection._handlers) == set(projection.handles)


def test_moments_are_equal_width_utc_text_and_days_are_new_york_dates():
    late = datetime(2024, 11, 5, 2, 30, tzinfo=UTC)  # 21:30 the day before in New York
    assert iso(late) == "2024-11-05T02:30:00.000000+00:00"
    assert len(iso(late.replace(microsecond=5))) == len(iso(late))
    assert ny_day(late) == "2024-11-04"
    assert dumps({"b": Decimal("1.50"), "a": late}) == (
        '{"a":"2024-11-05T02:30:00.000000+00:00","b":"1.50"}'
    )


def test_cost_basis_takes_the_remainder_on_the_last_sale():
    assert cost_of(1, 3, Decimal(100)) == Decimal(100) / 3
    assert cost_of(3, 3, Decimal(100)) == Decimal(100)


def test_cursors_round_trip_and_refuse_another_sort():
    keyset = Keyset.parse("-profit_loss", TRADE_SORTS)
    cursor = keyset.cursor({"id": 7, "profit_loss": None})
    condition, params = keyset.after(cursor)
    assert params == [0, "0", 7] and condition.endswith("< (?, CAST(? AS NUMERIC), ?)")
    assert keyset.order_by().endswith("id DESC")
    with pytest.raises(InvalidCursor):
        Keyset.parse("price", TRADE_SORTS).after(cursor)
    with pytest.raises(InvalidCursor):
        keyset.after("e30")  # {} in base64
    forged = Keyset.parse("price", TRADE_SORTS).cursor({"id": 1, "price": "1; DROP"})
    with pytest.raises(InvalidCursor, match="not a valid cursor"):
        Keyset.parse("price", TRADE_SORTS).after(forged)
    with pytest.raises(ValueError, match="cannot sort"):
        Keyset.parse("-", TRADE_SORTS)


@pytest.mark.parametrize(
    ("sort", "value"),
    [("timestamp", 5), ("quantity", "abc"), ("id", "7"), ("symbol", True), ("price", "nan")],
)
def test_cursors_with_a_value_of_the_wrong_type_are_refused(sort, value):
    keyset = Keyset.parse(sort, TRADE_SORTS)
    payload = json.dumps([sort, value, 10]).encode()
    forged = base64.urlsafe_b64encode(payload).decode().rstrip("=")
    with pytest.raises(InvalidCursor):
        keyset.after(forged)
