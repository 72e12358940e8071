"""The live demo behind `openbell up --live-demo` (`make demo`): bots trading within a minute.

Starts `openbell alpaca-sim` over generated bars (the previous session as history, then the
traded session at 60x: the sample bots' 09:30-12:00 window passes in 2.5 minutes) and
`openbell live` against it, both as child processes of `openbell up`, which serves the API on
the same store. The demo bots ("live <sample name>") are created and started once per store.
Each run is a fresh simulated account on the session after the demo bots last traded, so the
simulator starts holding what the bots' own fills say they hold (else reconciliation would,
rightly, put them in error).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

import requests

from application.bot_config import parse_bot_config
from application.service import BotNotFound, OpenbellApplication, bot_id_for
from domain.bot import Bot, BotStatus
from domain.calendar import next_session, session_on
from domain.config import BotConfig
from domain.units import CENT, NEW_YORK
from infrastructure.bootstrap import build_application

SAMPLE_BOTS = Path(__file__).resolve().parents[2] / "data" / "sample" / "bots"
FIRST_DAY = date(2024, 11, 4)
_PR_SET_PDEATHSIG = 1  # prctl(2)
SYMBOLS = "AAPL,MSFT,SPY"
SPEED = 60


def start_live_demo(database_url: str, log_path: Path) -> Callable[[], None]:
    """Start the simulator and the live trader; returns what stops them both."""
    app = build_application(database_url)
    day = _next_day(app)
    bots = _demo_bots(app, day)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = log_path.open("ab")
    sim = _child(
        ["alpaca-sim", "--port", str(port), "--speed", "0", "--generate", SYMBOLS,
         "--day", day.isoformat(), "--history-days", "1", "--seed", str(day.toordinal())]
        + [f"--position={s}={q}@{p}" for s, (q, p) in _holdings(bots).items()],
        log,
    )  # fmt: skip
    _wait_up(base, sim)
    env = {
        "OPENBELL_ALPACA_KEY_ID": "sim-key",
        "OPENBELL_ALPACA_SECRET": "sim-secret",
        "OPENBELL_ALPACA_TRADING_URL": base,
        "OPENBELL_ALPACA_DATA_URL": base,
        "OPENBELL_ALPACA_DATA_STREAM_URL": f"ws://127.0.0.1:{port}/v2/iex",
        "OPENBELL_ALPACA_TRADING_STREAM_URL": f"ws://127.0.0.1:{port}/stream",
        "OPENBELL_LIVE_TRADING": "no",
    }
    ids = [str(bot.id) for bot in bots]
    live = _child(["--database-url", database_url, "live", "--bots", *ids], log, env)
    _start_clock(base, live)
    names = ", ".join(b.config.name for b in bots)
    print(f"Live demo: Alpaca simulator at {base} trading {day} at {SPEED}x; {len(ids)} bots")
    print(f"  ({names}); simulator and trader log: {log_path}")

    def stop() -> None:
        for child in (live, sim):
            child.terminate()
        for child in (live, sim):
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
        log.close()

    return stop


def _demo_configs() -> list[BotConfig]:
    configs = []
    for path in sorted(SAMPLE_BOTS.glob("*.json")):
        raw = json.loads(path.read_text())
        raw["name"] = f"live {raw['name']}"
        configs.append(parse_bot_config(raw))
    return configs


def _demo_bots(app: OpenbellApplication, day: date) -> list[Bot]:
    """Created (once) and started in market time: before the demo session opens."""
    bots = []
    session = session_on(day)
    assert session is not None
    now = (session.open - timedelta(minutes=30)).astimezone(UTC)
    for config in _demo_configs():
        bot_id = bot_id_for(config.name, "live-demo")
        try:
            bot = app.get_bot(bot_id)
        except BotNotFound:
            app.create_bot(bot_id, config, now)
            bot = app.get_bot(bot_id)
        if bot.status in (BotStatus.CREATED, BotStatus.STOPPED):
            app.run_command(bot_id, "start", now)
            bot = app.get_bot(bot_id)
        bots.append(bot)
    return bots


def _next_day(app: OpenbellApplication) -> date:
    """The session after the last one the demo bots saw (each run is a new trading day)."""
    seen = []
    for config in _demo_configs():
        try:
            seen.append(app.bot_events(bot_id_for(config.name, "live-demo"))[-1].timestamp)
        except BotNotFound:
            continue
    if not seen:
        return FIRST_DAY
    last = max(seen).astimezone(NEW_YORK)
    return next_session(last.replace(hour=23, minute=59)).day


def _holdings(bots: list[Bot]) -> dict[str, tuple[int, Decimal]]:
    held: dict[str, tuple[int, Decimal]] = {}
    for bot in bots:
        for symbol, position in bot.positions.items():
            qty, cost = held.get(symbol, (0, Decimal(0)))
            held[symbol] = (qty + position.qty, cost + position.cost)
    return {s: (q, (c / q).quantize(CENT)) for s, (q, c) in held.items() if q}


def _child(
    args: list[str], log: BinaryIO, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "infrastructure.cli.main", *args],
        cwd=Path(__file__).resolve().parents[2],
        env=os.environ | (env or {}),
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )


def _die_with_parent() -> None:
    """In the child before it runs: Linux sends it SIGTERM once `up` is gone, however `up` ended
    (a SIGKILL gives `up` no chance to stop it), so no trader is left running unwatched."""
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_up(base: str, sim: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and sim.poll() is None:
        try:
            requests.get(f"{base}/admin/state", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    raise RuntimeError("the Alpaca simulator did not start")


def _start_clock(base: str, live: subprocess.Popen[bytes]) -> None:
    """Let the market run once the trader listens (it warms up from the history first)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and live.poll() is None:
        clients = requests.get(f"{base}/admin/state", timeout=5).json()["stream_clients"]
        if clients["data"] and clients["trading"]:
            break
        time.sleep(0.1)
    requests.post(f"{base}/admin/clock", json={"speed": SPEED}, timeout=5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
