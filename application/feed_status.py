"""What a paper feed reports about itself, and what it publishes for each bar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.bars import Bar


class FeedState(StrEnum):
    """Running until the bars run out (finished), `stop()` (stopped) or an error (failed)."""

    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """A snapshot of a feed's progress; `bots` is how many trade in it now."""

    state: FeedState
    bars_fed: int
    bars_total: int
    current_bar_time: datetime | None
    started_at: datetime
    speed: float
    bots: int = 0
    conflicts: int = 0
    finished_at: datetime | None = None
    error: str | None = None


def bar_message(bar: Bar) -> dict[str, Any]:
    """A bar as published: ISO time, prices as strings (exact), volume as an int."""
    return {
        "bar": {
            "symbol": bar.symbol,
            "time": bar.timestamp.isoformat(),
            "open": str(bar.open),
            "high": str(bar.high),
            "low": str(bar.low),
            "close": str(bar.close),
            "volume": bar.volume,
        }
    }
