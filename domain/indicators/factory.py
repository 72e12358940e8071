"""Build a calculator from an indicator kind and its parameters (as a strategy states them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from domain.indicators.averages import EMA, MACD, SMA
from domain.indicators.bands import BBands
from domain.indicators.base import Calculator
from domain.indicators.oscillators import RSI, Stoch
from domain.indicators.volume import OBV, VolumeSMA


def _int(kind: str, params: Mapping[str, Any], key: str) -> int:
    value = _required(kind, params, key)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise ValueError(f"{kind} {key} must be an integer, got {value!r}")


def _float(kind: str, params: Mapping[str, Any], key: str) -> float:
    value = _required(kind, params, key)
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{kind} {key} must be a number, got {value!r}")
    return float(value)


def _required(kind: str, params: Mapping[str, Any], key: str) -> Any:
    try:
        return params[key]
    except KeyError:
        raise ValueError(f"{kind} needs parameter {key!r}") from None


_BUILDERS: dict[str, Callable[[Mapping[str, Any]], Calculator]] = {
    "SMA": lambda p: SMA(_int("SMA", p, "period")),
    "EMA": lambda p: EMA(_int("EMA", p, "period")),
    "RSI": lambda p: RSI(_int("RSI", p, "period")),
    "MACD": lambda p: MACD(
        _int("MACD", p, "fast"), _int("MACD", p, "slow"), _int("MACD", p, "signal")
    ),
    "BBANDS": lambda p: BBands(_int("BBANDS", p, "period"), _float("BBANDS", p, "std")),
    "STOCH": lambda p: Stoch(
        _int("STOCH", p, "k"), _int("STOCH", p, "d"), _int("STOCH", p, "smooth")
    ),
    "VOLUME_SMA": lambda p: VolumeSMA(_int("VOLUME_SMA", p, "period")),
    "OBV": lambda p: OBV(),
}

KINDS: tuple[str, ...] = tuple(_BUILDERS)


def make_indicator(kind: str, params: Mapping[str, Any]) -> Calculator:
    """A fresh calculator for `kind` (one of KINDS) with `params`.

    Parameters: RSI/SMA/EMA/VOLUME_SMA `period`; MACD `fast`, `slow`, `signal`; BBANDS
    `period`, `std`; STOCH `k`, `d`, `smooth`; OBV none. Integers may be given as int or
    as an integral Decimal; `std` as any number. Keys a calculator does not use (such as
    the `oversold`/`overbought` thresholds of an RSI or STOCH rule) are ignored. Raises
    ValueError for an unknown kind, a missing parameter or an invalid value.
    """
    try:
        builder = _BUILDERS[kind]
    except KeyError:
        raise ValueError(
            f"unknown indicator kind {kind!r}; expected one of {', '.join(KINDS)}"
        ) from None
    return builder(params)
