"""`openbell up` (what `make run` runs): sample replayed, token printed, API served."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

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


def start_up_with_live_demo(tmp_path: Path) -> tuple[subprocess.Popen[str], str, str]:
    """`openbell up --live-demo` (what `make run` runs) on a store in `tmp_path`, serving."""
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
    token = printed_token(up_banner(process))
    base = f"http://127.0.0.1:{port}"
    assert first_health(base, 30).status_code == 200
    return process, base, token


def demo_simulator(tmp_path: Path) -> str:
    """The simulator's URL, once the demo's log says the live trader trades through it."""
    deadline = time.monotonic() + 15
    while "openbell live: paper trading through" not in (
        log := (tmp_path / "var" / "live-demo.log").read_text()
    ):
        assert time.monotonic() < deadline, f"the live trader did not start:\n{log}"
        time.sleep(0.2)
    return log.split("Uvicorn running on ", 1)[1].split()[0]


def gone(url: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{url}/admin/state", timeout=1)
        except httpx.TransportError:
            return True
        time.sleep(0.2)
    return False


def test_up_with_the_live_demo_trades_through_the_simulator_within_a_minute(tmp_path: Path) -> None:
    """The simulator and the live trader start beside the API, the demo's live bots fill orders
    within a minute, and a SIGTERM to `up` stops both children."""
    process, base, token = start_up_with_live_demo(tmp_path)
    try:
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
    assert gone(demo_simulator(tmp_path), 2)  # stopped with `up`, before it exited


def test_a_killed_up_leaves_no_simulator_or_trader_running(tmp_path: Path) -> None:
    process, _, _ = start_up_with_live_demo(tmp_path)
    simulator = demo_simulator(tmp_path)
    process.kill()  # no chance to stop its children itself
    process.wait(timeout=10)
    assert gone(simulator, 15)
