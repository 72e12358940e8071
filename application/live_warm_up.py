"""The live trader's bar subscriptions and warm-ups, and what follows each warm-up.

At start every bot's symbols are subscribed once, and the shared indicators (and each bot's
last decision) learn the history since the previous session's open (`TradingEngine.warm`). A
bot that joins later learns that history for each of its symbols before it decides anything:
symbols nobody trades yet are subscribed and warmed as at start; symbols already subscribed are
warmed for the joining bot alone (`warm_joiner`), up to the last bar the engine processed, so
the bots already trading them never see a bar twice. A bot whose config changes while it trades
learns that history the same way, under its new config, on the symbols the change needs it for
(`reconfigure`, `application/config_warm_up.py`). After a bot's start or
join the clock is back at `now`, a window that ended meanwhile flattens
(`BotRunner.flatten_if_window_passed`), and holdings still without a working exit are protected
again; a config change settles nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta

from application.bot_runner import BotRunner
from application.engine import TradingEngine
from application.join_warm_up import warm_joiner
from application.live_ports import LiveBars, MarketCalendar
from domain.bars import Bar
from domain.bot import ACTIVE_STATUSES, BotStatus

log = logging.getLogger("openbell.live")
BarsFor = Callable[[Sequence[str]], LiveBars]


def previous_open(market: MarketCalendar, now: datetime) -> datetime:
    """The open of the last session that closed before `now` (history and orders since then)."""
    day: date = now.date()
    for _ in range(15):
        session = market.session(day)
        if session is not None and session.close <= now:
            return session.open
        day -= timedelta(days=1)
    return now - timedelta(days=3)


class WarmUps:
    """Owns the live bar feed: what is subscribed, and the last bar processed per symbol."""

    def __init__(
        self,
        engine: TradingEngine,
        market: MarketCalendar,
        bars_for: BarsFor,
        stats: dict[str, int],
    ) -> None:
        self.engine, self.market, self._bars_for, self._stats = engine, market, bars_for, stats
        self.feed: LiveBars | None = None
        self.subscribed: set[str] = set()
        self.last: dict[str, Bar] = {}  # the trader records each live bar here too

    def start(self, now: datetime) -> None:
        """Subscribe every trading bot's symbols, warm them up, then settle every bot."""
        runners = [r for r in self.engine.runners.values() if not self.engine.is_muted(r)]
        symbols = {s for r in runners for s in r.bot.config.symbols}
        if symbols:
            self._subscribe(symbols, previous_open(self.market, now))
        self.settle(runners, now)

    def join(self, runner: BotRunner, cold: Mapping[str, Iterable[str]]) -> None:
        """A bot joining between bars; `cold`: per symbol, the shared labels it registered."""
        now = self.engine.clock.now()
        self._learn(runner, set(runner.bot.config.symbols), cold, now)
        self.settle([runner], now)

    def reconfigure(self, runner: BotRunner, stale: Mapping[str, Iterable[str]]) -> None:
        """A trading bot whose config changed between bars learns the history under its new
        config as a joining bot does, on the symbols of `stale` only (per symbol, the shared
        labels the new config registered there).

        Nothing settles: its positions, working orders and cash stay as they are.
        """
        now = self.engine.clock.now()
        self._learn(runner, set(stale), stale, now)
        self.engine.clock.set(now)  # warming moved it back to the history's last bar

    def _learn(
        self,
        runner: BotRunner,
        symbols: set[str],
        cold: Mapping[str, Iterable[str]],
        now: datetime,
    ) -> None:
        """Subscribe and warm those of `symbols` nobody trades yet; on the others, warm the
        runner's indicators and decisions alone up to the last bar processed, then adopt its
        cold ones."""
        since = previous_open(self.market, now)
        known = symbols & self.subscribed
        if missing := symbols - known:
            log.info("bot %s trades %s: subscribing", runner.bot.id, ", ".join(sorted(missing)))
            self._subscribe(missing, since)
        ends = {s: self.last[s].timestamp for s in known if s in self.last}
        if ends and self.feed is not None:
            history = self.feed.history(since, max(ends.values()), sorted(ends))
            bars = [b for b in history if b.timestamp <= ends[b.symbol]]
            warm_joiner(runner, bars, {s: cold.get(s, ()) for s in ends})
            self._stats["warm_bars"] += len(bars)

    def settle(self, runners: Iterable[BotRunner], now: datetime) -> None:
        """After a warm-up: flatten windows that ended meanwhile, then protect what is held."""
        self.engine.clock.set(now)  # warming moved it back to the history's last bar
        for runner in runners:
            if runner.bot.status in ACTIVE_STATUSES:
                runner.resume_pending_exits()
            for symbol in runner.bot.config.symbols:
                if (bar := self.last.get(symbol)) is not None:
                    runner.flatten_if_window_passed(bar, now)
            if runner.bot.status is BotStatus.RUNNING:
                for symbol in list(runner.bot.positions):
                    runner.ensure_protected(symbol, now)

    def stop(self) -> None:
        if self.feed is not None:
            self.feed.stop()

    def _subscribe(self, symbols: set[str], since: datetime) -> None:
        """Live bars for symbols nobody trades yet; their history warms the shared indicators."""
        if self.feed is None:
            self.feed = self._bars_for(sorted(symbols))
            self.feed.start()
            bars = self.feed.warm_up(since)
        else:
            bars = self.feed.add(sorted(symbols), since)
        self.subscribed |= symbols
        for bar in bars:
            self.engine.warm(bar)
            self.last[bar.symbol] = bar
        self._stats["warm_bars"] += len(bars)
