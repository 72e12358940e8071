"""Replay historical bars through bots with the live engine and a simulated broker."""

from __future__ import annotations

import hashlib
import json
import time as timer
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from application.bot_runner import BotRunner
from application.engine import SettableClock, TradingEngine
from application.ports import Broker
from application.service import OpenbellApplication, bot_id_for
from domain.bars import Bar
from domain.config import BotConfig
from domain.units import CENT


class ReplayInputError(ValueError):
    """Bars and configs that cannot be replayed together."""


@dataclass(frozen=True, slots=True)
class BotResult:
    id: UUID
    name: str
    digest: str
    events: int
    trades: int
    realized_pnl: Decimal
    fees: Decimal
    final_equity: Decimal
    return_pct: Decimal
    max_drawdown: Decimal
    max_drawdown_pct: Decimal
    open_positions: int


@dataclass(frozen=True, slots=True)
class ReplayResult:
    bots: list[BotResult]
    bars: int
    seconds: float

    @property
    def bars_per_second(self) -> float:
        return self.bars / self.seconds if self.seconds > 0 else float("inf")


def replay(
    app: OpenbellApplication,
    bars: Sequence[Bar],
    configs: Sequence[BotConfig],
    broker_for: Callable[[SettableClock], Broker],
    dataset_id: str,
    progress: Callable[[int], None] | None = None,
) -> ReplayResult:
    """Create one bot per config, run every bar through them, then store all their events at once.

    One save makes a replay atomic (a failed replay stores nothing) and batches the writes.
    """
    if not bars:
        raise ReplayInputError("no bars to replay")
    _check_inputs(bars, configs)
    clock = SettableClock(bars[0].timestamp)
    broker = broker_for(clock)
    engine = TradingEngine(broker, clock)
    ids = [bot_id_for(c.name, f"replay:{dataset_id}:{_config_key(c)}") for c in configs]
    app.ensure_new(ids)  # before anything is written: a repeated replay stores nothing
    for bot_id, config in zip(ids, configs, strict=True):
        bot = app.new_bot(bot_id, config, clock.now())
        bot.start(clock.now())
        engine.add_bot(bot)

    started = timer.perf_counter()
    count = engine.run(bars, progress)
    _cancel_working_orders(engine)
    for bot in engine.bots:
        # A replayed bot does not trade on after its bars: stopped, not left "running".
        bot.stop(engine.clock.now(), "replay finished")
    digests = app.save_new_bots(*engine.bots)
    seconds = timer.perf_counter() - started
    return ReplayResult(
        [_result(runner, digests[runner.bot.id]) for runner in engine.runners.values()],
        count,
        seconds,
    )


def _check_inputs(bars: Sequence[Bar], configs: Sequence[BotConfig]) -> None:
    if not configs:
        raise ReplayInputError("no bot configs to replay")
    names = [c.name for c in configs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ReplayInputError(f"bot names must be unique in one replay: {', '.join(duplicates)}")
    available = {bar.symbol for bar in bars}
    for config in configs:
        missing = sorted(set(config.symbols) - available)
        if missing:
            raise ReplayInputError(
                f"bot {config.name!r}: unknown symbol {', '.join(missing)} "
                f"(the bars have {', '.join(sorted(available))})"
            )


def _config_key(config: BotConfig) -> str:
    canonical = json.dumps(config.to_dict(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _cancel_working_orders(engine: TradingEngine) -> None:
    for runner in engine.runners.values():
        for order_id in list(runner.bot.orders):
            engine.broker.cancel(order_id)
    engine.dispatch_updates()


def _result(runner: BotRunner, stored: tuple[str, int]) -> BotResult:
    bot, tracker = runner.bot, runner.equity
    digest, events = stored
    equity = bot.equity(runner.marks)
    capital = bot.config.capital
    return BotResult(
        id=bot.id,
        name=bot.config.name,
        digest=digest,
        events=events,
        trades=bot.trades,
        realized_pnl=bot.realized_pnl,
        fees=bot.fees,
        final_equity=equity.quantize(CENT),
        return_pct=((equity - capital) / capital * 100).quantize(CENT),
        max_drawdown=tracker.max_drawdown.quantize(CENT),
        max_drawdown_pct=tracker.max_drawdown_pct,
        open_positions=len(bot.positions),
    )
