"""Topic names a client may subscribe to, parsed and validated.

Event topics follow the stored events (`bots`, `bot:<uuid>`, `trades`); channel topics
(`bars:<SYMBOL>`, `backtest:<id>`) carry the broadcaster's live-only messages.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from eventsourcing.utils import get_topic

from api.live.events import LiveEvent
from domain.bot import Bot

_SYMBOL = re.compile(r"[A-Z][A-Z0-9.\-]{0,14}")
_BACKTEST_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")
FILL_TOPICS = (get_topic(Bot.OrderFilled), get_topic(Bot.OrderPartiallyFilled))


class TopicError(ValueError):
    """A topic name the server does not know."""


@dataclass(frozen=True, slots=True)
class EventTopic:
    """A stream of stored events: `kind` is bots, trades or bot (then `bot_id` is set)."""

    name: str
    kind: str
    bot_id: str | None = None

    def matches(self, event: LiveEvent) -> bool:
        if event.bot_id is None:
            return False
        if self.kind == "trades":
            return event.is_fill
        if self.kind == "bot":
            return event.bot_id == self.bot_id
        return True

    @property
    def stored_topics(self) -> tuple[str, ...] | None:
        """Stored-event topics that can match (None: any), to narrow catch-up reads."""
        return FILL_TOPICS if self.kind == "trades" else None


@dataclass(frozen=True, slots=True)
class ChannelTopic:
    """Broadcaster messages under this exact name (no history, no positions)."""

    name: str


Topic = EventTopic | ChannelTopic


def parse_topic(name: str) -> Topic:
    if name in ("bots", "trades"):
        return EventTopic(name, name)
    prefix, _, rest = name.partition(":")
    if prefix == "bot" and rest:
        try:
            bot_id = str(UUID(rest))
        except ValueError:
            raise TopicError(f"bad bot id in topic {name!r}") from None
        return EventTopic(f"bot:{bot_id}", "bot", bot_id)
    if prefix == "bars" and _SYMBOL.fullmatch(rest):
        return ChannelTopic(name)
    if prefix == "backtest" and _BACKTEST_ID.fullmatch(rest):
        return ChannelTopic(name)
    raise TopicError(
        f"unknown topic {name[:80]!r}; use bots, trades, bot:<uuid>, bars:<SYMBOL> or backtest:<id>"
    )


def stored_topics(topics: Sequence[EventTopic]) -> tuple[str, ...]:
    """The stored topics a catch-up for all `topics` must read; () means every event."""
    narrowed: set[str] = set()
    for topic in topics:
        if topic.stored_topics is None:
            return ()
        narrowed.update(topic.stored_topics)
    return tuple(sorted(narrowed))
