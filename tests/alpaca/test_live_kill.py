"""kill -9 the live trader (a real `openbell live` process) mid-session, then restart it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from application.service import OpenbellApplication
from tests.alpaca.conftest import Sim, wait_for
from tests.alpaca.live_support import OPEN, assert_books_match, events_of, store_with_sample_bots

ROOT = Path(__file__).resolve().parents[2]
SPEED = 600  # market seconds per second: a minute every 0.1 s


def _start(sim: Sim, url: str, log: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "OPENBELL_ALPACA_KEY_ID": "sim-key",
        "OPENBELL_ALPACA_SECRET": "sim-secret",
        "OPENBELL_ALPACA_TRADING_URL": sim.url,
        "OPENBELL_ALPACA_DATA_URL": sim.url,
        "OPENBELL_ALPACA_DATA_STREAM_URL": f"{sim.running.ws_url}/v2/iex",
        "OPENBELL_ALPACA_TRADING_STREAM_URL": f"{sim.running.ws_url}/stream",
    }
    sim.post("/admin/clock", {"speed": 0})  # the market waits while the trader starts
    process = subprocess.Popen(
        [sys.executable, "-m", "infrastructure.cli.main", "--database-url", url, "live",
         "--reconnect-backoff", "0.05"],
        cwd=ROOT, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    streams = {"data": 1, "trading": 1}
    wait_for(lambda: sim.state()["stream_clients"] == streams, 20, "the trader's streams")
    sim.post("/admin/clock", {"speed": SPEED})
    return process


def _market(sim: Sim) -> datetime:
    return datetime.fromisoformat(sim.state()["now"])


def _busy(app: OpenbellApplication, ids: list) -> bool:
    return any(app.get_bot(i).orders for i in ids)


def test_kill_9_mid_session_and_restart_doubles_no_order_and_loses_no_fill(sim, tmp_path):
    url = f"sqlite:///{tmp_path}/live.sqlite"
    app, ids = store_with_sample_bots(url)
    log = tmp_path / "live.log"
    first = _start(sim, url, log)
    wait_for(
        lambda: _market(sim) >= OPEN + timedelta(minutes=30) and _busy(app, ids),
        30,
        "working orders mid-session",
    )
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    killed_at = _market(sim)
    wait_for(lambda: _market(sim) >= killed_at + timedelta(minutes=8), 10, "time to pass")

    second = _start(sim, url, log)
    wait_for(lambda: _market(sim) >= OPEN + timedelta(minutes=95), 30, "the session to go on")
    sim.post("/admin/clock", {"speed": 0})
    second.send_signal(signal.SIGTERM)
    assert second.wait(20) == 0, log.read_text()[-3000:]

    submitted = assert_books_match(app, sim, ids)
    assert len(submitted) >= 6, log.read_text()[-3000:]
    events = events_of(app, ids)
    restarts = [e for e in events if type(e).__name__ == "Reconciled"]
    assert len(restarts) == 2 * len(ids)
    # The second start found what the kill left: orders still open, filled or ended meanwhile.
    found = {k: v for e in restarts if e.timestamp > OPEN for k, v in e.findings.items()}
    assert found
