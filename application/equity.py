"""Drawdown bookkeeping for one bot's equity curve."""

from __future__ import annotations

from decimal import Decimal

from domain.units import CENT


class EquityTracker:
    """Peak-to-trough drawdown of a bot's equity, marked at every bar of its symbols."""

    __slots__ = ("max_drawdown", "max_drawdown_pct", "peak")

    def __init__(self, capital: Decimal) -> None:
        self.peak = capital
        self.max_drawdown = Decimal(0)
        self.max_drawdown_pct = Decimal(0)

    def mark(self, equity: Decimal) -> None:
        if equity > self.peak:
            self.peak = equity
        elif self.peak - equity > self.max_drawdown:
            self.max_drawdown = self.peak - equity
            self.max_drawdown_pct = (self.max_drawdown / self.peak * 100).quantize(CENT)
