"""The shared shape of every streaming indicator calculator, and parameter checks.

A calculator consumes one bar at a time through `update` and answers the indicator's
values for that bar, or None while it is still warming up. The definitions follow
TA-Lib's defaults (TA_COMPATIBILITY_DEFAULT, no unstable period), so after warm-up a
calculator reproduces TA-Lib's whole-series output bar for bar.
"""

from __future__ import annotations

import math
from typing import Protocol

# TA-Lib accepts periods up to this bound for every function used here.
MAX_PERIOD = 100_000


class Calculator(Protocol):
    """A streaming indicator: O(1) work per bar, values once warmed up."""

    @property
    def outputs(self) -> tuple[str, ...]:
        """Names of the values `update` returns, in order."""
        ...

    @property
    def warmup(self) -> int:
        """Bars consumed before the first non-None answer (TA-Lib lookback + 1)."""
        ...

    def update(
        self, high: float, low: float, close: float, volume: float
    ) -> tuple[float, ...] | None:
        """Consume one bar; the outputs for it, or None during warm-up."""
        ...


def check_period(name: str, value: int, minimum: int) -> int:
    """`value` if it is an int within [minimum, MAX_PERIOD]: TypeError for another type (as the
    compiled calculators' own argument checks raise), ValueError outside the range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if not minimum <= value <= MAX_PERIOD:
        raise ValueError(f"{name} must be between {minimum} and {MAX_PERIOD}, got {value}")
    return value


def check_positive_float(name: str, value: float) -> float:
    """`value` as a float if it is finite and > 0: TypeError for another type, ValueError
    otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    result = float(value)
    if not (math.isfinite(result) and result > 0.0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return result
