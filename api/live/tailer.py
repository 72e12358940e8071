"""One shared tailer per process: polls the notification log and fans new events out.

It runs while at least one connection is attached (started by the first, stopped after the
last), so there is nothing to stop at shutdown once the server has closed its WebSockets.
Fan-out never blocks: each connection takes a batch into its own bounded queue or gives up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from tenacity import (
    AsyncRetrying,
    RetryError,
    before_sleep_log,
    retry_if_exception_type,
    wait_exponential,
)

from api.live.events import EventLog, LiveEvent, Page

log = logging.getLogger("openbell.api.live")

POLL_INTERVAL = 0.05  # seconds between polls when the last one found nothing more
PAGE_SIZE = 500
MAX_BACKOFF = 5.0  # seconds: the longest wait between reads of the log that keep failing


class Sink(Protocol):
    def begin(self, position: int) -> None:
        """Every event after `position` will be offered (called once, on attach)."""

    def offer_events(self, events: Sequence[LiveEvent]) -> None:
        """Take a batch without blocking (queue it or give up)."""


class Tailer:
    def __init__(
        self, log_: EventLog, interval: float = POLL_INTERVAL, page_size: int = PAGE_SIZE
    ) -> None:
        self.log = log_
        self.interval = interval
        self.page_size = page_size
        self.position = 0  # the highest notification id read so far
        self._sinks: set[Sink] = set()
        self._task: asyncio.Task[None] | None = None
        self._start = asyncio.Lock()
        self._wake = asyncio.Event()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def attach(self, sink: Sink) -> None:
        """From now on `sink` gets every event after the position passed to its `begin`."""
        async with self._start:
            if not self.running:
                self.position = await asyncio.to_thread(self.log.head)
                self._task = asyncio.create_task(self._run(), name="openbell-live-tailer")
            # No await from here on: nothing can be fanned out between begin() and add().
            sink.begin(self.position)
            self._sinks.add(sink)

    def detach(self, sink: Sink) -> None:
        """Synchronous, so it also works from a cancelled connection's cleanup."""
        self._sinks.discard(sink)
        if not self._sinks:
            self._wake.set()  # the poll loop ends at its next check

    async def _run(self) -> None:
        # A failed read is tried again after `interval` seconds, then twice as long each time up
        # to MAX_BACKOFF, while a connection is attached; a success starts the waits over.
        reading = AsyncRetrying(
            stop=lambda _: not self._sinks,
            wait=wait_exponential(multiplier=self.interval, max=MAX_BACKOFF),
            sleep=self._pause,
            retry=retry_if_exception_type(Exception),
            before_sleep=before_sleep_log(log, logging.ERROR, exc_info=True),
        )
        while self._sinks:
            try:
                page: Page | None = await reading(self._read)
            except RetryError:  # the last connection left while reads failed
                return
            if page is None:
                return
            if page.last is not None:
                self.position = page.last
            if page.events:
                self._fan_out(page.events)
            if not page.full:
                await self._pause(self.interval)

    async def _read(self) -> Page | None:
        """The next page of the log; None once no connection is left to take it."""
        self._wake.clear()
        if not self._sinks:  # the last one left while a failed read's retry waited
            return None
        return await asyncio.to_thread(self.log.read, self.position, self.page_size)

    def _fan_out(self, events: Sequence[LiveEvent]) -> None:
        for sink in list(self._sinks):  # a sink may detach itself while offered
            try:
                sink.offer_events(events)
            except Exception:
                log.exception("live: a connection refused a batch; detaching it")
                self.detach(sink)

    async def _pause(self, seconds: float) -> None:
        if self._sinks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), seconds)
