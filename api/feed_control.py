"""The API process's one paper feed: which bars it feeds, wired to the simulated broker."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from api.errors import ApiError
from api.services import Services
from application.engine import SettableClock
from application.paper_feed import FeedState, FeedStatus, PaperFeed
from application.ports import Broker
from domain.bars import Bar
from infrastructure.bars_io import BarsFileError, load_bars
from infrastructure.sim_broker import SimulatedBroker, SimulatorCosts

# What `openbell up` charges in its demo replay: paper fills pay a broker's commission too.
PAPER_COSTS = SimulatorCosts(commission_per_share=Decimal("0.005"), commission_min=Decimal("1"))


def simulated_broker(clock: SettableClock) -> Broker:
    return SimulatedBroker(clock, PAPER_COSTS)


class FeedControl:
    """Starts, reports and stops the paper feed; at most one runs at a time."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._lock = threading.Lock()
        self._bars: list[Bar] | None = None
        self._feed: PaperFeed | None = None

    def status(self) -> FeedStatus | None:
        return None if self._feed is None else self._feed.status()

    def start(
        self,
        speed: float,
        start: datetime | None,
        end: datetime | None,
        symbols: Sequence[str] | None,
    ) -> FeedStatus:
        with self._lock:
            if self._feed is not None and self._feed.status().state is FeedState.RUNNING:
                raise ApiError(
                    409, "feed_running", "a paper feed is already running; stop it first"
                )
            bars = _select(self._dataset(), start, end, symbols)
            services = self._services
            feed = PaperFeed(
                services.application,
                bars,
                simulated_broker,
                services.broadcaster.publish,
                speed=speed,
                now=services.clock,
            )
            self._feed = feed
            services.start_background("paper-feed", feed.run)
            return feed.status()

    def stop(self, timeout: float = 5.0) -> FeedStatus | None:
        """Ask the feed to stop and wait up to `timeout` s for it (None: there is no feed)."""
        feed = self._feed
        if feed is None:
            return None
        feed.stop()
        feed.wait(timeout)
        return feed.status()

    def _dataset(self) -> list[Bar]:
        if self._bars is None:
            names = self._services.settings.bars_dataset.split(",")
            try:
                self._bars = load_bars([Path(n.strip()) for n in names if n.strip()])
            except BarsFileError as exc:
                raise ApiError(503, "dataset_unavailable", str(exc)) from None
        return self._bars


def _select(
    bars: list[Bar],
    start: datetime | None,
    end: datetime | None,
    symbols: Sequence[str] | None,
) -> list[Bar]:
    if symbols is not None:
        unknown = sorted(set(symbols) - {bar.symbol for bar in bars})
        if unknown:
            raise ApiError(422, "nothing_to_feed", f"no bars for {', '.join(unknown)}")
    wanted = None if symbols is None else set(symbols)
    selected = [
        bar
        for bar in bars
        if (start is None or bar.timestamp >= start)
        and (end is None or bar.timestamp < end)
        and (wanted is None or bar.symbol in wanted)
    ]
    if not selected:
        raise ApiError(422, "nothing_to_feed", "no bars in the dataset match the range and symbols")
    return selected
