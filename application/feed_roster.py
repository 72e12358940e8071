"""The bots a paper feed trades, kept in step with the event store between bars.

Commands (start, pause, resume, stop, config changes) are stored by the API while the feed runs.
Between bars the feed hands the roster what changed: a started bot joins the engine, a stopped,
errored or archived one leaves it, and any other change replaces the runner's aggregate with the
stored one (the runner keeps its decision state; the shared indicators keep theirs).

A bot that joins, or whose config changes as `config_warm_up.symbols_to_learn` says it must
learn again, gets the indicators it registered (cold: they have seen no bar) warmed up from the
bars since the previous session opened, as a restarted trader would have them: the paper feed's
own bars fed so far here, the broker's history in live trading (`live.LiveRoster`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import RecordConflictError, Recording

from application.bot_runner import BotRunner
from application.config_warm_up import symbols_to_learn
from application.engine import TradingEngine
from application.join_warm_up import warm_joiner
from application.service import OpenbellApplication
from domain.bars import Bar
from domain.bot import ACTIVE_STATUSES, Bot
from domain.calendar import previous_session

log = logging.getLogger("openbell.paper_feed")

BOT_TOPICS = "domain.bot:Bot."
STARTED_TOPIC = "domain.bot:Bot.Started"
Cold = dict[str, set[str]]  # per symbol, the shared labels that have seen no bar yet
FedBars = Callable[[], Sequence[Bar]]  # the bars fed so far, oldest first
# Broker updates that mean the broker no longer holds the order.
_FINISHING = (Bot.OrderFilled, Bot.OrderCanceled, Bot.OrderRejected)
Put = Callable[[list[Any]], list[Recording[UUID]]]  # stores events in one transaction


class Roster:
    """Adds started bots to the engine, drops stopped ones and takes in other changes."""

    def __init__(
        self, app: OpenbellApplication, engine: TradingEngine, fed: FedBars | None = None
    ) -> None:
        self.app, self.engine, self._fed = app, engine, fed
        self._retired: list[Bot] = []

    def load(self) -> None:
        """Every bot that is running or paused now."""
        for listing in self.app.list_bots():
            if listing.status in ACTIVE_STATUSES:
                self.refresh(listing.id)

    def sync(self, changes: Mapping[UUID, set[str]]) -> None:
        """Take in what others stored; only a Started event can bring in a bot not trading here."""
        for bot_id, topics in changes.items():
            if str(bot_id) in self.engine.runners or STARTED_TOPIC in topics:
                self.refresh(bot_id)

    def refresh(self, bot_id: UUID) -> None:
        fresh = self.app.get_bot(bot_id)
        runner = self.engine.runners.get(str(bot_id))
        if runner is None:
            if fresh.status in ACTIVE_STATUSES:
                self._join(fresh)
        elif fresh.status in ACTIVE_STATUSES:
            self._replace(runner, fresh)
        else:
            self._drop(fresh, f"bot {fresh.status.value}")

    def reconcile(self, bot_id: UUID, lost: Sequence[object]) -> None:
        """After a save conflict lost these events: reload the bot and undo their broker side.

        Orders submitted in the lost events are unknown to the stored bot: cancel them at the
        broker. Orders the broker filled, canceled or rejected in them are working for the
        stored bot but gone from the broker: withdraw them.
        """
        gone: list[str] = []
        for event in lost:
            order_id = getattr(event, "client_order_id", None)
            if isinstance(event, Bot.OrderSubmitted):
                self.engine.broker.cancel(event.client_order_id)
            elif isinstance(event, _FINISHING) and isinstance(order_id, str):
                gone.append(order_id)
        self.refresh(bot_id)
        runner = self.engine.runners.get(str(bot_id))
        if runner is not None:
            self._withdraw(runner.bot, "its broker update was lost in a save conflict", gone)

    def withdraw_all(self, reason: str) -> None:
        for runner in self.engine.runners.values():
            self._withdraw(runner.bot, reason)

    def save(self, put: Put) -> tuple[list[Recording[UUID]], int]:
        """Store the bots' new events in one transaction (`put`); if a command landed
        meanwhile, bot by bot: a bot changed in the store loses this step's events (their
        orders never left the outbox), is reloaded and has their broker side undone. Returns
        what was stored and how many bots lost their events."""
        batches = [(bot.id, bot.collect_events()) for bot in self.unsaved()]
        if not batches:
            return [], 0
        try:
            return put([event for _, events in batches for event in events]), 0
        except RecordConflictError:
            recordings: list[Recording[UUID]] = []
            conflicts = 0
            for bot_id, events in batches:
                try:
                    recordings += put(events)
                except RecordConflictError:
                    log.warning(
                        "bot %s changed in the store meanwhile: its %d new events are dropped "
                        "and it is reloaded",
                        bot_id,
                        len(events),
                    )
                    conflicts += 1
                    self.reconcile(bot_id, events)
            return recordings, conflicts

    def unsaved(self) -> list[Bot]:
        """The bots with events to store: trading ones, and ones dropped since the last call."""
        bots = [r.bot for r in self.engine.runners.values() if r.bot.pending_events]
        bots += [bot for bot in self._retired if bot.pending_events]
        self._retired = []
        return bots

    def _join(self, bot: Bot) -> None:
        # Working orders at this point were sent to an earlier feed's broker, which is gone.
        self._withdraw(bot, "not at this paper feed's broker (an earlier feed ended abruptly)")
        before = self._labels(bot.config.symbols)
        runner = self.engine.add_bot(bot)
        log.info("paper feed: bot %s (%s) joins", bot.id, bot.config.name)
        self._learn(runner, self._registered_since(before))

    def _replace(self, runner: BotRunner, fresh: Bot) -> None:
        old = runner.bot.config
        runner.bot = fresh
        if self.engine.is_muted(runner):  # it trades again
            self.engine.reroute(runner)
        if fresh.config == old:
            return
        before = self._labels(fresh.config.symbols)  # before `configure` registers new ones
        runner.configure()
        if fresh.config.symbols != old.symbols:
            self.engine.reroute(runner)
        cold = self._registered_since(before)
        # Its new indicators and symbols learn the bars so far, and its decisions are those the
        # new config would have taken. Where both stay as they were (e.g. capital, risk) nothing
        # is learnt again.
        if stale := symbols_to_learn(old, fresh.config, cold):
            self._relearn(runner, {s: cold[s] for s in stale})
        else:
            log.info("bot %s: config changed, nothing to learn again", fresh.id)

    def _learn(self, runner: BotRunner, cold: Cold) -> None:
        """A joining bot learns the bars fed since the previous session opened."""
        self._warm_from_fed(runner, cold)

    def _relearn(self, runner: BotRunner, stale: Cold) -> None:
        """A changed bot learns them again on the symbols of `stale`."""
        self._warm_from_fed(runner, stale)

    def _warm_from_fed(self, runner: BotRunner, cold: Cold) -> None:
        fed = self._fed() if self._fed is not None else ()
        if not fed:
            return
        now = self.engine.clock.now()
        since = previous_session(now).open
        history = [b for b in fed if b.symbol in cold and b.timestamp >= since]
        if history:
            warm_joiner(runner, history, cold)
        self.engine.clock.set(now)  # warming moved it back to the history's last bar

    def _labels(self, symbols: Sequence[str]) -> Cold:
        return {s: set(self.engine.hub.labels(s)) for s in symbols}

    def _registered_since(self, before: Cold) -> Cold:
        """Per symbol, the shared labels registered since `before`: they have seen no bar."""
        return {s: set(self.engine.hub.labels(s)) - labels for s, labels in before.items()}

    def _drop(self, fresh: Bot, why: str) -> None:
        # Nobody manages the bot's orders once it leaves the engine: withdraw them first.
        self._withdraw(fresh, f"{why}: withdrawn by the paper feed")
        self.engine.remove_bot(str(fresh.id))
        self._retired.append(fresh)
        log.info("paper feed: bot %s leaves (%s)", fresh.id, why)

    def _withdraw(self, bot: Bot, reason: str, order_ids: Iterable[str] | None = None) -> None:
        now = self.engine.clock.now()
        for order_id in list(bot.orders if order_ids is None else order_ids):
            if order_id in bot.orders:
                # The broker's own cancel update then finds no working order and is ignored.
                self.engine.broker.cancel(order_id)
                bot.cancel_order(now, order_id, reason)
