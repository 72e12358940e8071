"""Live trading: the replay engine driven by a real broker's bars, clock and calendar.

Start-up: load the store's running and paused bots, open the broker's trade-updates stream,
reconcile every bot with the broker (`application/reconcile.py`), subscribe once to the bars of
every symbol the bots trade, and warm the shared indicators (and each bot's last decision) up
from the broker's history since the previous session opened; then flatten what a window that
ended meanwhile should have, and protect what is still held (`application/live_warm_up.py`,
which also warms up a bot that joins later, on every one of its symbols, and a bot whose config
changes while it trades, under the new config, where the change needs it). Then each live bar
goes through `TradingEngine.on_bar` exactly once, the bar's events are stored, and only then do
the orders they decided leave (`Outbox`). Working orders stay at the broker when the trader
stops; the next start reconciles them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Recording

from application.bot_runner import BotRunner
from application.engine import SettableClock, TradingEngine, minutes_of
from application.feed_roster import BOT_TOPICS, Roster
from application.live_ports import LiveBars, LiveBroker, MarketCalendar
from application.live_warm_up import BarsFor, WarmUps, previous_open
from application.outbox import Outbox
from application.reconcile import Reconciler
from application.service import OpenbellApplication
from application.store_watch import StoreWatch
from domain.bars import Bar
from domain.bot import ACTIVE_STATUSES, Bot, BotStatus
from domain.orders import Intent

log = logging.getLogger("openbell.live")
_WATCHED = (BotStatus.ERRORED, BotStatus.STOPPED)
WarmUp = Callable[[BotRunner, dict[str, set[str]]], None]  # a runner, its cold shared labels


class LiveRoster(Roster):
    """The paper feed's roster, except that a joining bot is reconciled, and what a joining or
    changed bot must learn comes from the broker's history (`WarmUps`)."""

    def __init__(
        self,
        app: OpenbellApplication,
        engine: TradingEngine,
        reconciler: Reconciler,
        market: MarketCalendar,
        only: set[UUID] | None,
        warm_up: WarmUp,
        rewarm: WarmUp,
    ) -> None:
        super().__init__(app, engine)
        self.reconciler, self.market, self.only = reconciler, market, only
        self._warm_up, self._rewarm = warm_up, rewarm

    def load(self) -> None:
        """The running and paused bots (of `only`, when given), reconciled together; and the
        errored or stopped ones that still have orders at the broker, watched (no bars) so the
        fills of those orders are recorded."""
        for listing in self.app.list_bots():
            if self.only is not None and listing.id not in self.only:
                continue
            if listing.status in ACTIVE_STATUSES:
                self.engine.add_bot(self.app.get_bot(listing.id))
            elif listing.status in _WATCHED and (bot := self.app.get_bot(listing.id)).orders:
                self.engine.add_bot(bot)
                self._drop(bot, f"bot {listing.status}, orders left at the broker")
        self._reconcile(list(self.engine.runners))

    def _join(self, bot: Bot) -> None:
        if self.only is not None and bot.id not in self.only:
            return
        before = self._labels(bot.config.symbols)
        runner = self.engine.add_bot(bot)
        self._reconcile([str(bot.id)])
        if str(bot.id) in self.engine.runners:
            self._learn(runner, self._registered_since(before))

    def _learn(self, runner: BotRunner, cold: dict[str, set[str]]) -> None:
        self._warm_up(runner, cold)  # from the broker's history

    def _relearn(self, runner: BotRunner, stale: dict[str, set[str]]) -> None:
        self._rewarm(runner, stale)

    def _reconcile(self, ids: list[str]) -> None:
        runners = [self.engine.runners[i] for i in ids]
        now = self.market.now()
        others = self._holders()
        errored = self.reconciler.run(runners, others, now, previous_open(self.market, now))
        for runner in errored:
            log.warning("bot %s: %s", runner.bot.id, runner.bot.status.value)
            self.engine.mute(runner)

    def _drop(self, fresh: Bot, why: str) -> None:
        """A bot stopped, errored or archived by a command: its orders are canceled at the
        broker and the runner stays muted until they end, so a fill that beats the cancel is
        recorded like any other (never a cancel recorded before the broker confirms it)."""
        runner = self.engine.runners[str(fresh.id)]
        runner.bot = fresh
        errored = fresh.status is BotStatus.ERRORED  # its exits keep protecting what it holds
        for order in list(fresh.orders.values()):
            if not errored or order.intent is Intent.ENTRY:
                self.engine.broker.cancel(order.client_order_id)
        self.engine.mute(runner)
        log.info("live: bot %s leaves (%s); its orders are canceled and watched", fresh.id, why)

    def _holders(self) -> list[Bot]:
        """Stored bots that hold positions but do not trade here (they may share the account)."""
        bots = []
        for listing in self.app.list_bots():
            if str(listing.id) not in self.engine.runners and listing.status != "archived":
                bot = self.app.get_bot(listing.id)
                if bot.positions:
                    bots.append(bot)
        return bots


class LiveTrader:
    """Runs the store's bots against a live broker until stopped (or until market time `until`)."""

    def __init__(
        self,
        app: OpenbellApplication,
        broker: LiveBroker,
        market: MarketCalendar,
        bars_for: BarsFor,
        clock: SettableClock,
        *,
        bots: Sequence[UUID] | None = None,
        on_bar: Callable[[Bar], object] | None = None,
        idle: float = 0.05,
    ) -> None:
        self.app, self.broker, self.market = app, broker, market
        self.clock, self._on_bar, self._idle = clock, on_bar, idle
        self.outbox = Outbox(broker, clock)
        self.engine = TradingEngine(self.outbox, clock)
        self.engine.sessions = market.session
        self._only = set(bots) if bots is not None else None
        self.ready = threading.Event()  # set once reconciled, warmed up and subscribed
        self.stats = {"bars": 0, "warm_bars": 0, "orders_sent": 0, "conflicts": 0}
        self.done_bars = 0  # bars whose events are stored and whose orders have left
        self.warm_ups = WarmUps(self.engine, market, bars_for, self.stats)

    def run(self, stop: threading.Event, until: datetime | None = None) -> None:
        now = self.market.now()
        self.clock.set(now)
        watch = StoreWatch(self.app.recorder, BOT_TOPICS)
        reconciler = Reconciler(self.broker, self.engine)
        warm_ups = self.warm_ups
        roster = LiveRoster(
            self.app,
            self.engine,
            reconciler,
            self.market,
            self._only,
            warm_ups.join,
            warm_ups.reconfigure,
        )
        self.broker.start()  # before reconciling: no trade update falls between the two
        try:
            roster.load()
            self._commit(roster, watch)
            runners = self.engine.runners.values()
            symbols = sorted({s for r in runners for s in r.bot.config.symbols})
            log.info("live: %d bots on %s", len(self.engine.runners), ", ".join(symbols) or "-")
            warm_ups.start(now)
            self.engine.dispatch_updates()
            self._commit(roster, watch)
            self.ready.set()
            while not stop.is_set() and not (until is not None and self.clock.now() >= until):
                self._step(warm_ups.feed, roster, watch)
        finally:
            self._wind_down(roster, watch)
            warm_ups.stop()
            self.broker.close()
            self.outbox.close()

    def _wind_down(self, roster: LiveRoster, watch: StoreWatch) -> None:
        """Apply the fills the broker already reported (their bar may never come), then store."""
        try:
            self.broker.release_until(self.market.now())
            self.engine.dispatch_updates()
        finally:
            self._commit(roster, watch)

    def _step(self, feed: LiveBars | None, roster: LiveRoster, watch: StoreWatch) -> None:
        bars = feed.next_bars(self._idle) if feed is not None else []
        roster.sync(watch.changed())
        if bars:
            last = self.warm_ups.last
            for minute in minutes_of(bars):
                self.engine.on_minute(minute)
                for bar in minute:
                    last[bar.symbol] = bar
                    self.stats["bars"] += 1
                    if self._on_bar is not None:
                        self._on_bar(bar)
        else:
            if feed is None:
                threading.Event().wait(self._idle)
            self.broker.release_current()
            self.engine.dispatch_updates()
        self._commit(roster, watch)
        self.done_bars += len(bars)

    def _commit(self, roster: LiveRoster, watch: StoreWatch) -> None:
        """Store the bots' new events, then send the orders they decided; repeat for answers."""
        while True:
            watch.saved(self._save(roster))
            if not self.outbox.pending:
                return
            self.stats["orders_sent"] += self.outbox.flush()
            self.broker.release_current()  # an entry filled as it arrived is protected now
            self.engine.dispatch_updates()

    def _save(self, roster: Roster) -> list[Recording[UUID]]:
        recordings, conflicts = roster.save(self._put)
        self.stats["conflicts"] += conflicts
        return recordings

    def _put(self, events: list[Any]) -> list[Recording[UUID]]:
        """One transaction; what `app.save` does without its runtime protocol check per event
        (as costly as the write itself), unless a cache or snapshots need `save`."""
        app = self.app
        if app.repository.cache is not None or app.snapshots is not None:
            return app.save(*events)
        return app.events.put(events)
