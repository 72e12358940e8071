"""One streaming calculator per (symbol, indicator, params), shared by every bot that uses it."""

from __future__ import annotations

from typing import Any

from domain.bars import Bar
from domain.config import IndicatorSpec
from domain.indicators import make_indicator
from domain.signals import BarView

Outputs = tuple[float, ...]


class IndicatorHub:
    """Updates each calculator once per bar and keeps its latest and previous outputs."""

    def __init__(self) -> None:
        self._calculators: dict[str, dict[str, Any]] = {}
        self.latest: dict[str, dict[str, Outputs | None]] = {}
        self.previous: dict[str, dict[str, Outputs | None]] = {}
        self.output_names: dict[str, tuple[str, ...]] = {}
        # The last bar of each symbol as floats, converted once for every calculator and bot.
        self.views: dict[str, BarView] = {}

    def register(self, symbol: str, spec: IndicatorSpec) -> str:
        label = spec.label
        calculators = self._calculators.setdefault(symbol, {})
        if label not in calculators:
            calculator = make_indicator(spec.kind, spec.calculator_params)
            calculators[label] = calculator
            self.output_names[label] = tuple(calculator.outputs)
            self.latest.setdefault(symbol, {})[label] = None
            self.previous.setdefault(symbol, {})[label] = None
        return label

    def update(self, bar: Bar) -> None:
        calculators = self._calculators.get(bar.symbol)
        if not calculators:
            return
        high, low, close = float(bar.high), float(bar.low), float(bar.close)
        volume = float(bar.volume)
        self.views[bar.symbol] = BarView.of(float(bar.open), high, low, close, volume)
        latest, previous = self.latest[bar.symbol], self.previous[bar.symbol]
        for label, calculator in calculators.items():
            previous[label] = latest[label]
            latest[label] = calculator.update(high, low, close, volume)
