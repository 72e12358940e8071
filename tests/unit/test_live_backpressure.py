"""The live tailer's fan-out: a client that stops reading is closed with 4008, others go on."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import orjson

from api.live.connection import Connection
from api.live.events import LiveEvent, Page, dumps
from api.live.tailer import Tailer
from api.live.topics import parse_topic


def live_event(position: int) -> LiveEvent:
    body = dumps({"position": position, "bot_id": "b", "event": "Started", "data": {}})
    return LiveEvent(position, "b", False, body[1:])


class MemoryLog:
    def __init__(self) -> None:
        self.events: list[LiveEvent] = []

    def head(self) -> int:
        return self.events[-1].position if self.events else 0

    def read(
        self, after: int, limit: int, stop: int | None = None, topics: Sequence[str] = ()
    ) -> Page:
        rows = [e for e in self.events if after < e.position <= (stop or 10**9)][:limit]
        return Page(rows, rows[-1].position if rows else None, len(rows) >= limit)


class Socket:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.open = asyncio.Event()
        self.open.set()

    async def send_text(self, text: str) -> None:
        await self.open.wait()
        self.sent.append(orjson.loads(text))

    def events(self) -> list[int]:
        return [m["position"] for m in self.sent if m["type"] == "event"]


async def wait_for(condition: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.005)


async def a_client_that_stops_reading() -> None:
    log = MemoryLog()
    log.events = [live_event(p) for p in (1, 2)]
    tailer = Tailer(log, interval=0.005, page_size=1)  # one event per batch
    slow_socket, fast_socket = Socket(), Socket()
    slow = Connection(slow_socket.send_text, log, queue_size=3)
    fast = Connection(fast_socket.send_text, log, queue_size=1000)
    pumps = [asyncio.create_task(c.pump()) for c in (slow, fast)]
    try:
        for connection in (slow, fast):
            await tailer.attach(connection)
            await connection.subscribe([parse_topic("bots")], after=0)
        assert slow_socket.events() == fast_socket.events() == [1, 2]
        slow_socket.open.clear()  # stops reading
        log.events += [live_event(p) for p in range(3, 41)]
        await wait_for(lambda: len(fast_socket.events()) == 40)
        assert fast_socket.events() == list(range(1, 41))
        assert slow.closed.done() and not fast.closed.done()
        # Nothing after 2 was sent before the client stopped: resume from there.
        assert slow.closed.result() == (4008, "too slow; reconnect with after=2")
    finally:
        for task in pumps:
            task.cancel()
        for connection in (slow, fast):
            tailer.detach(connection)
        await wait_for(lambda: not tailer.running)


def test_a_slow_client_is_closed_with_4008_without_holding_up_the_others():
    asyncio.run(a_client_that_stops_reading())
