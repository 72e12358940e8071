"""Paper trading: bars fed, in time order, through one engine holding the store's active bots.

The engine is the one replay uses; the feed differs in what it keeps in step with the store:
- before each bar, what API commands stored since (only when the notification log moved past
  the feed's own writes) reaches the engine through the `Roster`;
- after each bar, the bar's events are stored at once, as live trading must store an order
  intent before the order leaves.

A command can land between the reload and the save: the store then refuses the save (a version
conflict). The feed then stores each bot's events on its own; for the bot that conflicted, the
bar's decisions are dropped (not stored, not retried) and the bot is reloaded from the store,
with orders that the broker handled in the lost events withdrawn (see `Roster.reconcile`).

When the bars run out or the feed is stopped, the bots' working orders are withdrawn (the
simulated broker goes away with the feed); the bots keep their status and positions.
"""

from __future__ import annotations

import logging
import threading
import time as timer
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Recording

from application.engine import SettableClock, TradingEngine, minutes_of
from application.feed_roster import BOT_TOPICS, Roster
from application.feed_status import FeedState, FeedStatus, bar_message
from application.ports import Broker
from application.service import OpenbellApplication
from application.store_watch import StoreWatch
from domain.bars import Bar

log = logging.getLogger("openbell.paper_feed")

Publish = Callable[[str, dict[str, Any]], object]
# Waits up to the seconds given, or until the callable says the feed is stopping.
Sleep = Callable[[float, Callable[[], bool]], None]


def wall_clock_sleep(seconds: float, stopping: Callable[[], bool]) -> None:
    """Sleep in slices, so a stop is taken within one (0.05 s)."""
    deadline = timer.monotonic() + seconds
    while not stopping() and (left := deadline - timer.monotonic()) > 0:
        timer.sleep(min(left, 0.05))


__all__ = ["FeedState", "FeedStatus", "PaperFeed", "bar_message"]


class PaperFeed:
    """Feeds bars to the store's running and paused bots; `run` it on a thread of its own.

    `speed` is relative to market time: 0 is as fast as possible, 60 sleeps a minute's gap
    for a second; no sleep is longer than `max_sleep` (overnight gaps do not stall the feed).
    """

    def __init__(
        self,
        app: OpenbellApplication,
        bars: Iterable[Bar],
        broker_for: Callable[[SettableClock], Broker],
        publish: Publish | None = None,
        *,
        speed: float = 0.0,
        max_sleep: float = 1.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Sleep = wall_clock_sleep,
    ) -> None:
        if speed < 0:
            raise ValueError("speed must be 0 (as fast as possible) or more")
        self._bars = sorted(bars, key=lambda b: (b.timestamp, b.symbol))
        if not self._bars:
            raise ValueError("no bars to feed")
        self._app, self._broker_for, self._publish = app, broker_for, publish
        self._speed, self._max_sleep, self._now, self._sleep_for = speed, max_sleep, now, sleep
        self._stop, self._done, self._lock = threading.Event(), threading.Event(), threading.Lock()
        self._status = FeedStatus(FeedState.RUNNING, 0, len(self._bars), None, now(), speed)

    def status(self) -> FeedStatus:
        with self._lock:
            return self._status

    def stop(self) -> None:
        self._stop.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Whether the feed has ended (within `timeout` seconds)."""
        return self._done.wait(timeout)

    def run(self, shutdown: threading.Event | None = None) -> None:
        """Feed every bar, or until `stop()` or `shutdown` (the process ending) says so."""
        try:
            state = self._feed(shutdown)
        except Exception as exc:
            log.exception("paper feed failed")
            self._update(state=FeedState.FAILED, error=f"{type(exc).__name__}: {exc}")
        else:
            self._update(state=state)
        finally:
            self._update(finished_at=self._now())
            self._done.set()

    def _feed(self, shutdown: threading.Event | None) -> FeedState:
        clock = SettableClock(self._bars[0].timestamp)
        engine = TradingEngine(self._broker_for(clock), clock)
        # Watch first: a command stored while the bots load is then taken in again, harmlessly.
        watch = StoreWatch(self._app.recorder, BOT_TOPICS)
        # A joining bot learns the bars the engine has processed so far.
        roster = Roster(self._app, engine, lambda: self._bars[: self.status().bars_fed])
        roster.load()
        state = FeedState.FINISHED
        fed, bars = 0, self._bars
        for minute in minutes_of(bars):
            if self._stopping(shutdown):
                state = FeedState.STOPPED
                break
            roster.sync(watch.changed())
            engine.on_minute(minute)
            watch.saved(self._save(roster))
            fed += len(minute)
            self._update(
                bars_fed=fed, current_bar_time=minute[0].timestamp, bots=len(engine.runners)
            )
            for bar in minute:
                self._send(bar)
            if fed < len(bars):
                self._sleep(minute[0], bars[fed], shutdown)
        roster.sync(watch.changed())
        roster.withdraw_all(f"paper feed {state.value}: its simulated broker is gone")
        watch.saved(self._save(roster))
        return state

    def _save(self, roster: Roster) -> list[Recording[UUID]]:
        recordings, conflicts = roster.save(lambda events: self._app.save(*events))
        if conflicts:
            with self._lock:
                self._status = replace(self._status, conflicts=self._status.conflicts + conflicts)
        return recordings

    def _send(self, bar: Bar) -> None:
        if self._publish is None:
            return
        try:
            self._publish(f"bars:{bar.symbol}", bar_message(bar))
        except Exception:  # a failing listener must not stop trading
            log.exception("paper feed: publishing a bar failed")

    def _sleep(self, bar: Bar, following: Bar, shutdown: threading.Event | None) -> None:
        if not self._speed:
            return
        gap = (following.timestamp - bar.timestamp).total_seconds() / self._speed
        self._sleep_for(min(gap, self._max_sleep), lambda: self._stopping(shutdown))

    def _stopping(self, shutdown: threading.Event | None) -> bool:
        return self._stop.is_set() or (shutdown is not None and shutdown.is_set())

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)
