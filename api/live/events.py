"""Stored events as the WebSocket sends them, and the notification-log reads that produce them."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import orjson
from eventsourcing.persistence import Notification

from api.store_gate import StoreGate
from application.audit import explain
from application.service import OpenbellApplication
from domain.bot import Bot

log = logging.getLogger("openbell.api.live")

_ENVELOPE = {"originator_id", "originator_version", "timestamp"}


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def dumps(message: Any) -> str:
    """orjson text: Decimals as strings, datetimes ISO-8601, UUIDs and enums as their values."""
    return orjson.dumps(message, default=_default).decode()


@dataclass(frozen=True, slots=True)
class LiveEvent:
    """One stored event, encoded once and shared by every connection that sends it."""

    position: int
    bot_id: str | None  # None: not a bot event
    is_fill: bool
    body: str  # the JSON object after the opening brace: '"position":…,"data":{…}}'

    def message(self, topic: str) -> str:
        return '{"type":"event","topic":' + dumps(topic) + "," + self.body


def event_data(event: Any) -> dict[str, Any]:
    """The event's own fields (without id, version and timestamp, which the message carries)."""
    if not dataclasses.is_dataclass(event):
        return {}
    return {
        f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.name not in _ENVELOPE
    }


def to_live_event(application: OpenbellApplication, notification: Notification) -> LiveEvent:
    event: Any = application.mapper.to_domain_event(notification)
    is_bot = isinstance(event, Bot.Event)
    body = dumps(
        {
            "position": notification.id,
            "bot_id": str(event.originator_id),
            "version": event.originator_version,
            "event": type(event).__name__,
            "at": event.timestamp.isoformat(),
            "text": explain(event),
            "data": event_data(event),
        }
    )
    return LiveEvent(
        position=notification.id,
        bot_id=str(event.originator_id) if is_bot else None,
        is_fill=isinstance(event, Bot.OrderFilled),  # OrderPartiallyFilled is a subclass
        body=body[1:],
    )


@dataclass(frozen=True, slots=True)
class Page:
    events: list[LiveEvent]
    last: int | None  # the highest notification id read (matching or not); None if none
    full: bool  # as many rows as asked for: there may be more


class EventLog:
    """Blocking reads of the notification log (call them in a thread)."""

    def __init__(self, application: OpenbellApplication, gate: StoreGate) -> None:
        self.application = application
        self.gate = gate

    def head(self) -> int:
        with self.gate.use():
            return self.application.recorder.max_notification_id() or 0

    def read(
        self, after: int, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Page:
        """Events with after < position (<= stop), in position order, at most `limit` rows."""
        with self.gate.use():
            rows = self.application.recorder.select_notifications(
                after + 1, limit, stop=stop, topics=list(topics)
            )
        events = []
        for row in rows:
            try:
                events.append(to_live_event(self.application, row))
            except Exception:  # one undecodable event must not stall every client
                log.exception(
                    "live: cannot decode notification %s (%s); skipped", row.id, row.topic
                )
        return Page(events, rows[-1].id if rows else None, len(rows) >= limit)
