"""One client's subscriptions, its bounded inbox and the ordered delivery of its messages.

Each event subscription keeps a cursor: the position up to which it has been served (sent, or
skipped as not matching). Catch-up from the log and live batches from the tailer both go through
the same cursors under one lock, so a position is sent at most once per topic and none is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from api.live.events import EventLog, LiveEvent, dumps
from api.live.tailer import PAGE_SIZE
from api.live.topics import ChannelTopic, EventTopic, Topic, stored_topics

log = logging.getLogger("openbell.api.live")

QUEUE_SIZE = 1000  # batches and channel messages waiting for a slow client
TOO_SLOW = 4008


@dataclass(slots=True)
class Subscription:
    topic: EventTopic
    cursor: int


@dataclass(frozen=True, slots=True)
class ChannelMessage:
    topic: str
    message: dict[str, Any]


Item = Sequence[LiveEvent] | ChannelMessage


class Connection:
    """Created on the event loop; `offer_*` never block, the pump sends in order."""

    def __init__(
        self,
        send_text: Callable[[str], Awaitable[None]],
        event_log: EventLog,
        queue_size: int = QUEUE_SIZE,
    ) -> None:
        self._send_text = send_text
        self._log = event_log
        self._loop = asyncio.get_running_loop()
        self._inbox: asyncio.Queue[Item] = asyncio.Queue(queue_size)
        self._subscriptions: dict[str, Subscription] = {}
        self._channels: frozenset[str] = frozenset()  # swapped whole: read from other threads
        self._state = asyncio.Lock()  # subscriptions, cursors and the order of event messages
        self._sending = asyncio.Lock()  # one frame at a time on the socket
        self.processed = 0  # the tailer's batches have been handled up to here
        self.closed: asyncio.Future[tuple[int, str]] = self._loop.create_future()

    # ---- fed by the tailer and the broadcaster (must not block) ---------------------------

    def begin(self, position: int) -> None:
        self.processed = position

    def offer_events(self, events: Sequence[LiveEvent]) -> None:
        self._offer(events)

    def on_broadcast(self, topic: str, message: dict[str, Any]) -> None:
        """A Broadcaster listener: may run on any thread."""
        if topic not in self._channels:
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: the connection is gone
            self._loop.call_soon_threadsafe(self._offer_message, topic, message)

    def _offer_message(self, topic: str, message: dict[str, Any]) -> None:
        if topic in self._channels:
            self._offer(ChannelMessage(topic, message))

    def _offer(self, item: Item) -> None:
        if self.closed.done():
            return
        try:
            self._inbox.put_nowait(item)
        except asyncio.QueueFull:
            self.close(TOO_SLOW, f"too slow; reconnect with after={self.resume_position()}")

    def close(self, code: int, reason: str) -> None:
        if not self.closed.done():
            self.closed.set_result((code, reason))

    def resume_position(self) -> int:
        """Every event topic has been served up to here (a safe `after` for a reconnect)."""
        return min((s.cursor for s in self._subscriptions.values()), default=self.processed)

    # ---- sending ---------------------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        await self.send_text(dumps(message))

    async def send_text(self, text: str) -> None:
        async with self._sending:
            await self._send_text(text)

    async def pump(self) -> None:
        """Send queued batches and channel messages, in order, forever."""
        while True:
            item = await self._inbox.get()
            async with self._state:
                if isinstance(item, ChannelMessage):
                    if item.topic in self._channels:
                        await self.send({"type": "message"} | item.message | {"type": "message"})
                    continue
                for event in item:
                    if event.position > self.processed:
                        await self._serve(event, self._subscriptions.values())
                        self.processed = event.position

    async def _serve(self, event: LiveEvent, subscriptions: Iterable[Subscription]) -> None:
        for subscription in subscriptions:
            if event.position <= subscription.cursor:
                continue
            if subscription.topic.matches(event):
                await self.send_text(event.message(subscription.topic.name))
            subscription.cursor = event.position

    # ---- client requests -------------------------------------------------------------------

    async def subscribe(self, topics: Sequence[Topic], after: int | None) -> None:
        """Send stored events after `after` (None: from now), then go live; ack when caught up."""
        async with self._state:
            channels = {t.name for t in topics if isinstance(t, ChannelTopic)}
            self._channels = self._channels | channels
            start = self.processed if after is None else after
            fresh = [Subscription(t, start) for t in topics if isinstance(t, EventTopic)]
            for subscription in fresh:  # replaces one of the same name: it restarts at `after`
                self._subscriptions[subscription.topic.name] = subscription
            served = self.processed
            if fresh and after is not None:
                # Up to the store's head, which may be ahead of the tailer: the tailer's later
                # batches are skipped by these cursors up to there.
                served = max(served, await asyncio.to_thread(self._log.head))
                await self._catch_up(fresh, start, served)
            for subscription in fresh:
                subscription.cursor = max(subscription.cursor, served)
            names = [t.name for t in topics]
            position = max(start, served) if fresh else self.processed
            await self.send({"type": "subscribed", "topics": names, "position": position})

    async def _catch_up(self, fresh: list[Subscription], after: int, stop: int) -> None:
        narrowed = stored_topics([s.topic for s in fresh])
        while after < stop:
            page = await asyncio.to_thread(self._log.read, after, PAGE_SIZE, stop, narrowed)
            for event in page.events:
                await self._serve(event, fresh)
            if not page.full or page.last is None:
                return
            after = page.last

    async def unsubscribe(self, names: Sequence[str]) -> None:
        async with self._state:
            for name in names:
                self._subscriptions.pop(name, None)
            self._channels = self._channels - set(names)
            await self.send({"type": "unsubscribed", "topics": list(names)})
