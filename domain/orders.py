"""Order vocabulary shared by the bot, the risk manager and the broker port."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import NamedTuple
from uuid import UUID


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    # One-cancels-other exit: a stop leg (stop-loss) and a limit leg (take-profit).
    OCO = "oco"


class Intent(StrEnum):
    """Why an order exists; part of its client order id so one decision maps to one order."""

    ENTRY = "entry"
    EXIT = "exit"
    PROTECT = "protect"
    FLATTEN = "flatten"
    HALT = "halt"


class OrderRequest(NamedTuple):
    """What a bot asks its broker to do; the broker answers with fills keyed by client_order_id.

    A NamedTuple: immutable, and cheaper to make than a frozen dataclass (which sets each
    field through object.__setattr__); a replay makes one per order."""

    client_order_id: str
    symbol: str
    side: Side
    qty: int
    order_type: OrderType
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None


def client_order_id(bot_id: UUID, symbol: str, bar_time: datetime, intent: Intent) -> str:
    """Deterministic per decision (bot, symbol, bar, intent): a retry or restart reuses it.

    The whole bot id is in it (at most 70 characters; Alpaca allows 128), so bots sharing one
    broker account never produce the same id.
    """
    if bar_time.year < 1000:  # strftime's %Y does not pad these; the fast path below would
        return f"ob-{bot_id.hex}-{symbol}-{bar_time:%Y%m%d%H%M}-{intent.value}"
    # The same text without strftime and UUID.hex, the dearest parts of building it.
    t = bar_time
    stamp = "%d%02d%02d%02d%02d" % (t.year, t.month, t.day, t.hour, t.minute)  # noqa: UP031
    return f"ob-{_hex(bot_id)}-{symbol}-{stamp}-{intent.value}"


@lru_cache(maxsize=1024)
def _hex(bot_id: UUID) -> str:
    return bot_id.hex


def bot_hex_of(client_order_id: str) -> str:
    """The bot id (32 hex digits) inside an id made by `client_order_id`."""
    return client_order_id[3:35]
