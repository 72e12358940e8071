"""The chaos test's schedule and its supervised trader.

A `plan` is drawn from the seed alone, in market time: how long each life of the trader runs
before its SIGKILL, which simulator faults are on meanwhile (and whether unused ones linger into
the next start-up), when the streams drop or go down, how far the market moves while the trader
is down, and which starts are killed again mid start-up. What a kill interrupts (a bar half
stored, an order sent but not answered) still depends on the machine, so a seed reproduces the
schedule, not every interleaving.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.alpaca.conftest import Sim

ROOT = Path(__file__).resolve().parents[2]
TRADER_TIMEOUT_S = 5.0  # infrastructure.alpaca.clients.trading_client's: held answers time out
_START_ATTEMPTS = 6


def _http_counts(name: str, low: int, high: int) -> Any:
    return lambda rng: {name: rng.randint(low, high)}


# Each fault as the simulator takes it (`infrastructure/alpaca_sim/faults.py`), drawn with its
# size; only those the running simulator knows are used.
FAULTS: dict[str, Any] = {
    "http_429": _http_counts("http_429", 1, 4),
    "http_500": _http_counts("http_500", 1, 3),
    "http_500_after": _http_counts("http_500_after", 1, 3),
    "timeouts": lambda rng: {"timeouts": 1, "timeout_ms": int(TRADER_TIMEOUT_S * 1000) + 500},
    "delay_ms": lambda rng: {"delay_ms": rng.randint(5, 60)},
    "delay_fills_ms": lambda rng: {"delay_fills_ms": rng.randint(100, 1500)},
    "reject_orders": _http_counts("reject_orders", 1, 2),
    "fill_on_cancel": None,  # its kind (a count or a flag) is read from the simulator
}


@dataclass(frozen=True, slots=True)
class Life:
    """One life of the trader: started (maybe killed once mid start-up first), run, killed."""

    run: timedelta  # market time from the resumed clock to the SIGKILL
    speed: float  # times CHAOS_SPEED: a faster market leaves the trader behind
    # The SIGKILL this many wall ms after the minute boundary `run` falls in, while the trader
    # stores a bar's decisions, sends their orders and takes the fills the new minute brought.
    after_bar_ms: float | None
    faults: dict[str, Any]  # set once the trader is up
    linger: bool  # counted faults left at the kill hit the next start-up
    drop_at: timedelta | None  # the streams dropped (they reconnect)
    outage: tuple[timedelta, timedelta] | None  # streams dropped and refused, from..to
    down: timedelta  # market time passing while the trader is down
    # Before this life, a start SIGKILLed this many seconds after its trading stream connected:
    # while it reconciles, warms up, protects what is held.
    startup_kill: float | None


@dataclass(frozen=True, slots=True)
class Plan:
    lives: list[Life]
    # The clean run at the end goes past every bot's window (everything flattened); else it
    # stops 20 market minutes after the last kill, bots holding positions and working exits.
    flat_end: bool


def plan(seed: int, known: dict[str, Any]) -> Plan:
    """16-19 lives, about 9 market minutes apart; faults on in a bit more than half."""
    rng = random.Random(f"chaos-plan:{seed}")
    count = rng.randint(16, 19)
    startup_kills = set(rng.sample(range(1, count), 3))
    lives = []
    for i in range(count):
        run = timedelta(seconds=rng.uniform(10, 14 * 60))
        speed = rng.choice((0.5, 1.0, 1.0, 2.0, 4.0))
        after_bar = rng.uniform(0.0, 40.0) if rng.random() < 0.5 else None
        faults = _faults(rng, known) if rng.random() < 0.6 else {}
        drop = run * rng.uniform(0.1, 0.9) if rng.random() < 0.2 else None
        outage = None
        if rng.random() < 0.15:
            start = rng.uniform(0.1, 0.6)
            outage = (run * start, run * (start + rng.uniform(0.1, 0.3)))
        down = timedelta(seconds=0 if rng.random() < 0.4 else rng.uniform(30, 6 * 60))
        startup = rng.uniform(0.0, 1.0) if i in startup_kills else None
        linger = rng.random() < 0.3
        lives.append(Life(run, speed, after_bar, faults, linger, drop, outage, down, startup))
    return Plan(lives, flat_end=rng.random() < 0.5)


def _faults(rng: random.Random, known: dict[str, Any]) -> dict[str, Any]:
    names = sorted(n for n in FAULTS if n in known)
    chosen: dict[str, Any] = {}
    for name in rng.sample(names, rng.randint(1, min(3, len(names)))):
        if name == "fill_on_cancel":
            flag = isinstance(known[name], bool)
            chosen[name] = True if flag else rng.randint(1, 3)
        else:
            chosen.update(FAULTS[name](rng))
    if rng.random() < 0.5:
        chosen["only"] = "/v2/orders"  # else every /v2/ request: lookups, history, positions
    return chosen


@dataclass
class Tally:
    """What the run did, printed with the seed."""

    kills: int = 0
    startup_kills: int = 0
    starts: int = 0
    exits: list[int] = field(default_factory=list)  # return codes of traders that ended alone
    hung: int = 0  # starts that never came up and were killed
    faults: Counter[str] = field(default_factory=Counter)
    drops: int = 0
    outages: int = 0


class Trader:
    """`openbell live` as a child process over the simulator: started, killed, stopped."""

    def __init__(self, sim: Sim, url: str, log: Path, tally: Tally, symbols: set[str]) -> None:
        self.sim, self.url, self.log, self.tally, self.symbols = sim, url, log, tally, symbols
        self.process: subprocess.Popen[bytes] | None = None
        self.env = os.environ | {
            "OPENBELL_ALPACA_KEY_ID": sim.running.sim.options.key,
            "OPENBELL_ALPACA_SECRET": sim.running.sim.options.secret,
            "OPENBELL_ALPACA_TRADING_URL": sim.url,
            "OPENBELL_ALPACA_DATA_URL": sim.url,
            "OPENBELL_ALPACA_DATA_STREAM_URL": f"{sim.running.ws_url}/v2/iex",
            "OPENBELL_ALPACA_TRADING_STREAM_URL": f"{sim.running.ws_url}/stream",
        }

    def start(self, kill_after: float | None = None) -> None:
        """Spawn (the market paused) and wait until both streams are up and subscribed; or, with
        `kill_after`, SIGKILL it that many seconds after its trading stream connected (its
        start-up then reconciles). A trader that ends alone or never comes up is counted and
        started again."""
        for _ in range(_START_ATTEMPTS):
            self._wait_streams(0, 0, "the killed trader's streams to close")
            self._spawn()
            if kill_after is not None:
                deadline = time.monotonic() + 30
                while self._alive() and time.monotonic() < deadline:
                    if self.sim.state()["stream_clients"]["trading"]:
                        break
                    time.sleep(0.01)
                time.sleep(kill_after)
                if self._alive():
                    self.kill(startup=True)
                return
            if self._wait_up():
                return
        raise AssertionError(f"the trader did not come up in {_START_ATTEMPTS} tries: {self.log}")

    def kill(self, startup: bool = False) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.process = None
        if startup:
            self.tally.startup_kills += 1
        else:
            self.tally.kills += 1

    def stop(self) -> int:
        """SIGTERM: the trader applies the fills it was told of, stores, and exits."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(60)
        self.process = None
        return code

    def close(self) -> None:
        """Whatever happened (a failed wait included), no trader outlives the test."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def _spawn(self) -> None:
        self.tally.starts += 1
        with self.log.open("ab") as log:
            log.write(f"\n---- start {self.tally.starts} ----\n".encode())
            self.process = subprocess.Popen(
                [sys.executable, "-m", "infrastructure.cli.main", "--database-url", self.url,
                 "live", "--reconnect-backoff", "0.05"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def _alive(self) -> bool:
        if self.process is None:
            return False
        code = self.process.poll()
        if code is None:
            return True
        self.tally.exits.append(code)
        self.process = None
        return False

    def _wait_up(self) -> bool:
        # Generous: a start-up may meet held answers (timeouts) and 429s on every request.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if not self._alive():
                return False
            state = self.sim.state()
            clients = state["stream_clients"]
            subscribed = self.symbols <= set(state["bar_subscriptions"])
            if clients == {"data": 1, "trading": 1} and subscribed:
                return True
            time.sleep(0.05)
        self.tally.hung += 1
        self.kill(startup=True)
        return False

    def _wait_streams(self, data: int, trading: int, what: str) -> None:
        deadline = time.monotonic() + 20
        while self.sim.state()["stream_clients"] != {"data": data, "trading": trading}:
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)


def market_now(sim: Sim) -> datetime:
    """Read in-process: cheap enough to poll for a kill moment every few milliseconds."""
    return sim.running.sim.clock.now()


def wait_market(sim: Sim, moment: datetime) -> None:
    while market_now(sim) < moment:
        time.sleep(0.003)


def log_tail(log: Path, lines: int = 60) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
