"""Runs one bot inside the engine: turns bars into decisions and broker updates into events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal

from application.equity import EquityTracker
from application.indicator_hub import IndicatorHub
from application.ports import Broker, BrokerUpdate, Clock, UpdateKind
from domain.bars import Bar, BarFloats
from domain.bot import ACTIVE_STATUSES, Bot, BotStatus, UnknownOrder
from domain.calendar import Session, session_on, window_on
from domain.orders import Intent, OrderRequest, OrderType, Side, client_order_id
from domain.positions import WorkingOrder
from domain.risk import Approved, check_entry, daily_loss_breach, protective_prices
from domain.signals import BUY, SELL, VoteRule, decide, decide_counts
from domain.units import CENT, NEW_YORK

ONE_MINUTE = timedelta(minutes=1)
ONE_DAY = timedelta(days=1)
_VOTE_WORDS = {1: "buy", -1: "sell", 0: "none"}


class BotRunner:
    """Per-bot trading logic; the aggregate records every step and enforces its invariants."""

    def __init__(
        self,
        bot: Bot,
        hub: IndicatorHub,
        broker: Broker,
        clock: Clock,
        sessions: Callable[[date], Session | None] = session_on,
    ) -> None:
        self.bot, self.hub, self.broker, self.clock = bot, hub, broker, clock
        self.sessions = sessions  # live trading asks the broker's calendar
        self.rules: list[VoteRule] = []
        self.last_decision: dict[str, Side | None] = {}
        self.marks: dict[str, Decimal] = {}
        self._window: tuple[datetime, datetime, datetime] | None = None
        self._flattened: set[tuple[str, date]] = set()
        self._keys: dict[str, tuple[str, ...]] = {}
        self.equity = EquityTracker(bot.config.capital)
        self.configure()

    def configure(self) -> None:
        config = self.bot.config
        self.rules = [VoteRule(spec) for spec in config.indicators]
        # (label, vote) pairs: the only data the per-bar vote needs.
        self._voters = [(rule.label, rule.vote) for rule in self.rules]
        for symbol in config.symbols:
            for spec in config.indicators:
                self.hub.register(symbol, spec)
        self._step = config.trading_frequency // 60
        self._day: date | None = None  # the window is recomputed on the next bar

    # ---- bars --------------------------------------------------------------------------------

    def on_bar(self, bar: Bar, day: date, closed: datetime) -> None:
        """Act on a bar that closed at `closed` on trading day `day` (New York)."""
        bot = self.bot
        self.marks[bar.symbol] = bar.close
        if bar.symbol in bot.positions:
            self.equity.mark(bot.equity(self.marks))
            if bot.config.risk.max_daily_loss is not None:  # else there is no limit to check
                self._check_daily_loss(day)
            if bot.is_halted(day):
                self._flatten_once(bar, day, Intent.HALT, "daily loss limit reached")
        if day != self._day:
            self._enter_day(day)
        window = self._window
        if window is None or bot.status not in ACTIVE_STATUSES:
            return
        start, end, flatten_from = window
        if closed <= start or closed > end:
            return
        if closed >= flatten_from:
            # The last minute is for flattening: its market orders fill inside the window.
            if bot.config.flatten_at_end:
                self._flatten_once(bar, day, Intent.FLATTEN, "trading window ends")
            return
        if bot.status is BotStatus.RUNNING and (
            self._step == 1 or (closed - start) // ONE_MINUTE % self._step == 0
        ):
            self._evaluate(bar, day)

    def _enter_day(self, day: date) -> None:
        session = self.sessions(day)
        config = self.bot.config
        bounds = session and window_on(session, config.window_start, config.window_end)
        self._day = day
        # (start, end, flatten_from) in UTC, or None when the bot does not trade that day.
        self._window = (bounds[0], bounds[1], bounds[1] - ONE_MINUTE) if bounds else None

    def recall(self, bar: Bar, day: date, closed: datetime) -> None:
        """A bar from before the engine started (warm-up): remember its decision, do nothing.

        Decisions act only when they change, so after a restart the runner must know the last
        one, or it would act again on a decision it already acted on.
        """
        self.marks[bar.symbol] = bar.close
        if day != self._day:
            self._enter_day(day)
        window = self._window
        if window is None or self.bot.status is not BotStatus.RUNNING:
            return
        start, _, flatten_from = window
        if closed <= start or closed >= flatten_from:
            return
        if self._step == 1 or (closed - start) // ONE_MINUTE % self._step == 0:
            votes = self._votes(bar)
            if votes is not None:
                self.last_decision[bar.symbol] = decide(votes, self.bot.config.min_votes)

    def flatten_if_window_passed(self, bar: Bar, now: datetime) -> None:
        """After warm-up, on the symbol's last bar: a window whose last minute passed while the
        trader was down still ends flat (`recall` never acts, and no live bar will come).

        Either the last bar is at or after its day's flatten minute, or the position was opened
        before a window end that has passed by `now` (the trader was down overnight and came
        back during the next window). While the market is closed the exit is a day market order
        the broker queues for the next open; its client order id comes from `bar`, so a restart
        that finds it stored does not place it again.
        """
        bot = self.bot
        if self._day is None or bot.status not in ACTIVE_STATUSES or not bot.config.flatten_at_end:
            return
        why = "trading window ended while the trader was down"
        window, held = self._window, bot.positions.get(bar.symbol)
        if window is not None and bar.timestamp + ONE_MINUTE >= window[2]:
            self._flatten_once(bar, self._day, Intent.FLATTEN, why)
        elif held is not None and (day := self._window_end_after(held.opened_at, now)):
            self._flatten_once(bar, day, Intent.FLATTEN, f"{why} on {day}")

    def _window_end_after(self, since: datetime, now: datetime) -> date | None:
        """The day of the bot's first window ending after `since`, if it ended by `now`."""
        config, day = self.bot.config, since.astimezone(NEW_YORK).date()
        while day <= now.astimezone(NEW_YORK).date():
            session = self.sessions(day)
            bounds = session and window_on(session, config.window_start, config.window_end)
            if bounds and since < bounds[1]:
                return day if bounds[1] <= now else None
            day += ONE_DAY
        return None

    def ensure_protected(self, symbol: str, at: datetime) -> None:
        """Protect a held position that has no working exit (e.g. one lost while down)."""
        if symbol in self.bot.positions and not any(
            o.side is Side.SELL for o in self.bot.working_orders(symbol)
        ):
            self._protect(symbol, at)

    def resume_pending_exits(self) -> None:
        """After a restart: exits that were waiting for the broker ask again for the orders they
        wait on to be canceled (the request may never have left), or go now if none is left."""
        bot = self.bot
        for symbol, (intent, bar_time) in list(bot.pending_exits.items()):
            working = bot.working_orders(symbol)
            if not working:
                self._send_exit(symbol, intent, bar_time)
            for order in working:
                self.broker.cancel(order.client_order_id)

    def _flatten_once(self, bar: Bar, day: date, intent: Intent, why: str) -> None:
        if (bar.symbol, day) not in self._flattened:
            self._flattened.add((bar.symbol, day))
            self._flatten(bar, intent, why)

    def _votes(self, bar: Bar) -> list[int] | None:
        hub, symbol = self.hub, bar.symbol
        latest, previous, view = hub.latest[symbol], hub.previous[symbol], hub.views[symbol]
        votes = []
        for label, vote in self._voters:
            out = latest[label]
            if out is None:
                return None  # still warming up: no decision without every indicator
            votes.append(vote(out, previous[label], view))
        return votes

    def _evaluate(self, bar: Bar, day: date) -> None:
        # The votes counted in one loop, without `_votes`' list: this runs on every bar of the
        # window, and the rare bar that signals asks for the votes again to record them.
        hub, symbol = self.hub, bar.symbol
        latest, previous, view = hub.latest[symbol], hub.previous[symbol], hub.views[symbol]
        buys = sells = 0
        for label, vote in self._voters:
            out = latest[label]
            if out is None:
                return  # still warming up: no decision without every indicator
            cast = vote(out, previous[label], view)
            if cast:
                if cast == BUY:
                    buys += 1
                else:
                    sells += 1
        decision = decide_counts(buys, sells, self.bot.config.min_votes)
        last_decision = self.last_decision
        if decision is None or decision == last_decision.get(symbol):
            last_decision[symbol] = decision
            return
        last_decision[symbol] = decision
        held = bar.symbol in self.bot.positions
        busy = symbol in self.bot.pending_exits or any(
            o.intent is not Intent.PROTECT for o in self.bot.working_orders(symbol)
        )
        if busy or held != (decision is Side.SELL):
            return
        votes = self._votes(bar)
        assert votes is not None  # every indicator has an output: it just voted
        self._record_signal(bar, decision, votes, view)
        if decision is Side.BUY:
            self._enter(bar, day)
        else:
            self._exit(bar, Intent.EXIT)

    def _record_signal(self, bar: Bar, side: Side, votes: list[int], view: BarFloats) -> None:
        hub = self.hub
        latest, previous = hub.latest[bar.symbol], hub.previous[bar.symbol]
        values: dict[str, Decimal] = {"close": bar.close}
        explained: dict[str, str] = {}
        agreeing = []
        agree = BUY if side is Side.BUY else SELL
        for rule, vote in zip(self.rules, votes, strict=True):
            label = rule.label
            out = latest[label]
            assert out is not None
            # repr is the float's shortest text, so the Decimal holds the digits the float shows.
            values.update(zip(self._value_keys(label), map(Decimal, map(repr, out)), strict=True))
            text = rule.explain(out, previous[label], view)
            explained[label] = f"{_VOTE_WORDS[vote]}: {text}"
            if vote == agree:
                agreeing.append(text)
        needed = self.bot.config.min_votes
        rule_text = (
            f"{len(agreeing)} of {len(votes)} vote {side.value} (need {needed}): "
            + "; ".join(agreeing)
        )
        self.bot.record_signal(
            self.clock.now(),
            bar.symbol,
            bar.timestamp,
            side,
            bar.close,
            values,
            rule_text,
            explained,
        )

    def _value_keys(self, label: str) -> tuple[str, ...]:
        """The signal's keys for an indicator's outputs ("MACD(12,26,9).signal", ...)."""
        keys = self._keys.get(label)
        if keys is None:
            keys = self._keys[label] = tuple(f"{label}.{n}" for n in self.hub.output_names[label])
        return keys

    # ---- orders ------------------------------------------------------------------------------

    def _enter(self, bar: Bar, day: date) -> None:
        bot, now = self.bot, self.clock.now()
        verdict = check_entry(bot, bar.symbol, bar.close, day, self.broker.estimate_fee)
        if not isinstance(verdict, Approved):
            bot.deny_order(
                now,
                bar.symbol,
                Side.BUY,
                verdict.limit,
                verdict.limit_value,
                verdict.attempted_value,
                verdict.reason,
            )
            return
        bot.pass_risk_check(
            now, bar.symbol, Side.BUY, verdict.qty, verdict.limit_price, verdict.checks
        )
        request = OrderRequest(
            client_order_id(bot.id, bar.symbol, bar.timestamp, Intent.ENTRY),
            bar.symbol,
            Side.BUY,
            verdict.qty,
            OrderType.LIMIT,
            limit_price=verdict.limit_price,
        )
        self._send(request, Intent.ENTRY, verdict.reserved)

    def _exit(self, bar: Bar, intent: Intent, why: str = "") -> None:
        """Sell the whole position at market; rule-driven exits record the rule as their signal.

        The bot's own orders on the symbol (its resting stop-loss/take-profit, an entry) are
        canceled first and the sell waits for the broker to say each of them ended: one that
        filled meanwhile has sold (or bought) shares the exit must not sell again.
        """
        bot, symbol = self.bot, bar.symbol
        if symbol in bot.pending_exits:
            return  # already decided; waiting for the broker
        if intent is not Intent.EXIT:
            bot.record_signal(
                self.clock.now(),
                symbol,
                bar.timestamp,
                Side.SELL,
                bar.close,
                {"close": bar.close},
                why,
                {},
            )
        working = [o.client_order_id for o in bot.working_orders(symbol)]
        if not working:
            self._send_exit(symbol, intent, bar.timestamp)
            return
        bot.defer_exit(self.clock.now(), symbol, intent, bar.timestamp, working)
        for client_id in working:
            self.broker.cancel(client_id)

    def _send_exit(self, symbol: str, intent: Intent, bar_time: datetime) -> None:
        """The exit decided at `bar_time`, for what the bot holds now (its orders have ended)."""
        bot = self.bot
        qty = bot.position_qty(symbol)
        if not qty:
            return
        price = self.marks.get(symbol) or bot.positions[symbol].avg_price.quantize(CENT)
        checks = {"exit": f"reduces exposure: sells all {qty} {symbol} held"}
        bot.pass_risk_check(self.clock.now(), symbol, Side.SELL, qty, price, checks)
        request = OrderRequest(
            client_order_id(bot.id, symbol, bar_time, intent),
            symbol,
            Side.SELL,
            qty,
            OrderType.MARKET,
        )
        self._send(request, intent, Decimal(0))

    def _flatten(self, bar: Bar, intent: Intent, why: str) -> None:
        bot = self.bot
        if bar.symbol in bot.positions and not any(
            o.side is Side.SELL and o.intent is not Intent.PROTECT
            for o in bot.working_orders(bar.symbol)
        ):
            self._exit(bar, intent, why)  # cancels the entries too
            return
        self._cancel_entries(bot.working_orders(bar.symbol))

    def _check_daily_loss(self, day: date) -> None:
        breach = daily_loss_breach(self.bot, day, self.marks)
        if breach is None:
            return
        limit, pnl = breach
        self.bot.reach_daily_loss_limit(self.clock.now(), day, limit, pnl)
        self._cancel_entries(list(self.bot.orders.values()))

    def _send(self, request: OrderRequest, intent: Intent, reserved: Decimal) -> None:
        bot = self.bot
        if request.client_order_id in bot.ended:
            # The same decision taken again after its order ended (a window-end flatten after
            # a restart, once its first order was refused): a new id, so that no client order
            # id is ever submitted twice and the broker's answer is about this attempt.
            request = request._replace(client_order_id=_next_attempt(bot, request.client_order_id))
        bot.submit_order(self.clock.now(), request, intent, reserved)
        self.broker.submit(request)

    # ---- broker updates ----------------------------------------------------------------------

    def on_update(self, update: BrokerUpdate) -> None:
        bot = self.bot
        order = bot.orders.get(update.client_order_id)
        if order is None:
            if update.kind is UpdateKind.FILLED:
                self._check_late_fill(update)
            return  # already finished: a duplicate or late update changes nothing
        if update.kind is UpdateKind.ACCEPTED:
            if not order.accepted:
                bot.accept_order(update.at, update.client_order_id, update.broker_order_id)
            return
        if update.kind is UpdateKind.FILLED:
            bot.record_fill(update.at, update.client_order_id, update.qty, update.price, update.fee)
            self.equity.mark(bot.equity(self.marks))
            if order.remaining:
                return
        elif update.kind is UpdateKind.CANCELED:
            bot.cancel_order(update.at, update.client_order_id, update.reason)
        else:
            bot.reject_order(update.at, update.client_order_id, update.reason)
        self._order_ended(order, update.at)

    def _check_late_fill(self, update: BrokerUpdate) -> None:
        """A fill of an order that is not working: a late copy of fills already recorded (the
        report of a broker seen afresh after a restart counts from zero), or news the bot's
        books cannot take."""
        cid = update.client_order_id
        ended = self.bot.ended.get(cid)
        if ended is None:
            raise UnknownOrder(f"a fill of {update.qty} on {cid}, which the bot never had working")
        if update.qty > ended:
            raise UnknownOrder(f"a fill of {update.qty} on {cid}, which ended with {ended} filled")

    def _order_ended(self, order: WorkingOrder, at: datetime) -> None:
        """Send the exit that waited for this order, or protect what its entry bought."""
        bot, symbol = self.bot, order.symbol
        if bot.status is BotStatus.ERRORED:
            return  # its books are in doubt: it sends nothing more
        pending = bot.pending_exits.get(symbol)
        if pending is not None:
            if not bot.working_orders(symbol):
                self._send_exit(symbol, *pending)
        elif order.intent is Intent.ENTRY and symbol in bot.positions:
            self._protect(symbol, at)

    def fail(self, at: datetime, reason: str, update: BrokerUpdate | None = None) -> None:
        """Something this bot's books cannot take: record it, stop this bot alone, withdraw its
        entries. Its exits keep resting and their fills are still recorded (the engine routes
        its broker updates, no bars)."""
        bot = self.bot
        if update is not None and update.kind is UpdateKind.FILLED:
            bot.report_unexpected_fill(
                at,
                update.client_order_id,
                update.broker_order_id,
                update.qty,
                update.price,
                update.fee,
                reason,
            )
        if bot.status is BotStatus.ERRORED:
            return
        bot.mark_errored(at, reason)
        bot.raise_alert(at, "critical", f"bot {bot.config.name} stopped trading: {reason}")
        self._cancel_entries(list(bot.orders.values()))

    def _protect(self, symbol: str, at: datetime) -> None:
        """Rest a one-cancels-other stop-loss / take-profit exit for a newly opened position."""
        bot = self.bot
        held = bot.positions.get(symbol)
        if held is None:
            return
        stop, target = protective_prices(held.avg_entry, bot.config.risk)
        if stop is None and target is None:
            return
        risk = bot.config.risk
        rule = "protect the position:" + "".join(
            (
                f" stop-loss {risk.stop_loss:%} below entry at {stop}" if stop else "",
                f" take-profit {risk.take_profit:%} above entry at {target}" if target else "",
            )
        )
        entry = held.avg_entry.quantize(CENT)
        bot.record_signal(at, symbol, at, Side.SELL, entry, {"avg_entry": entry}, rule, {})
        checks = {"protect": f"exit order for the {held.qty} {symbol} held, no new exposure"}
        bot.pass_risk_check(at, symbol, Side.SELL, held.qty, entry, checks)
        request = OrderRequest(
            client_order_id(bot.id, symbol, at, Intent.PROTECT),
            symbol,
            Side.SELL,
            held.qty,
            OrderType.OCO,
            limit_price=target,
            stop_price=stop,
        )
        self._send(request, Intent.PROTECT, Decimal(0))

    def expire_stale_entries(self, symbol: str) -> None:
        """An entry that did not fill on the bar after its signal is withdrawn (limit IOC)."""
        self._cancel_entries(self.bot.working_orders(symbol))

    def _cancel_entries(self, orders: list[WorkingOrder]) -> None:
        """Ask the broker to cancel the entries among `orders` (a list, not the bot's dict: a
        cancel may report at once and end the order)."""
        for order in orders:
            if order.intent is Intent.ENTRY:
                self.broker.cancel(order.client_order_id)


def _next_attempt(bot: Bot, client_id: str) -> str:
    attempt = 2
    while f"{client_id}-{attempt}" in bot.ended or f"{client_id}-{attempt}" in bot.orders:
        attempt += 1
    return f"{client_id}-{attempt}"
