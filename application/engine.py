"""The trading engine: one kernel for replay, paper and live; only clock, data and broker change."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta

from application.bot_runner import BotRunner
from application.indicator_hub import IndicatorHub
from application.ports import Broker, BrokerUpdate
from domain.bars import BAR_LENGTH, Bar
from domain.bot import Bot
from domain.calendar import Session, session_on
from domain.orders import bot_hex_of
from domain.units import NEW_YORK

log = logging.getLogger("openbell.engine")


def minutes_of(bars: Iterable[Bar]) -> Iterator[list[Bar]]:
    """The bars (in time order) a minute at a time."""
    minute: list[Bar] = []
    for bar in bars:
        if minute and bar.timestamp != minute[0].timestamp:
            yield minute
            minute = []
        minute.append(bar)
    if minute:
        yield minute


class SettableClock:
    """The engine's clock in replay: it reads the bar being processed, never the wall clock."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


class TradingEngine:
    """Routes each bar to the shared indicators, the broker and the bots that trade its symbol."""

    def __init__(self, broker: Broker, clock: SettableClock) -> None:
        self.broker, self.clock = broker, clock
        self.hub = IndicatorHub()
        self.runners: dict[str, BotRunner] = {}
        self._by_symbol: dict[str, list[BotRunner]] = {}
        self._by_hex: dict[str, BotRunner] = {}
        self._muted: set[BotRunner] = set()
        self._day = date.min  # a placeholder: no moment lies in the empty bounds below
        self._day_starts = self._day_ends = datetime.max.replace(tzinfo=UTC)
        # Where a bot's trading window comes from: the built-in calendar, or the broker's.
        self.sessions: Callable[[date], Session | None] = session_on

    def add_bot(self, bot: Bot) -> BotRunner:
        runner = BotRunner(bot, self.hub, self.broker, self.clock, self.sessions)
        self.runners[str(bot.id)] = runner
        self._by_hex[bot.id.hex] = runner
        for symbol in bot.config.symbols:
            self._by_symbol.setdefault(symbol, []).append(runner)
        return runner

    def remove_bot(self, bot_id: str) -> BotRunner | None:
        """Route no more bars or broker updates to the bot (a paper feed drops stopped bots)."""
        runner = self.runners.pop(bot_id, None)
        if runner is not None:
            self._by_hex.pop(runner.bot.id.hex, None)
            self._unroute(runner)
            self._muted.discard(runner)
        return runner

    def reroute(self, runner: BotRunner) -> None:
        """Route bars by the runner's current symbols (after its bot's config changed them, or
        to a muted runner whose bot trades again)."""
        self._unroute(runner)
        self._muted.discard(runner)
        for symbol in runner.bot.config.symbols:
            self._by_symbol.setdefault(symbol, []).append(runner)

    def mute(self, runner: BotRunner) -> None:
        """No more bars for the runner; its broker updates still reach it, so the fills and
        endings of the orders its bot leaves at the broker are recorded."""
        self._unroute(runner)
        self._muted.add(runner)

    def is_muted(self, runner: BotRunner) -> bool:
        return runner in self._muted

    def _unroute(self, runner: BotRunner) -> None:
        for runners in self._by_symbol.values():
            if runner in runners:
                runners.remove(runner)

    @property
    def bots(self) -> list[Bot]:
        return [runner.bot for runner in self.runners.values()]

    def run(self, bars: Iterable[Bar], progress: Callable[[int], None] | None = None) -> int:
        count = 0
        for minute in minutes_of(bars):
            self.on_minute(minute)
            count += len(minute)
            if progress is not None and count % 2000 < len(minute):
                progress(count)
        if progress is not None:
            progress(count)
        return count

    def on_minute(self, bars: Sequence[Bar]) -> None:
        """Every symbol's bar of one minute: first the broker meets each bar's open (the fills
        of the minute, and protection placed after an entry's fill, inside its bar), then the
        bots act on each bar's close. Live trading sees the same: a minute's fills arrive
        while it trades, its bars when it has closed."""
        opened = bars[0].timestamp
        # Most minutes fall on the day of the minute before: then no call to work the day out.
        within = self._day_starts <= opened < self._day_ends
        day = self._day if within else self._trading_day(opened)
        clock, broker, by_symbol = self.clock, self.broker, self._by_symbol
        clock.set(opened)
        for bar in bars:
            broker.observe(bar)
        if updates := broker.poll_updates():
            self._dispatch(updates)
        for bar in bars:
            for runner in by_symbol.get(bar.symbol, ()):
                if runner.bot.working_entries:
                    runner.expire_stale_entries(bar.symbol)
        closed = opened + BAR_LENGTH
        clock.set(closed)
        for bar in bars:
            self._act(bar, day, closed)
        if updates := broker.poll_updates():
            self._dispatch(updates)

    def on_bar(self, bar: Bar) -> None:
        """One bar, the only one of its minute (else `on_minute`)."""
        self.on_minute((bar,))

    def _act(self, bar: Bar, day: date, closed: datetime) -> None:
        self.hub.update(bar)
        failed = []
        for runner in self._by_symbol.get(bar.symbol, ()):
            try:
                runner.on_bar(bar, day, closed)
            except Exception as exc:  # one bot's failure stops that bot, never the others
                failed.append((runner, f"{type(exc).__name__}: {exc} (on the {bar.symbol} bar)"))
        for runner, reason in failed:  # muting changes the list walked above
            self.fail(runner, reason)

    def warm(self, bar: Bar) -> None:
        """A bar from before the engine started: indicators and decisions learn it, nobody acts.

        The broker observes it too, so fills from its minute or earlier are reported.
        """
        day = self._trading_day(bar.timestamp)
        self.clock.set(bar.timestamp)
        self.broker.observe(bar)
        closed = bar.timestamp + BAR_LENGTH
        self.clock.set(closed)
        self.hub.update(bar)
        for runner in self._by_symbol.get(bar.symbol, ()):
            runner.recall(bar, day, closed)

    def _trading_day(self, moment: datetime) -> date:
        # Compare against the day's bounds in UTC rather than converting every bar's timezone.
        if not self._day_starts <= moment < self._day_ends:
            day = moment.astimezone(NEW_YORK).date()
            self._day = day
            # UTC bounds: comparing datetimes that share a tzinfo skips the zone lookups.
            self._day_starts = datetime.combine(day, time(), NEW_YORK).astimezone(UTC)
            self._day_ends = datetime.combine(day + timedelta(days=1), time(), NEW_YORK).astimezone(
                UTC
            )
        return self._day

    def dispatch_updates(self) -> None:
        if updates := self.broker.poll_updates():
            self._dispatch(updates)

    def dispatch(self, updates: list[BrokerUpdate]) -> None:
        """Hand broker updates (and what they lead to) to the bots they belong to."""
        self._dispatch(updates)

    def _dispatch(self, updates: list[BrokerUpdate]) -> None:
        # Handling an update may place orders whose own updates follow in the next batch.
        while updates:
            for update in updates:
                runner = self._runner_for(update.client_order_id)
                if runner is None:
                    continue
                try:
                    runner.on_update(update)
                except Exception as exc:  # a fact from the broker the bot cannot take
                    reason = f"{type(exc).__name__}: {exc}"
                    self.fail(runner, reason, update)
            updates = self.broker.poll_updates()

    def fail(self, runner: BotRunner, reason: str, update: BrokerUpdate | None = None) -> None:
        """Stop this one bot: it records why and gets no more bars; its broker updates still
        reach it, so fills of the orders it leaves resting are recorded."""
        log.error("bot %s (%s) errored: %s", runner.bot.id, runner.bot.config.name, reason)
        runner.fail(self.clock.now(), reason, update)
        self.mute(runner)

    def _runner_for(self, client_order_id: str) -> BotRunner | None:
        return self._by_hex.get(bot_hex_of(client_order_id))
