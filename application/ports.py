"""The ports the engine drives; adapters for replay, paper and live implement them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple, Protocol

from domain.bars import Bar
from domain.orders import OrderRequest


class Clock(Protocol):
    def now(self) -> datetime: ...


class MarketData(Protocol):
    def bars(self) -> Iterator[Bar]: ...


class UpdateKind(StrEnum):
    ACCEPTED = "accepted"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"


class BrokerUpdate(NamedTuple):
    """What the broker says happened to one order (Alpaca's trade_update, in our words).

    A NamedTuple: immutable like a frozen dataclass, and cheaper to make (no
    object.__setattr__ per field); a replay makes one for every acceptance, fill and cancel."""

    kind: UpdateKind
    client_order_id: str
    at: datetime
    broker_order_id: str = ""
    qty: int = 0
    price: Decimal = Decimal(0)
    fee: Decimal = Decimal(0)
    reason: str = ""


class Broker(Protocol):
    def submit(self, request: OrderRequest) -> None: ...

    def cancel(self, client_order_id: str) -> None: ...

    def estimate_fee(self, qty: int, price: Decimal) -> Decimal: ...

    def observe(self, bar: Bar) -> None:
        """A new bar: a simulator matches resting orders against it; a real broker ignores it."""
        ...

    def poll_updates(self) -> list[BrokerUpdate]: ...
