"""Start-up reconciliation: each bot, rebuilt from its events, checked against the broker.

- Working orders are looked up by client id: one the broker never received is withdrawn; fills
  it made while the engine was down are recorded (through the ledger, so never twice); one that
  ended (canceled, expired, rejected) is closed as such.
- Orders at the broker that carry a bot's id but appear in none of its events are unexplained.
- One picture of the broker: the account is read before and after the orders, again until the
  two reads agree, so a fill that lands meanwhile is in every part of the picture or in none;
  then every fill the lookups found is applied, whatever its time.
- A bot errors only for its own orders: a fill its books cannot take, a broker fill count its
  events contradict, an order with its id that no event of its submitted. It is then muted (no
  bars), and its exits stay watched so their fills are still recorded.
- Positions: a bot's position is what its own fills say. Bots may share an account, so the sum
  of the bots' positions per symbol is compared with the account's (holdings of stored bots
  that are not trading here explain a surplus); a difference no order of ours explains (a
  trade by hand) is reported on the bots trading that symbol and raised as an alert.

Everything found is recorded on each bot as a `Reconciled` event. Holdings left without a
working exit are protected again by the live trader once it has warmed up (`settle`): a window
that ended meanwhile flattens them instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from application.bot_runner import BotRunner
from application.engine import TradingEngine
from application.live_ports import BrokerOrder, LiveBroker
from domain.bot import Bot, BotStatus
from domain.orders import bot_hex_of

NEVER_RECEIVED = "the broker never received it (found at start-up)"
STABLE_READS = 5  # reads of the account around the orders before settling for the last one
_EVERYTHING = datetime.max.replace(tzinfo=UTC)


class Reconciler:
    """Reconciles runners that just joined the engine; errored ones are left out of trading."""

    def __init__(self, broker: LiveBroker, engine: TradingEngine) -> None:
        self.broker, self.engine = broker, engine

    def run(
        self,
        runners: Sequence[BotRunner],
        others: Sequence[Bot],
        at: datetime,
        orders_after: datetime,
    ) -> list[BotRunner]:
        """Reconcile `runners` (their bots trade here; `others` hold stored positions only).

        Returns the runners whose bots were put in error.
        """
        findings: dict[UUID, dict[str, str]] = {r.bot.id: {} for r in runners}
        problems: dict[UUID, list[str]] = {}
        account: dict[str, int] = {}
        for _ in range(STABLE_READS):
            # The account read before and after the orders: equal, no fill landed in between,
            # so every fill is in both pictures or in neither.
            before = self.broker.positions()
            problems = {r.bot.id: [] for r in runners}
            at_broker = self.broker.orders_since(orders_after)
            for runner in runners:
                bot = runner.bot
                self._orders(bot, at, findings[bot.id], problems[bot.id])
                self._strangers(bot, at_broker, problems[bot.id])
            account = self.broker.positions()
            if account == before:
                break
        else:
            for runner in runners:
                findings[runner.bot.id]["account"] = (
                    f"still changing after {STABLE_READS} reads; the last one is used"
                )
        self.broker.release_until(_EVERYTHING)  # every fill the lookups found, in time order
        self._apply(runners, at)
        live = [r.bot for r in self.engine.runners.values()]
        self._positions(account, live, others, runners, findings, at)
        errored = []
        for runner in runners:
            bot = runner.bot
            bot.record_reconciliation(at, self.broker.name, findings[bot.id])
            if problems[bot.id] and bot.status is not BotStatus.ERRORED:
                runner.fail(at, "reconciliation: " + "; ".join(problems[bot.id]))
            if bot.status is BotStatus.ERRORED:
                errored.append(runner)
        return errored

    def _orders(self, bot: Bot, at: datetime, found: dict[str, str], problems: list[str]) -> None:
        for order in list(bot.orders.values()):
            cid = order.client_order_id
            self.broker.track(cid, order.symbol, order.filled_qty, order.accepted)
            there = self.broker.refresh(cid)
            if there is None:
                bot.cancel_order(at, cid, NEVER_RECEIVED)
                found[cid] = "never reached the broker: withdrawn"
                continue
            missing = there.filled_qty - order.filled_qty
            notes = []
            if missing < 0:
                problems.append(
                    f"{cid}: the broker filled {there.filled_qty}, the bot's fills say "
                    f"{order.filled_qty}"
                )
            elif missing:
                price = there.filled_avg_price
                notes.append(f"filled {missing} @ {price} while the engine was down")
            notes.append("still open" if there.is_open else f"{there.status} at the broker")
            found[cid] = ", ".join(notes)

    def _strangers(self, bot: Bot, at_broker: list[BrokerOrder], problems: list[str]) -> None:
        """Orders with this bot's id at the broker that its events contradict: none of them
        submitted it, or they ended it with other fills than the broker's."""
        prefix = f"ob-{bot.id.hex}-"
        for order in at_broker:
            cid = order.client_order_id
            if not cid.startswith(prefix) or cid in bot.orders:
                continue  # another's, or working: `_orders` looked it up
            recorded = bot.ended.get(cid)
            if recorded is None:
                problems.append(
                    f"order {cid} at the broker ({order.status}, {order.filled_qty} of "
                    f"{order.qty} {order.symbol} filled) is in none of the bot's events"
                )
            elif not order.is_open and order.filled_qty != recorded:
                problems.append(
                    f"{cid}: the broker filled {order.filled_qty}, the bot's fills say {recorded}"
                )

    def _apply(self, runners: Sequence[BotRunner], at: datetime) -> None:
        """Fills and endings the broker reported, each applied once, through the runners; an
        update a bot's books cannot take errors that bot alone."""
        by_hex = {r.bot.id.hex: r for r in runners}
        others = []
        for update in self.broker.poll_updates():
            runner = by_hex.get(bot_hex_of(update.client_order_id))
            if runner is None:
                others.append(update)
                continue
            try:
                runner.on_update(update)
            except Exception as exc:
                reason = f"reconciliation: {type(exc).__name__}: {exc}"
                runner.fail(at, reason, update)
        if others:
            self.engine.dispatch(others)

    def _positions(
        self,
        account: dict[str, int],
        live: Sequence[Bot],
        others: Sequence[Bot],
        runners: Sequence[BotRunner],
        findings: dict[UUID, dict[str, str]],
        at: datetime,
    ) -> None:
        """Per symbol, the account against the bots' own fills. Each bot's orders were checked
        against the broker above; a difference left here is one no order of ours explains
        (a trade made by hand, another program): reported on the bots trading the symbol and
        raised as an alert, without stopping bots whose own orders all agree."""
        checked = {r.bot.id: r.bot for r in runners}
        symbols = set(account) | {s for bot in live for s in bot.positions}
        for symbol in sorted(symbols):
            held = account.get(symbol, 0)
            mine = sum(bot.position_qty(symbol) for bot in live)
            rest = sum(bot.position_qty(symbol) for bot in others)
            concerned = [
                bot
                for bot in checked.values()
                if symbol in bot.positions or symbol in bot.config.symbols
            ]
            if held == mine:
                continue
            if held == mine + rest:
                for bot in concerned:
                    findings[bot.id][f"position {symbol}"] = (
                        f"account {held} = {mine} of the trading bots + {rest} of stored bots "
                        "not trading here"
                    )
                continue
            split = ", ".join(
                f"{bot.config.name} {bot.position_qty(symbol)}"
                for bot in live
                if bot.position_qty(symbol)
            )
            reason = (
                f"the account holds {held} {symbol}, the fills of the bots trading it say "
                f"{mine + rest}"
                + (f" ({split})" if split else "")
                + "; no order of theirs explains the difference"
            )
            for bot in concerned:
                findings[bot.id][f"position {symbol}"] = reason
                bot.raise_alert(at, "warning", reason)
