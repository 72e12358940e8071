"""`openbell up` (what `make run` runs): sample replayed, token printed, API served."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.servers import first_health, free_port, printed_token, up_banner


def test_up_replays_the_sample_prints_a_token_and_serves_the_api(tmp_path: Path) -> None:
    port = free_port()
    script = Path(sys.executable).parent / "openbell"
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    process = subprocess.Popen(
        [str(script), "--database-url", url, "up", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = up_banner(process)
        token = printed_token(lines)
        assert f"http://127.0.0.1:{port}/" in lines[-1]
        base = f"http://127.0.0.1:{port}"
        assert first_health(base, 30).status_code == 200
        created = httpx.post(
            f"{base}/api/bots",
            json={
                "name": "from-up",
                "capital": 1000,
                "symbols": ["AAPL"],
                "indicators": {"RSI": {}},
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert created.status_code == 201, created.text
        assert httpx.post(f"{base}/api/bots", json={}, timeout=5).status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_up_with_the_live_demo_trades_through_the_simulator_within_a_minute(tmp_path: Path) -> None:
    """What `make run` runs: the simulator and the live trader start beside the API, the demo's
    live bots fill orders within a minute, and stopping `up` stops both children."""
    port = free_port()
    script = Path(sys.executable).parent / "openbell"
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    process = subprocess.Popen(
        [str(script), "--database-url", url, "up", "--port", str(port), "--live-demo"],
        cwd=tmp_path,  # the demo's log goes to var/ under the working directory
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        token = printed_token(up_banner(process))
        base = f"http://127.0.0.1:{port}"
        assert first_health(base, 30).status_code == 200
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 60
        while True:
            bots = httpx.get(f"{base}/api/bots", headers=headers, timeout=5).json()
            live = {b["name"]: b for b in bots if b["name"].startswith("live ")}
            if live and any(b["trades"] > 0 for b in live.values()):
                break
            assert time.monotonic() < deadline, f"no live demo bot traded within a minute: {live}"
            time.sleep(1)
        assert len(live) == 3 and all(b["status"] == "running" for b in live.values())
        trader = next(b for b in live.values() if b["trades"] > 0)
        fills = httpx.get(
            f"{base}/api/trades", params={"bot_id": trader["id"]}, headers=headers, timeout=5
        ).json()["items"]
        assert fills and all(f["order_id"].startswith("ob-") for f in fills)
    finally:
        process.terminate()
        process.wait(timeout=30)
    log = (tmp_path / "var" / "live-demo.log").read_text()
    assert "openbell live: paper trading through http://127.0.0.1:" in log
    simulator = log.split("Uvicorn running on ", 1)[1].split()[0]
    with pytest.raises(httpx.TransportError):  # stopped with `up`
        httpx.get(f"{simulator}/admin/state", timeout=2)
