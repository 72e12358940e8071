"""The Alpaca simulator on a free 127.0.0.1 port, with the real alpaca-py clients pointed at it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

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
