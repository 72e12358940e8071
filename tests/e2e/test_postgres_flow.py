"""On PostgreSQL, through real server processes: HTTP, the WebSocket and the projection CLI.

create -> start -> replayed bars -> the fills show up in /api/trades and on the WebSocket, the
same ones the event store holds; a projection run killed with SIGKILL half-way resumes with no
row missing or doubled; a rebuild from position 0 ends with identical rows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.sync.client import ClientConnection, connect

from infrastructure.bootstrap import build_application
from infrastructure.tokens import TokenStore
from projections.db import ReadModelDatabase
from tests.integration.projections_support import FILL_TOPICS, dump, notifications
from tests.servers import first_health, free_port

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
OPENBELL = str(Path(sys.executable).parent / "openbell")
SAMPLE_BARS = ROOT / "data" / "sample" / "bars.csv"
BOTS = ROOT / "data" / "sample" / "bots"
FIRST_TWO_DAYS = {"speed": 0, "end": "2024-11-02T00:00:00Z"}
TIMEOUT = 30.0


@contextmanager
def serve(url: str, run_projections: bool) -> Iterator[httpx.Client]:
    """`openbell serve` on a free port, as its own process; an authenticated client for it."""
    port = free_port()
    env = os.environ | {
        "OPENBELL_BARS_DATASET": str(SAMPLE_BARS),
        "OPENBELL_RUN_PROJECTIONS": "true" if run_projections else "false",
    }
    server = subprocess.Popen(
        [OPENBELL, "--database-url", url, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = ReadModelDatabase(url)
    try:
        tokens = TokenStore(db)
        tokens.ensure_table()  # the server may not have made it yet
        _, token = tokens.create("e2e")
    finally:
        db.close()
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(
            base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=TIMEOUT
        ) as http:
            assert first_health(base, TIMEOUT, server).status_code == 200
            http.headers["X-Test-Token"] = token  # for the WebSocket's auth message
            yield http
    finally:
        server.terminate()
        server.wait(timeout=TIMEOUT)


def create_and_start(http: httpx.Client, config_file: str) -> str:
    created = http.post("/api/bots", json=json.loads((BOTS / config_file).read_text()))
    assert created.status_code == 201, created.text
    bot_id: str = created.json()["bot_id"]
    started = http.post(f"/api/bots/{bot_id}/start")
    assert started.status_code == 200, started.text
    return bot_id


def feed(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    started = http.post("/api/market/replay", json=body)
    assert started.status_code == 202, started.text
    deadline = time.monotonic() + TIMEOUT
    while (status := http.get("/api/market/replay").json())["state"] == "running":
        assert time.monotonic() < deadline, f"the feed still runs: {status}"
        time.sleep(0.05)
    assert status["state"] == "finished" and status["error"] is None, status
    return status


def every_trade(http: httpx.Client, after: int) -> list[dict[str, Any]]:
    """All pages of /api/trades, once the read models include position `after`."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"after": after, "limit": 200, "sort": "timestamp"}
    while True:
        page = http.get("/api/trades", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        items.extend(body["items"])
        if body["next_cursor"] is None:
            return items
        params["cursor"] = body["next_cursor"]


def stored_fills(url: str) -> tuple[list[int], int]:
    """The notification ids of every fill in the event store, and the store's head."""
    app = build_application(url)
    try:
        return [n.id for n in notifications(app, FILL_TOPICS)], app.recorder.max_notification_id()
    finally:
        app.close()


def receive(ws: ClientConnection) -> dict[str, Any]:
    while (message := orjson.loads(ws.recv(timeout=TIMEOUT)))["type"] == "ping":
        pass
    return message  # type: ignore[no-any-return]


def test_fills_reach_the_trades_query_and_the_websocket(postgres_url: str) -> None:
    with serve(postgres_url, run_projections=True) as http:
        bot_id = create_and_start(http, "rsi_macd.json")
        ws_url = str(http.base_url).replace("http://", "ws://") + "/ws"
        with connect(ws_url, open_timeout=TIMEOUT) as ws:
            ws.send(orjson.dumps({"type": "auth", "token": http.headers["X-Test-Token"]}).decode())
            assert receive(ws)["type"] == "authenticated"
            ws.send(
                orjson.dumps({"type": "subscribe", "topics": ["trades"], "after": None}).decode()
            )
            assert receive(ws)["type"] == "subscribed"

            feed(http, FIRST_TWO_DAYS)
            fills, head = stored_fills(postgres_url)
            assert fills, "the bot traded nothing on two days of sample bars"
            live = [receive(ws) for _ in fills]

        assert [m["position"] for m in live] == fills  # every fill once, in store order
        assert {m["topic"] for m in live} == {"trades"} and {m["bot_id"] for m in live} == {bot_id}
        trades = every_trade(http, after=head)
        assert sorted(t["id"] for t in trades) == fills
        by_id = {t["id"]: t for t in trades}
        for message in live:
            trade, data = by_id[message["position"]], message["data"]
            assert trade["order_id"] == data["client_order_id"]
            assert (trade["quantity"], trade["price"]) == (data["qty"], data["price"])


def test_a_killed_projection_run_resumes_and_a_rebuild_gives_the_same_rows(
    postgres_url: str,
) -> None:
    with serve(postgres_url, run_projections=False) as http:
        create_and_start(http, "rsi_macd.json")
        create_and_start(http, "trend_bands.json")
        feed(http, FIRST_TWO_DAYS)
        fills, head = stored_fills(postgres_url)
        assert fills

        db = ReadModelDatabase(postgres_url)
        try:
            # Small batches so the run is still going when it is killed.
            run = subprocess.Popen(
                [OPENBELL, "--database-url", postgres_url, "projections", "run", "--batch-size=3"],
                stdout=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + TIMEOUT
            while not any(tracked(db).values()):
                assert run.poll() is None, "the projection run ended before it could be killed"
                assert time.monotonic() < deadline
                time.sleep(0.01)
            run.send_signal(signal.SIGKILL)
            run.wait(timeout=TIMEOUT)
            at_kill = tracked(db)
            assert min(at_kill.values()) < head, f"nothing left to resume: {at_kill}"

            resumed = subprocess.run(
                [OPENBELL, "--database-url", postgres_url, "projections", "run", "--json"],
                capture_output=True,
                text=True,
                timeout=TIMEOUT * 4,
                check=True,
            )
            report = json.loads(resumed.stdout)
            assert report["applied"] > 0
            assert set(tracked(db).values()) == {head}

            trades = every_trade(http, after=head)
            assert sorted(t["id"] for t in trades) == fills  # none missing, none doubled
            resumed_rows = dump(db)

            subprocess.run(
                [OPENBELL, "--database-url", postgres_url, "projections", "rebuild"],
                capture_output=True,
                timeout=TIMEOUT * 4,
                check=True,
            )
            assert dump(db) == resumed_rows
            assert every_trade(http, after=head) == trades
        finally:
            db.close()


def tracked(db: ReadModelDatabase) -> dict[str, int]:
    return {r["projection"]: int(r["position"]) for r in db.query("SELECT * FROM rm_tracking")}
