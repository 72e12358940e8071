"""A bot's configuration as the domain sees it: validated, immutable, JSON-shaped when stored.

Validation of user input happens at the edge (application.bot_config); stored configs are trusted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from decimal import Decimal
from typing import Any

# Parameters that identify a calculator; the rest of an indicator's params are rule thresholds.
CALCULATOR_PARAMS: dict[str, tuple[str, ...]] = {
    "RSI": ("period",),
    "MACD": ("fast", "slow", "signal"),
    "SMA": ("period",),
    "EMA": ("period",),
    "BBANDS": ("period", "std"),
    "STOCH": ("k", "d", "smooth"),
    "VOLUME_SMA": ("period",),
    "OBV": (),
}
INDICATOR_KINDS = tuple(CALCULATOR_PARAMS)


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """One indicator a bot votes with: its kind, calculator params and rule thresholds."""

    kind: str
    params: tuple[tuple[str, Decimal], ...] = ()

    def param(self, name: str) -> Decimal:
        for key, value in self.params:
            if key == name:
                return value
        raise KeyError(f"{self.kind} has no parameter {name!r}")

    @property
    def calculator_params(self) -> dict[str, Decimal]:
        return {name: self.param(name) for name in CALCULATOR_PARAMS[self.kind]}

    @property
    def label(self) -> str:
        """Key such as ``RSI(14)`` or ``MACD(12,26,9)``; equal labels share one calculator."""
        values = ",".join(str(v) for v in self.calculator_params.values())
        return f"{self.kind}({values})" if values else self.kind


@dataclass(frozen=True, slots=True)
class RiskRules:
    """Limits as fractions of capital (stop/take-profit as fractions of the entry price)."""

    max_position_size: Decimal
    max_positions: int
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    max_daily_loss: Decimal | None = None


@dataclass(frozen=True, slots=True)
class BotConfig:
    """Everything that decides what a bot trades and when."""

    name: str
    capital: Decimal
    trading_frequency: int
    symbols: tuple[str, ...]
    indicators: tuple[IndicatorSpec, ...]
    risk: RiskRules
    window_start: time = time(9, 30)
    window_end: time = time(12, 0)
    min_votes: int = 1
    flatten_at_end: bool = True
    entry_price_buffer: Decimal = field(default=Decimal("0.005"))

    def to_dict(self) -> dict[str, Any]:
        """The canonical JSON-shaped form stored in events (decimals as strings, keys ordered)."""
        return {
            "name": self.name,
            "capital": str(self.capital),
            "trading_frequency": self.trading_frequency,
            "symbols": list(self.symbols),
            "indicators": {s.kind: {k: str(v) for k, v in s.params} for s in self.indicators},
            "risk_management": {
                "stop_loss": _opt_str(self.risk.stop_loss),
                "take_profit": _opt_str(self.risk.take_profit),
                "max_position_size": str(self.risk.max_position_size),
                "max_daily_loss": _opt_str(self.risk.max_daily_loss),
                "max_positions": self.risk.max_positions,
            },
            "start_hour": self.window_start.hour,
            "start_minute": self.window_start.minute,
            "end_hour": self.window_end.hour,
            "end_minute": self.window_end.minute,
            "min_votes": self.min_votes,
            "flatten_at_end": self.flatten_at_end,
            "entry_price_buffer": str(self.entry_price_buffer),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BotConfig:
        """Rebuild from :meth:`to_dict` output (trusted: it came from a stored event)."""
        risk = data["risk_management"]
        return cls(
            name=data["name"],
            capital=Decimal(data["capital"]),
            trading_frequency=int(data["trading_frequency"]),
            symbols=tuple(data["symbols"]),
            indicators=tuple(
                IndicatorSpec(kind, tuple((k, Decimal(v)) for k, v in params.items()))
                for kind, params in data["indicators"].items()
            ),
            risk=RiskRules(
                max_position_size=Decimal(risk["max_position_size"]),
                max_positions=int(risk["max_positions"]),
                stop_loss=_opt_decimal(risk["stop_loss"]),
                take_profit=_opt_decimal(risk["take_profit"]),
                max_daily_loss=_opt_decimal(risk["max_daily_loss"]),
            ),
            window_start=time(int(data["start_hour"]), int(data["start_minute"])),
            window_end=time(int(data["end_hour"]), int(data["end_minute"])),
            min_votes=int(data["min_votes"]),
            flatten_at_end=bool(data["flatten_at_end"]),
            entry_price_buffer=Decimal(data["entry_price_buffer"]),
        )


def config_changes(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flattened ``path -> "old -> new"`` for every leaf that differs, for the audit trail."""
    changes: dict[str, str] = {}
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        path = f"{prefix}{key}"
        if isinstance(before, dict) and isinstance(after, dict):
            changes.update(config_changes(before, after, f"{path}."))
        elif before != after:
            changes[path] = f"{_show(before)} -> {_show(after)}"
    return changes


def _show(value: Any) -> str:
    return "(none)" if value is None else str(value)


def _opt_str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _opt_decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
