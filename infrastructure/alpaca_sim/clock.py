"""The simulator's market clock: stepped by hand (speed 0) or running `speed` times real time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta


class SimClock:
    """Market time = a base moment plus wall time elapsed since it was set, times `speed`."""

    def __init__(
        self, start: datetime, speed: float = 0.0, wall: Callable[[], float] = time.monotonic
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulator clock needs a timezone-aware start")
        if speed < 0:
            raise ValueError("speed must be 0 (stepped) or more")
        self._wall = wall
        self._base, self._since, self._speed = start, wall(), speed

    @property
    def speed(self) -> float:
        return self._speed

    def now(self) -> datetime:
        if not self._speed:
            return self._base
        return self._base + timedelta(seconds=(self._wall() - self._since) * self._speed)

    def advance(self, seconds: float) -> datetime:
        """Move market time forward (never back) by `seconds`."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        self._rebase(self.now() + timedelta(seconds=seconds))
        return self._base

    def set_speed(self, speed: float) -> None:
        if speed < 0:
            raise ValueError("speed must be 0 (stepped) or more")
        self._rebase(self.now())
        self._speed = speed

    def _rebase(self, moment: datetime) -> None:
        self._base, self._since = moment, self._wall()
