"""What every read model shares: the projection contract, event topics and value encoding.

A projection owns a few `rm_*` tables (read models plus any state it carries from event to event)
and applies decoded Bot events to them inside the runner's transaction. Money is Decimal in Python
and TEXT in SQL; moments are UTC ISO-8601 text with microseconds, so they sort as text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, ClassVar

from eventsourcing.utils import get_topic

from domain.bot import Bot
from domain.units import NEW_YORK
from projections.batch import Batch
from projections.db import Transaction

# Every event class of the Bot aggregate (a unit test checks none is missing).
BOT_EVENTS: tuple[type[Bot.Event], ...] = (
    Bot.Created,
    Bot.ConfigChanged,
    Bot.Started,
    Bot.Paused,
    Bot.Resumed,
    Bot.Stopped,
    Bot.Errored,
    Bot.AlertRaised,
    Bot.UnexpectedFillReported,
    Bot.Reconciled,
    Bot.Archived,
    Bot.SignalGenerated,
    Bot.RiskCheckPassed,
    Bot.OrderDenied,
    Bot.DailyLossLimitReached,
    Bot.ExitDeferred,
    Bot.OrderSubmitted,
    Bot.OrderAccepted,
    Bot.OrderRejected,
    Bot.OrderCanceled,
    Bot.OrderFilled,
    Bot.OrderPartiallyFilled,
    Bot.PositionOpened,
    Bot.PositionClosed,
)

Handler = Callable[[Batch, Any, int], None]


class Projection:
    """A read model: its tables, the events it consumes and how each one changes the tables.

    Subclasses set `name`, `tables` (dropped on rebuild), `ddl` (idempotent CREATE statements),
    `cached` ((table, primary key) pairs for tables written through the batch's row caches) and
    `handles`, and define `on_<EventClassName>(batch, event, notification_id)` handlers.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    ddl: ClassVar[tuple[str, ...]]
    cached: ClassVar[tuple[tuple[str, tuple[str, ...]], ...]] = ()
    handles: ClassVar[tuple[type[Bot.Event], ...]]

    def __init__(self) -> None:
        found = {cls: getattr(self, f"on_{cls.__name__}", None) for cls in self.handles}
        self._handlers: dict[type, Handler] = {c: h for c, h in found.items() if h is not None}

    @property
    def topics(self) -> tuple[str, ...]:
        return tuple(get_topic(cls) for cls in self.handles)

    @property
    def fingerprint(self) -> str:
        """Names the tables' shape: a changed DDL means the read model must be rebuilt."""
        return hashlib.sha256("\n".join(self.ddl).encode()).hexdigest()[:16]

    def create(self, tx: Transaction) -> None:
        for statement in self.ddl:
            tx.execute(statement)

    def drop(self, tx: Transaction) -> None:
        for table in self.tables:
            tx.execute(f"DROP TABLE IF EXISTS {table}")

    def apply(self, tx: Transaction, event: Any, notification_id: int) -> None:
        self.apply_batch(tx, [(event, notification_id)])

    def apply_batch(self, tx: Transaction, items: Sequence[tuple[Any, int]]) -> None:
        """Apply events in order; cached rows are written once, when the batch ends."""
        batch = Batch(tx, self.cached)
        for event, notification_id in items:
            handler = self._handlers.get(type(event))
            if handler is not None:
                handler(batch, event, notification_id)
        self.finish(batch)
        batch.flush()

    def finish(self, batch: Batch) -> None:
        """Hook before the batch's caches are written."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def iso(moment: datetime) -> str:
    """UTC, always with microseconds: equal-width text that sorts like the moments."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def ny_day(moment: datetime) -> str:
    """The New York trading date of a moment, YYYY-MM-DD."""
    return moment.astimezone(NEW_YORK).date().isoformat()


def dec(text: str | None) -> Decimal:
    return Decimal(text) if text is not None else Decimal(0)


def opt_text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def dumps(value: Any) -> str:
    """Canonical JSON text: sorted keys, Decimals and moments as strings."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def cost_of(qty: int, held_qty: int, held_cost: Decimal) -> Decimal:
    """The aggregate's cost basis rule: pro rata, and the whole remainder when it closes."""
    return held_cost if qty == held_qty else held_cost * qty / held_qty
