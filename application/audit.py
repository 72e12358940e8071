"""Human explanations of a bot's events, for the audit timeline (CLI and API share them)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from domain.bot import Bot
from domain.units import NEW_YORK


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    version: int
    at: datetime
    kind: str
    text: str


def timeline(events: Iterable[Any]) -> list[TimelineEntry]:
    """One entry per event, fills explained with the signal and sizing that led to them."""
    entries = []
    signals: dict[str, Any] = {}
    capital = Decimal(0)
    for event in events:
        kind = type(event).__name__
        if isinstance(event, Bot.Created | Bot.ConfigChanged):
            capital = Decimal(event.config["capital"])
        if isinstance(event, Bot.SignalGenerated):
            signals[event.symbol] = event
        text = explain(event)
        if isinstance(event, Bot.OrderFilled) and event.symbol in signals:
            signal = signals[event.symbol]
            share = event.price * event.filled_qty / capital * 100 if capital else Decimal(0)
            text += f" — {signal.rule}"
            if event.side == "buy":
                text += f"; size {share:.1f}% of capital"
        entries.append(TimelineEntry(event.originator_version, event.timestamp, kind, text))
    return entries


def explain(event: Any) -> str:
    method = _EXPLAINERS.get(type(event).__name__)
    return method(event) if method else type(event).__name__


def local_time(moment: datetime) -> str:
    return f"{moment.astimezone(NEW_YORK):%Y-%m-%d %H:%M} ET"


def _created(e: Any) -> str:
    c = e.config
    window = (
        f"{c['start_hour']:02d}:{c['start_minute']:02d}-{c['end_hour']:02d}:{c['end_minute']:02d}"
    )
    return (
        f"created {c['name']!r}: capital {c['capital']}, symbols {', '.join(c['symbols'])}, "
        f"indicators {', '.join(c['indicators'])}, window {window} ET, "
        f"trades every {c['trading_frequency']}s, needs {c['min_votes']} agreeing vote(s)"
    )


def _config_changed(e: Any) -> str:
    return "config changed: " + "; ".join(f"{k} {v}" for k, v in e.changes.items())


def _signal(e: Any) -> str:
    bar = local_time(e.bar_time)
    return f"{e.side.upper()} signal {e.symbol} @ {e.price} on the {bar} bar: {e.rule}"


def _risk_passed(e: Any) -> str:
    checks = "; ".join(f"{k} {v}" for k, v in e.checks.items())
    return f"risk check passed for {e.side.upper()} {e.qty} {e.symbol} @ {e.price}: {checks}"


def _denied(e: Any) -> str:
    return (
        f"{e.side.upper()} {e.symbol} denied by {e.limit}: limit {e.limit_value}, "
        f"attempted {e.attempted_value} ({e.reason})"
    )


def _submitted(e: Any) -> str:
    prices = ""
    if e.order_type == "limit":
        prices = f" @ {e.limit_price}"
    elif e.order_type == "oco":
        prices = f" stop {e.stop_price or '-'} / take-profit {e.limit_price or '-'}"
    return (
        f"submitted {e.side.upper()} {e.qty} {e.symbol} {e.order_type}{prices} "
        f"[{e.intent}] as {e.client_order_id}"
    )


def _filled(e: Any) -> str:
    partial = f" (partial, {e.remaining_qty} left)" if e.remaining_qty else ""
    return f"{e.side.upper()} {e.qty} {e.symbol} @ {e.price}, fee {e.fee}{partial}"


def _closed(e: Any) -> str:
    sign = "+" if e.realized_pnl >= 0 else ""
    return (
        f"closed {e.symbol}: {e.qty} shares, entry {e.avg_entry:.4f}, exit {e.avg_exit:.4f}, "
        f"P&L {sign}{e.realized_pnl:.2f}"
    )


_EXPLAINERS: dict[str, Any] = {
    "Created": _created,
    "ConfigChanged": _config_changed,
    "Started": lambda e: "started",
    "Paused": lambda e: "paused",
    "Resumed": lambda e: "resumed",
    "Stopped": lambda e: f"stopped: {e.reason}",
    "Archived": lambda e: "archived (history kept)",
    "Errored": lambda e: f"error: {e.reason}",
    "AlertRaised": lambda e: f"alert ({e.severity}): {e.message}",
    "UnexpectedFillReported": lambda e: (
        f"the broker filled {e.qty} @ {e.price} on {e.client_order_id}, which the bot's books "
        f"cannot take: {e.reason}"
    ),
    "ExitDeferred": lambda e: (
        f"exit [{e.intent}] of {e.symbol} waits until the broker ends {e.waiting_for}"
    ),
    "Reconciled": lambda e: (
        f"reconciled with {e.broker}: "
        + ("; ".join(f"{k} {v}" for k, v in e.findings.items()) or "nothing to correct")
    ),
    "SignalGenerated": _signal,
    "RiskCheckPassed": _risk_passed,
    "OrderDenied": _denied,
    "OrderSubmitted": _submitted,
    "OrderAccepted": lambda e: f"broker accepted {e.client_order_id} as {e.broker_order_id}",
    "OrderRejected": lambda e: f"broker rejected {e.client_order_id}: {e.reason}",
    "OrderCanceled": lambda e: f"canceled {e.client_order_id}: {e.reason}",
    "OrderFilled": _filled,
    "OrderPartiallyFilled": _filled,
    "PositionOpened": lambda e: f"opened {e.symbol}: {e.qty} @ {e.price}",
    "PositionClosed": _closed,
    "DailyLossLimitReached": lambda e: (
        f"daily loss limit reached on {e.day}: P&L {e.pnl:.2f} <= -{e.limit:.2f}; "
        "flattening and halting until the next session"
    ),
}


def state_summary(bot: Bot) -> dict[str, Any]:
    """The bot's state as plain values (for `audit --at` and the API)."""
    return {
        "id": str(bot.id),
        "name": bot.config.name,
        "status": bot.status.value,
        "version": bot.version,
        "as_of": bot.modified_on.isoformat(),
        "config": bot.config.to_dict(),
        "cash": str(bot.cash),
        "reserved": str(bot.reserved),
        "realized_pnl": str(bot.realized_pnl),
        "fees": str(bot.fees),
        "trades": bot.trades,
        "halted_on": bot.halted_on.isoformat() if bot.halted_on else None,
        "positions": [
            {
                "symbol": p.symbol,
                "qty": p.qty,
                "avg_price": f"{p.avg_price:.4f}",
                "cost": str(p.cost),
            }
            for p in bot.positions.values()
        ],
        "working_orders": [
            {
                "client_order_id": o.client_order_id,
                "symbol": o.symbol,
                "side": o.side.value,
                "qty": o.qty,
                "type": o.order_type.value,
                "filled_qty": o.filled_qty,
            }
            for o in bot.orders.values()
        ],
    }
