"""What a backtest is: the request, its record in the registry, and the ports that run it.

A backtest replays a bars dataset (optionally sliced to [start, end)) through up to ten bot
configs into a store of its own. The adapters behind the ports live in `infrastructure`.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from application.bot_config import BotConfigInput
from application.engine import SettableClock
from application.ports import Broker
from application.replay import BotResult, ReplayResult
from application.service import OpenbellApplication
from domain.bars import Bar
from domain.config import BotConfig


class BacktestStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"


class BacktestInputError(ValueError):
    """A request that cannot run; `field` is the dotted path of the offending input, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
SUFFIXES = frozenset({".csv", ".parquet", ".pq"})


def safe_name(name: str) -> str:
    """`name` if it is a bars file name (no directory, no '..'); else BacktestInputError."""
    if not NAME_PATTERN.fullmatch(name) or ".." in name:
        raise BacktestInputError(
            f"must be a file name in the bars directory, not a path: {name!r}", "dataset"
        )
    if Path(name).suffix.lower() not in SUFFIXES:
        raise BacktestInputError(
            f"{name!r} is not a bars file name (.csv, .parquet or .pq)", "dataset"
        )
    return name


class BacktestNotFound(LookupError):
    """No backtest with that id."""


class BacktestBusy(RuntimeError):
    """The backtest is queued or running: it cannot be deleted yet."""


class BacktestsUnavailable(RuntimeError):
    """Backtests cannot be accepted now (a store that cannot hold them, or a full queue)."""


@dataclass(frozen=True, slots=True)
class BacktestRequest:
    configs: tuple[BotConfigInput, ...]
    dataset: str | None = None  # a file name in the bars directory; None: the default dataset
    start: datetime | None = None  # inclusive, tz-aware
    end: datetime | None = None  # exclusive, tz-aware
    costs: Mapping[str, Decimal] = field(default_factory=dict)  # SimulatorCosts field names

    def options(self) -> dict[str, Any]:
        """The slice and costs as JSON values, for the registry."""
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
            "costs": {name: format(value, "f") for name, value in self.costs.items()},
        }


@dataclass(frozen=True, slots=True)
class BacktestRecord:
    """One backtest as the registry keeps it; `result` is the summary once finished."""

    id: UUID
    status: BacktestStatus
    created_at: datetime
    dataset: str
    configs: list[dict[str, Any]]
    options: dict[str, Any]
    bars: int
    store_url: str  # never holds a password
    progress: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    dataset_id: str  # content hash: the same bars give the same bot ids as `openbell replay`
    bars: Sequence[Bar]  # sorted by (timestamp, symbol)


class Datasets(Protocol):
    def load(self, name: str | None) -> Dataset:
        """The named dataset (None: the default); BacktestInputError(field='dataset') if none."""
        ...


class Workspace(Protocol):
    """A backtest's own event store and read models, open while it runs."""

    @property
    def application(self) -> OpenbellApplication: ...

    def catch_up(self) -> None: ...

    def close(self) -> None: ...


class Workspaces(Protocol):
    def url(self, backtest_id: UUID) -> str:
        """Where the backtest's store lives, without secrets; BacktestsUnavailable if nowhere."""
        ...

    def open(self, backtest_id: UUID) -> Workspace:
        """Create the backtest's store and open it."""
        ...

    def drop(self, backtest_id: UUID) -> None:
        """Remove the backtest's store, if it is there."""
        ...


class Registry(Protocol):
    def add(self, record: BacktestRecord) -> None: ...

    def save(self, record: BacktestRecord) -> None: ...

    def get(self, backtest_id: UUID) -> BacktestRecord | None: ...

    def recent(self, limit: int) -> list[BacktestRecord]: ...

    def unfinished(self) -> list[BacktestRecord]: ...

    def delete(self, backtest_id: UUID) -> None: ...


BrokerFactory = Callable[[Mapping[str, Decimal]], Callable[[SettableClock], Broker]]
Publish = Callable[[str, dict[str, Any]], object]


def select_bars(
    request: BacktestRequest, configs: Sequence[BotConfig], dataset: Dataset
) -> Sequence[Bar]:
    """The bars in [start, end), checked against the configs (unique names, known symbols)."""
    bars = dataset.bars
    low = 0 if request.start is None else bisect.bisect_left(bars, request.start, key=_moment)
    high = len(bars) if request.end is None else bisect.bisect_left(bars, request.end, key=_moment)
    selected = bars[low:high]
    if not selected:
        where = "start" if request.start is not None else "end" if request.end else "dataset"
        raise BacktestInputError(
            f"no bars in dataset {dataset.name!r} between start and end", where
        )
    seen: dict[str, int] = {}
    for index, config in enumerate(configs):
        if config.name in seen:
            raise BacktestInputError(
                f"bot name {config.name!r} is already used by configs.{seen[config.name]}",
                f"configs.{index}.name",
            )
        seen[config.name] = index
    symbols = {bar.symbol for bar in selected}
    for index, config in enumerate(configs):
        missing = sorted(set(config.symbols) - symbols)
        if missing:
            raise BacktestInputError(
                f"unknown symbol {', '.join(missing)}: dataset {dataset.name!r} has "
                f"{', '.join(sorted(symbols))} in the chosen period",
                f"configs.{index}.symbols",
            )
    return selected


def slice_id(dataset: Dataset, bars: Sequence[Bar]) -> str:
    """The replay's dataset id: the content hash, plus the bounds when only a slice runs."""
    if len(bars) == len(dataset.bars):
        return dataset.dataset_id
    first, last = bars[0].timestamp, bars[-1].timestamp
    return f"{dataset.dataset_id}:{first:%Y%m%dT%H%M}-{last:%Y%m%dT%H%M}"


def summarize(result: ReplayResult, dataset_id: str) -> dict[str, Any]:
    """The replay's outcome as JSON values (money as strings)."""
    rate = result.bars_per_second
    return {
        "dataset_id": dataset_id,
        "bars": result.bars,
        "seconds": round(result.seconds, 4),
        "bars_per_second": round(rate, 1) if math.isfinite(rate) else None,
        "bots": [_bot(bot) for bot in result.bots],
    }


def _bot(bot: BotResult) -> dict[str, Any]:
    return {
        "id": str(bot.id),
        "name": bot.name,
        "digest": bot.digest,
        "events": bot.events,
        "trades": bot.trades,
        "realized_pnl": format(bot.realized_pnl, "f"),
        "fees": format(bot.fees, "f"),
        "final_equity": format(bot.final_equity, "f"),
        "return_pct": format(bot.return_pct, "f"),
        "max_drawdown": format(bot.max_drawdown, "f"),
        "max_drawdown_pct": format(bot.max_drawdown_pct, "f"),
        "open_positions": bot.open_positions,
    }


def _moment(bar: Bar) -> datetime:
    return bar.timestamp
