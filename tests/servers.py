"""Servers the tests start as real processes: a free port, `openbell up`'s banner, /health."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def up_banner(process: subprocess.Popen[str]) -> list[str]:
    """What `openbell up` printed, up to its "Openbell is at" line (it serves from there)."""
    lines: list[str] = []
    assert process.stdout is not None
    while not any("Openbell is at" in line for line in lines):
        line = process.stdout.readline()
        assert line, "openbell up exited early:\n" + "".join(lines)
        lines.append(line)
    return lines


def printed_token(lines: list[str]) -> str:
    return next(line.strip() for line in lines if line.startswith("ob_"))


def first_health(
    base: str, seconds: float, process: subprocess.Popen[str] | None = None
) -> httpx.Response:
    """The server's first answer on /health, within `seconds` (and while `process` runs)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return httpx.get(f"{base}/health", timeout=2)
        except httpx.TransportError:
            if process is not None and process.poll() is not None:
                output = process.stderr.read() if process.stderr else ""
                raise AssertionError(f"the server exited: {output}") from None
            assert time.monotonic() < deadline, "the server did not come up"
            time.sleep(0.1)
