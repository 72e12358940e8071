"""Warm-up for a bot that joins a running engine on symbols other bots already trade (or whose
config changed while it trades there).

The shared calculators of those symbols have seen every bar so far: feeding them the history
again would count those bars twice, for every bot reading them. So the joining bot's own
indicators are computed on a private hub from the history instead; its runner recalls its
decisions against that hub (as `TradingEngine.warm` does, nobody acts), and the calculators the
shared hub had only just registered for it (cold) are replaced by the warmed private ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from application.bot_runner import BotRunner
from application.indicator_hub import IndicatorHub
from domain.bars import Bar
from domain.units import NEW_YORK


def warm_joiner(runner: BotRunner, bars: Iterable[Bar], cold: Mapping[str, Iterable[str]]) -> None:
    """Let `runner` learn `bars` (each symbol's history up to the last bar the engine processed);
    `cold`: per symbol, the shared hub's labels that have not seen those bars."""
    shared, private = runner.hub, IndicatorHub()
    config = runner.bot.config
    for symbol in config.symbols:
        for spec in config.indicators:
            private.register(symbol, spec)
    runner.hub = private
    try:
        for bar in bars:
            private.update(bar)
            runner.recall(bar, bar.timestamp.astimezone(NEW_YORK).date(), bar.closed_at)
    finally:
        runner.hub = shared
    for symbol, labels in cold.items():
        shared.adopt(private, symbol, labels)
