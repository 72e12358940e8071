"""One streaming calculator per (symbol, indicator, params), shared by every bot that uses it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from domain.bars import Bar, BarFloats
from domain.config import IndicatorSpec
from domain.indicators import make_indicator

Outputs = tuple[float, ...]
Update = Callable[[float, float, float, float], Outputs | None]


class IndicatorHub:
    """Updates each calculator once per bar and keeps its latest and previous outputs."""

    def __init__(self) -> None:
        # Per symbol: (label, bound update) pairs, the hot loop's only data.
        self._updates: dict[str, list[tuple[str, Update]]] = {}
        self.latest: dict[str, dict[str, Outputs | None]] = {}
        self.previous: dict[str, dict[str, Outputs | None]] = {}
        self.output_names: dict[str, tuple[str, ...]] = {}
        # The last bar of each symbol as floats, converted once for every calculator and bot.
        self.views: dict[str, BarFloats] = {}

    def register(self, symbol: str, spec: IndicatorSpec) -> str:
        label = spec.label
        latest = self.latest.setdefault(symbol, {})
        if label not in latest:
            calculator = make_indicator(spec.kind, spec.calculator_params)
            self._updates.setdefault(symbol, []).append((label, calculator.update))
            self.output_names[label] = tuple(calculator.outputs)
            latest[label] = None
            self.previous.setdefault(symbol, {})[label] = None
        return label

    def labels(self, symbol: str) -> list[str]:
        return [label for label, _ in self._updates.get(symbol, ())]

    def adopt(self, other: IndicatorHub, symbol: str, labels: Iterable[str]) -> None:
        """Use `other`'s calculators (and outputs) for `labels` of `symbol` instead of ours.

        For calculators registered here after `symbol`'s bars began, warmed up on its history
        in `other`: the calculators here that saw those bars are left as they are.
        """
        theirs = dict(other._updates.get(symbol, ()))
        taken = set(labels) & theirs.keys()
        self._updates[symbol] = [
            (label, theirs[label] if label in taken else update)
            for label, update in self._updates.get(symbol, ())
        ]
        for label in taken:
            self.latest[symbol][label] = other.latest[symbol][label]
            self.previous[symbol][label] = other.previous[symbol][label]

    def update(self, bar: Bar) -> None:
        updates = self._updates.get(bar.symbol)
        if not updates:
            return
        symbol = bar.symbol
        view = self.views[symbol] = bar.floats or bar.as_floats()
        _, high, low, close, volume = view
        # This bar's outputs in a new dict; the one they replace becomes the previous outputs.
        self.previous[symbol] = self.latest[symbol]
        self.latest[symbol] = {label: update(high, low, close, volume) for label, update in updates}
