"""The chaos test's books: the bots' events against the simulator's orders and account.

Every problem is collected with its evidence (bot, client order ids, the order's events and its
state at the broker) instead of stopping at the first, so one failing run shows them all.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from domain.bot import Bot, BotStatus
from domain.orders import Side


@dataclass
class Family:
    """A broker order with its legs (an OCO's stop leg), all under the parent's client order id."""

    cid: str
    symbol: str
    side: str
    members: dict[str, dict[str, Any]] = field(default_factory=dict)  # by broker order id

    @property
    def filled(self) -> int:
        """Shares the broker filled for this client order id.

        An OCO's leg may mirror its parent (today's simulator: same status and filled_qty) or be
        an order of its own (Alpaca: the leg that fills has the quantity, the other none): a
        family whose members all agree counts once, else its members add up."""
        seen = {(m["status"], int(m["filled_qty"])) for m in self.members.values()}
        if len(seen) == 1:
            return int(next(iter(self.members.values()))["filled_qty"])
        return sum(int(m["filled_qty"]) for m in self.members.values())

    def show(self) -> str:
        parts = [f"{m['client_order_id']} {m['status']} {m['filled_qty']}/{m['qty']}"
                 for m in self.members.values()]  # fmt: skip
        return f"{self.side} [{'; '.join(parts)}]"


def families(orders: list[dict[str, Any]]) -> dict[str, Family]:
    """The broker's orders (from GET /admin/orders) by the client order id a bot submitted.

    A leg (its client_order_id the broker's own) belongs to the parent it is nested in, even
    if it is listed on its own too. No naming rule is relied on: an order whose id no bot
    submitted stays its own family, and fails the one-`OrderSubmitted` check.
    """
    found: dict[str, Family] = {}
    parent_of = {
        leg["id"]: order["client_order_id"] for order in orders for leg in order.get("legs") or []
    }

    def add(cid: str, order: dict[str, Any]) -> None:
        family = found.setdefault(cid, Family(cid, order["symbol"], order["side"]))
        family.members.setdefault(order["id"], order)

    for order in orders:
        cid = parent_of.get(order["id"], order["client_order_id"])
        add(cid, order)
        for leg in order.get("legs") or []:
            add(cid, leg)
    return found


def check_books(
    names: dict[UUID, str],
    events: dict[UUID, list[Any]],
    bots: dict[UUID, Bot],
    orders: list[dict[str, Any]],
    account: dict[str, int],
) -> tuple[list[str], dict[str, Any]]:
    """The issue's assertions; returns the problems found and figures for the summary."""
    problems: list[str] = []
    submitted = Counter(
        e.client_order_id for es in events.values() for e in es if isinstance(e, Bot.OrderSubmitted)
    )
    for cid, times in sorted(submitted.items()):
        if times > 1:
            problems.append(f"client_order_id submitted {times} times: {cid}")
    at_broker = families(orders)
    for cid, family in sorted(at_broker.items()):
        if submitted[cid] != 1:
            problems.append(
                f"broker order with {submitted[cid]} OrderSubmitted events: {family.show()}"
            )
    totals: Counter[str] = Counter()
    for bot_id, name in names.items():
        problems += _positions(name, bot_id, events[bot_id], bots[bot_id], at_broker, totals)
        if bots[bot_id].status is BotStatus.ERRORED:
            reasons = [e.reason for e in events[bot_id] if isinstance(e, Bot.Errored)]
            problems.append(f"{name} errored: {' | '.join(reasons)}")
    if dict(+totals) != account:
        problems.append(f"the bots hold {dict(+totals)}, the account {account}")
    every = [e for es in events.values() for e in es]
    endings = Counter(
        f"{type(e).__name__}: {e.reason}"
        for e in every
        if isinstance(e, Bot.OrderCanceled | Bot.OrderRejected)
    )
    figures = {
        "broker orders": len(at_broker),
        "submitted": sum(submitted.values()),
        "fills": sum(isinstance(e, Bot.OrderFilled) for e in every),
        "endings": dict(endings.most_common(6)),
        # By name: events of the engine's that this test need not import (e.g. AlertRaised).
        "other events": dict(Counter(type(e).__name__ for e in every if _notable(e))),
        "statuses": {names[i]: b.status.value for i, b in bots.items()},
        "account": account,
    }
    return problems, figures


def _positions(
    name: str,
    bot_id: UUID,
    events: list[Any],
    bot: Bot,
    at_broker: dict[str, Family],
    totals: Counter[str],
) -> list[str]:
    """Position = the bot's recorded fills = the broker's fills of its orders, per symbol."""
    recorded: dict[str, Counter[str]] = defaultdict(Counter)  # symbol -> cid -> signed qty
    for e in events:
        if isinstance(e, Bot.OrderFilled):  # and OrderPartiallyFilled
            recorded[e.symbol][e.client_order_id] += e.qty if e.side is Side.BUY else -e.qty
    broker: dict[str, Counter[str]] = defaultdict(Counter)
    for cid, family in at_broker.items():
        if cid.startswith(f"ob-{bot_id.hex}-"):
            sign = 1 if family.side == "buy" else -1
            broker[family.symbol][cid] += sign * family.filled
    problems = []
    for symbol in sorted(set(recorded) | set(broker) | set(bot.positions)):
        held = bot.position_qty(symbol)
        totals[symbol] += held
        mine, theirs = sum(recorded[symbol].values()), sum(broker[symbol].values())
        if held == mine == theirs:
            continue
        differing = [
            f"{cid}: events {recorded[symbol][cid]:+d} [{_story(events, cid)}], broker "
            f"{theirs_:+d} [{at_broker[cid].show() if cid in at_broker else 'no such order'}]"
            for cid in sorted(set(recorded[symbol]) | set(broker[symbol]))
            if recorded[symbol][cid] != (theirs_ := broker[symbol][cid])
        ]
        problems.append(
            f"{name} {symbol}: position {held}, its fills {mine}, the broker's fills {theirs}; "
            + ("; ".join(differing) or "every order agrees")
        )
    return problems


def _notable(event: Any) -> bool:
    return type(event).__name__ not in _ROUTINE


_ROUTINE = {
    "Created", "Started", "SignalGenerated", "RiskCheckPassed", "OrderDenied", "OrderSubmitted",
    "OrderAccepted", "OrderFilled", "OrderPartiallyFilled", "OrderCanceled", "OrderRejected",
    "PositionOpened", "PositionClosed",
}  # fmt: skip


def _story(events: list[Any], cid: str) -> str:
    """The order's events in order, with the reasons of those that end it."""
    steps = []
    for e in events:
        if getattr(e, "client_order_id", None) != cid:
            continue
        step = type(e).__name__
        if isinstance(e, Bot.OrderFilled):
            step += f" {e.qty}@{e.price}"
        elif isinstance(e, Bot.OrderCanceled | Bot.OrderRejected):
            step += f" ({e.reason})"
        steps.append(step)
    return ", ".join(steps)
