"""`openbell up` (what `make run` runs): sample replayed, token printed, API served."""

from __future__ import annotations

import subprocess
import sys
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
