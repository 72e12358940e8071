"""Which symbols a trading bot must learn the session's history of again after a config change.

A warm-up serves two things: calculators the shared hub registered cold, and the runner's
remembered last decision per symbol (`BotRunner.recall`; decisions act only when they change).
That decision is `decide(votes, min_votes)` on the last bar that closed inside the window
(`window_start`..`window_end`, before its flatten minute) on the `trading_frequency` grid; the
votes come from the `indicators` specs (calculator params and rule thresholds). Change any of
those and the last decision the new rules would have taken may differ on every symbol, and
only the bars can tell. Nothing else in a config reaches a decision: `capital` and `risk` size
and protect orders and halt the day (`domain/risk.py`), `entry_price_buffer` prices entries,
`flatten_at_end` flattens, `name` names. Under unchanged rules a symbol the bot already traded
keeps its decision and its calculators; an added one has neither.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from decimal import Decimal

from domain.config import BotConfig, RiskRules

_NO_RISK = RiskRules(max_position_size=Decimal(0), max_positions=0)


def symbols_to_learn(old: BotConfig, new: BotConfig, cold: Mapping[str, Iterable[str]]) -> set[str]:
    """The symbols of `new` whose history the runner must learn after `old` became `new`;
    `cold`: per symbol, the shared labels the change registered (they have seen no bar)."""
    if _rules(old) != _rules(new):
        return set(new.symbols)
    return {s for s in new.symbols if s not in old.symbols or any(cold.get(s, ()))}


def _rules(config: BotConfig) -> BotConfig:
    """`config` without what no remembered decision depends on (a field added to `BotConfig`
    later counts as a rule until it is listed here), the indicators in a canonical order."""
    return replace(
        config,
        name="",
        capital=Decimal(0),
        symbols=(),
        indicators=tuple(sorted(config.indicators, key=lambda s: (s.kind, s.params))),
        risk=_NO_RISK,
        flatten_at_end=False,
        entry_price_buffer=Decimal(0),
    )
