"""The dashboard end to end in a real browser: `openbell up` on a free port with a store of its
own, and `ui/e2e/run.mjs` driving Debian's chromium through playwright-core against it.

Needs Node.js, `ui/node_modules` and `ui/dist` (`make ui`) and /usr/bin/chromium: skipped
without them locally, a failure under CI=true.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.servers import first_health, free_port, printed_token, up_banner

ROOT = Path(__file__).resolve().parents[2]
UI = ROOT / "ui"
CHROMIUM = os.environ.get("OPENBELL_CHROMIUM", "/usr/bin/chromium")
START_SECONDS = 60
E2E_SECONDS = 240


def missing_tools() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed"
    if not (UI / "node_modules" / "playwright-core").is_dir():
        return "ui/node_modules is missing: run `make ui`"
    if not (UI / "dist" / "index.html").is_file():
        return "ui/dist is not built: run `make ui`"
    if not Path(CHROMIUM).is_file():
        return f"no chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`openbell up` (sample replayed, token printed) -> (base URL, token)."""
    missing = missing_tools()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"the browser tests must run under CI: {missing}")
        pytest.skip(missing)
    port = free_port()
    script = Path(sys.executable).parent / "openbell"
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    env = os.environ | {"OPENBELL_BARS_DATASET": str(ROOT / "data" / "sample" / "bars.csv")}
    process = subprocess.Popen(
        [str(script), "--database-url", url, "up", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        yield _wait_until_served(process, f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_until_served(process: subprocess.Popen[str], base: str) -> tuple[str, str]:
    token = printed_token(up_banner(process))
    assert first_health(base, START_SECONDS).status_code == 200
    return base, token


def test_dashboard_creates_starts_trades_audits_exports_and_backtests_in_chromium(
    served: tuple[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    base, token = served
    env = os.environ | {
        "OPENBELL_URL": base,
        "OPENBELL_TOKEN": token,
        "OPENBELL_CHROMIUM": CHROMIUM,
    }
    result = subprocess.run(
        ["node", "e2e/run.mjs"],
        cwd=UI,
        env=env,
        capture_output=True,
        text=True,
        timeout=E2E_SECONDS,
        check=False,
    )
    with capsys.disabled():  # the timings are for people reading the test run
        figures = [line for line in result.stdout.splitlines() if "figures" in line]
        print("\n" + "\n".join(figures))
    assert result.returncode == 0, result.stdout + result.stderr
