"""`openbell up` (what `make run` runs): sample replayed, token printed, API served."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        lines: list[str] = []
        assert process.stdout is not None
        while not any("Openbell is at" in line for line in lines):
            line = process.stdout.readline()
            assert line, "openbell up exited early:\n" + "".join(lines)
            lines.append(line)
        token = next(line.strip() for line in lines if line.startswith("ob_"))
        assert f"http://127.0.0.1:{port}/" in lines[-1]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"{base}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.2)
        assert health.status_code == 200
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
