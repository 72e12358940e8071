"""The risk manager between a signal and the broker: sizes entries and denies what breaks a limit.

Long-only. An entry is a marketable limit buy at the last close plus the bot's price buffer, so the
cash it reserves is the most it can ever cost: the bot never spends more than its cash or capital.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import NamedTuple

from domain.bot import Bot
from domain.config import RiskRules
from domain.orders import Intent
from domain.units import CENT

FeeSchedule = Callable[[int, Decimal], Decimal]


class Approved(NamedTuple):
    """A sized entry that passed every check (a NamedTuple: made for every entry signal)."""

    qty: int
    limit_price: Decimal
    reserved: Decimal
    checks: dict[str, str]


@dataclass(frozen=True, slots=True)
class Denied:
    """Which limit refused the order, the limit's value and the value the order attempted."""

    limit: str
    limit_value: Decimal
    attempted_value: Decimal
    reason: str


def check_entry(
    bot: Bot, symbol: str, price: Decimal, day: date, fee_for: FeeSchedule
) -> Approved | Denied:
    """Size a buy of `symbol` at about `price`, or deny it naming the limit that binds."""
    config, rules = bot.config, bot.config.risk
    if bot.is_halted(day):
        limit = (rules.max_daily_loss or Decimal(0)) * config.capital
        return Denied("max_daily_loss", limit, bot.daily_pnl(day, {}), "halted for the session")
    open_count = _open_exposures(bot)
    if open_count >= rules.max_positions:
        return Denied(
            "max_positions",
            Decimal(rules.max_positions),
            Decimal(open_count + 1),
            f"{open_count} positions open, limit {rules.max_positions}",
        )
    limit_price = (price * (1 + config.entry_price_buffer)).quantize(CENT, rounding=ROUND_UP)
    committed = bot.committed()  # a sum over the positions: once, for the ceiling and the check
    ceilings = {
        "max_position_size": rules.max_position_size * config.capital,
        "capital": config.capital - committed,
        "cash": bot.available_cash,
    }
    binding = min(ceilings, key=lambda name: ceilings[name])
    spend = ceilings[binding]
    qty = _affordable_qty(spend, limit_price, fee_for)
    if qty < 1:
        one_share = limit_price + fee_for(1, limit_price)
        return Denied(
            binding,
            spend,
            one_share,
            f"one share costs up to {one_share}, {binding} allows {spend}",
        )
    reserved = qty * limit_price + fee_for(qty, limit_price)
    checks = {
        "max_positions": f"{open_count + 1} of {rules.max_positions}",
        "max_position_size": f"{reserved} <= {ceilings['max_position_size']}",
        "cash": f"{reserved} <= {ceilings['cash']} available",
        "capital": f"{committed + reserved} <= {config.capital} committed",
        "max_daily_loss": "not reached",
    }
    return Approved(qty, limit_price, reserved, checks)


def _affordable_qty(spend: Decimal, limit_price: Decimal, fee_for: FeeSchedule) -> int:
    if spend <= 0:
        return 0
    qty = int((spend / limit_price).to_integral_value(rounding=ROUND_DOWN))
    while qty > 0 and qty * limit_price + fee_for(qty, limit_price) > spend:
        qty -= 1
    return qty


def _open_exposures(bot: Bot) -> int:
    """Positions held plus symbols with a working entry (each becomes a position when it fills)."""
    symbols = {s for s, p in bot.positions.items() if p.qty > 0}
    symbols.update(o.symbol for o in bot.orders.values() if o.intent is Intent.ENTRY)
    return len(symbols)


def protective_prices(
    avg_entry: Decimal, rules: RiskRules
) -> tuple[Decimal | None, Decimal | None]:
    """Stop-loss and take-profit prices for a position bought at `avg_entry`."""
    stop = target = None
    if rules.stop_loss is not None:
        stop = (avg_entry * (1 - rules.stop_loss)).quantize(CENT, rounding=ROUND_HALF_UP)
    if rules.take_profit is not None:
        target = (avg_entry * (1 + rules.take_profit)).quantize(CENT, rounding=ROUND_HALF_UP)
    return stop, target


def daily_loss_breach(
    bot: Bot, day: date, marks: dict[str, Decimal]
) -> tuple[Decimal, Decimal] | None:
    """(limit, today's P&L) when realised + unrealised P&L has lost the daily limit, else None."""
    fraction = bot.config.risk.max_daily_loss
    if fraction is None or bot.is_halted(day):
        return None
    limit = fraction * bot.config.capital
    pnl = bot.daily_pnl(day, marks)
    return (limit, pnl) if pnl <= -limit else None
