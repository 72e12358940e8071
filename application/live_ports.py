"""The ports live trading adds to the engine's: a broker account, a market calendar, live bars."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from application.ports import Broker
from domain.bars import Bar
from domain.calendar import Session

OPEN_STATUSES = frozenset({"new", "accepted", "pending_new", "partially_filled", "held"})


@dataclass(frozen=True, slots=True)
class BrokerOrder:
    """An order as the broker holds it now (Alpaca's order object, in our words)."""

    client_order_id: str
    broker_order_id: str
    symbol: str
    side: str
    status: str
    qty: int
    filled_qty: int
    filled_avg_price: Decimal

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class LiveBroker(Broker, Protocol):
    """A real broker: its trade-updates stream, its account, and orders found by client id."""

    name: str

    def start(self) -> None: ...

    def close(self) -> None: ...

    def track(self, client_order_id: str, symbol: str, filled_qty: int, accepted: bool) -> None:
        """An order the bot's events know about; later reports carry only what is new."""
        ...

    def refresh(self, client_order_id: str) -> BrokerOrder | None:
        """Look the order up and report what changed since `track`; None: the broker has none."""
        ...

    def release_current(self) -> None:
        """Between bars: report what happened in the minute after the last bar the engine has
        for every symbol, as if its bar had been observed up to now."""
        ...

    def release_until(self, moment: datetime) -> None:
        """Report fills up to `moment` now instead of waiting for their bar to be observed."""
        ...

    def orders_since(self, after: datetime) -> list[BrokerOrder]:
        """Every order (any status) created after `after`."""
        ...

    def positions(self) -> dict[str, int]:
        """Shares held per symbol in the account."""
        ...


class MarketCalendar(Protocol):
    """The broker's market clock and calendar."""

    def now(self) -> datetime: ...

    def session(self, day: date) -> Session | None: ...


class LiveBars(Protocol):
    """Minute bars for a set of symbols: history for warm-up, then each live bar once."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def warm_up(self, start: datetime, end: datetime | None = None) -> list[Bar]: ...

    def history(
        self, start: datetime, end: datetime | None = None, symbols: Sequence[str] | None = None
    ) -> list[Bar]:
        """Published bars (of `symbols`, default all) from `start` to `end` inclusive, in
        (time, symbol) order; what is live is left as it is."""
        ...

    def add(self, symbols: Sequence[str], start: datetime) -> list[Bar]:
        """Subscribe to more symbols; their history since `start`, the live bars after it."""
        ...

    def next_bars(self, timeout: float) -> list[Bar]: ...
