"""Indicator votes and how a bot combines them into a buy or sell decision.

Each configured indicator casts at most one vote per evaluation:
RSI below `oversold` buys, above `overbought` sells; MACD buys while its line is above the
signal line; SMA/EMA buy while the close is above the average; Bollinger buys below the lower
band and sells above the upper; Stochastic %K buys below `oversold` and sells above
`overbought`; volume above its SMA votes with the bar's direction; OBV votes with its change
since the previous bar. A bot decides BUY when at least `min_votes` indicators vote buy and
buys outnumber sells (SELL symmetrically).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from domain.bars import BarFloats
from domain.config import IndicatorSpec
from domain.orders import Side

Outputs = tuple[float, ...]
BarView = BarFloats  # what a vote rule sees of the bar
BUY, NONE, SELL = 1, 0, -1


class VoteRule:
    """Turns one indicator's outputs into a vote (+1 buy, -1 sell, 0 none) and explains it."""

    __slots__ = ("high", "label", "low", "spec", "vote")

    vote: Callable[[Outputs, Outputs | None, BarFloats], int]
    """vote(out, prev, bar): this indicator's vote on a bar, given its outputs for it (and for
    the bar before)."""

    def __init__(self, spec: IndicatorSpec) -> None:
        self.spec = spec
        self.label = spec.label
        params = dict(spec.params)
        self.low = float(params.get("oversold", 30))
        self.high = float(params.get("overbought", 70))
        # The kind's rule chosen once: a bot votes on every bar.
        self.vote = getattr(self, _VOTES.get(spec.kind, "_vote_obv"))

    def _vote_threshold(self, out: Outputs, prev: Outputs | None, bar: BarFloats) -> int:
        value = out[0]
        return BUY if value < self.low else SELL if value > self.high else NONE

    def _vote_macd(self, out: Outputs, prev: Outputs | None, bar: BarFloats) -> int:
        return BUY if out[2] > 0 else SELL if out[2] < 0 else NONE

    def _vote_average(self, out: Outputs, prev: Outputs | None, bar: BarFloats) -> int:
        return BUY if bar.close > out[0] else SELL if bar.close < out[0] else NONE

    def _vote_bands(self, out: Outputs, prev: Outputs | None, bar: BarFloats) -> int:
        return BUY if bar.close < out[2] else SELL if bar.close > out[0] else NONE

    def _vote_volume(self, out: Outputs, prev: Outputs | None, bar: BarFloats) -> int:
        if bar.volume <= out[0]:
            return NONE
        return BUY if bar.close > bar.open else SELL if bar.close < bar.open else NONE

    def _vote_obv(self, out: Outputs, prev: Outputs | None, bar: BarFloats) -> int:
        if prev is None:
            return NONE
        return BUY if out[0] > prev[0] else SELL if out[0] < prev[0] else NONE

    def explain(self, out: Outputs, prev: Outputs | None, bar: BarFloats) -> str:
        kind, label = self.spec.kind, self.label
        if kind == "RSI":
            return _threshold(f"{label} {out[0]:.2f}", out[0], self.low, self.high)
        if kind == "STOCH":
            return _threshold(f"{label} %K {out[0]:.2f}", out[0], self.low, self.high)
        if kind == "MACD":
            relation = ">" if out[2] > 0 else "<" if out[2] < 0 else "="
            return f"{label} line {out[0]:.4f} {relation} signal {out[1]:.4f}"
        if kind == "SMA" or kind == "EMA":
            relation = ">" if bar.close > out[0] else "<" if bar.close < out[0] else "="
            return f"close {bar.close:.2f} {relation} {label} {out[0]:.2f}"
        if kind == "BBANDS":
            return f"close {bar.close:.2f} vs {label} bands {out[2]:.2f}..{out[0]:.2f}"
        if kind == "VOLUME_SMA":
            direction = f"bar {bar.open:.2f}->{bar.close:.2f}"
            return f"volume {bar.volume:.0f} vs {label} {out[0]:.0f}, {direction}"
        before = "n/a" if prev is None else f"{prev[0]:.0f}"
        return f"{label} {before} -> {out[0]:.0f}"


_VOTES = {
    "RSI": "_vote_threshold",
    "STOCH": "_vote_threshold",
    "MACD": "_vote_macd",
    "SMA": "_vote_average",
    "EMA": "_vote_average",
    "BBANDS": "_vote_bands",
    "VOLUME_SMA": "_vote_volume",
    "OBV": "_vote_obv",
}


def _threshold(subject: str, value: float, low: float, high: float) -> str:
    if value < low:
        return f"{subject} < {low:g} (oversold)"
    if value > high:
        return f"{subject} > {high:g} (overbought)"
    return f"{subject} within {low:g}..{high:g}"


def decide(votes: Sequence[int], min_votes: int) -> Side | None:
    """Combine votes: at least `min_votes` on one side and more than on the other side."""
    return decide_counts(votes.count(BUY), votes.count(SELL), min_votes)


def decide_counts(buys: int, sells: int, min_votes: int) -> Side | None:
    """`decide` from the number of buy and sell votes (for a caller that counted as it voted)."""
    if buys >= min_votes and buys > sells:
        return Side.BUY
    if sells >= min_votes and sells > buys:
        return Side.SELL
    return None
