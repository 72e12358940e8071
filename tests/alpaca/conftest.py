"""The Alpaca simulator on a free 127.0.0.1 port, with the real alpaca-py clients pointed at it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from domain.bars import BAR_LENGTH, Bar
from infrastructure.alpaca.clients import trading_stream
from infrastructure.alpaca.config import AlpacaConfig
from infrastructure.alpaca_sim.runner import RunningSim
from infrastructure.alpaca_sim.server import SimOptions
from infrastructure.bars_io import load_bars
from tests.alpaca.generated_session import BARS, OPEN

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "bars.csv"


@pytest.fixture(scope="session")
def sample_bars() -> list[Any]:
    return load_bars([SAMPLE])


class Sim:
    """A running simulator and its admin endpoints."""

    def __init__(self, running: RunningSim) -> None:
        self.running, self.url = running, running.url
        self.config = AlpacaConfig.for_simulator(running.url)

    def step(self, minutes: int = 1) -> dict[str, Any]:
        return self.post("/admin/clock", {"advance": 60 * minutes})

    def faults(self, **faults: Any) -> dict[str, Any]:
        return self.post("/admin/faults", faults)

    def state(self) -> dict[str, Any]:
        return requests.get(f"{self.url}/admin/state", timeout=5).json()  # type: ignore[no-any-return]

    def orders(self) -> list[dict[str, Any]]:
        return requests.get(f"{self.url}/admin/orders", timeout=5).json()  # type: ignore[no-any-return]

    def positions(self) -> dict[str, int]:
        """Shares held per symbol in the simulator's account."""
        return {s: h.qty for s, h in self.running.sim.exchange.positions.items() if h.qty}

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(f"{self.url}{path}", json=body, timeout=5)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def sim(sample_bars: list[Any]) -> Iterator[Sim]:
    with RunningSim(sample_bars) as running:
        yield Sim(running)


def wait_for(check: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def day_sim() -> Iterator[Sim]:
    """The generated session (`generated_session.BARS`), the clock at its open."""
    with RunningSim(BARS, SimOptions(start=OPEN)) as running:
        yield Sim(running)


SCRIPT_OPEN = datetime(2024, 10, 31, 13, 30, tzinfo=UTC)  # a Thursday's open, New York time


def scripted_bars(symbol: str, *minutes: tuple[str, str, str, str]) -> list[Bar]:
    """One bar per (open, high, low, close), minute by minute from `SCRIPT_OPEN`."""
    return [
        Bar(symbol, SCRIPT_OPEN + n * BAR_LENGTH, *(Decimal(p) for p in prices), 1000)
        for n, prices in enumerate(minutes)
    ]


@pytest.fixture
def holding_sim() -> Iterator[Callable[..., Sim]]:
    """Start a simulator over scripted bars whose account already holds `held` shares."""
    started: list[RunningSim] = []

    def start(bars: list[Bar], held: int) -> Sim:
        position = (bars[0].symbol, held, bars[0].open)
        started.append(RunningSim(bars, SimOptions(start=SCRIPT_OPEN, positions=(position,))))
        return Sim(started[-1])

    yield start
    for running in started:
        running.close()


class TradeUpdates:
    """The simulator's trade_updates as the stream delivers them (raw dicts), on a thread."""

    def __init__(self, sim: Sim) -> None:
        self.received: list[dict[str, Any]] = []
        self._stream = trading_stream(sim.config, min_backoff=0.05)
        self._stream.subscribe_trade_updates(self._on_update)
        self._thread = threading.Thread(target=self._stream.run, daemon=True)
        self._thread.start()
        wait_for(lambda: sim.state()["stream_clients"]["trading"], what="the trading stream")

    async def _on_update(self, message: Any) -> None:
        self.received.append(message["data"])

    def wait(self, count: int) -> list[dict[str, Any]]:
        wait_for(lambda: len(self.received) >= count, what=f"{count} trade updates")
        return self.received

    def close(self) -> None:
        self._stream.stop()
        self._thread.join(timeout=1)


@pytest.fixture
def trade_updates() -> Iterator[Callable[[Sim], TradeUpdates]]:
    opened: list[TradeUpdates] = []

    def listen(sim: Sim) -> TradeUpdates:
        opened.append(TradeUpdates(sim))
        return opened[-1]

    yield listen
    for updates in opened:
        updates.close()
