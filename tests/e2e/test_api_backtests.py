"""Backtests over HTTP: queued, run in the background into a store of their own, read back."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from fastapi.testclient import TestClient

from application.backtest_records import BacktestRecord, BacktestStatus
from application.backtests import INTERRUPTED
from application.bot_config import parse_bot_config
from application.replay import replay
from infrastructure.backtest_registry import SqlBacktestRegistry
from infrastructure.backtest_stores import BacktestStores
from infrastructure.bars_io import load_bars
from infrastructure.bootstrap import build_application
from infrastructure.cli.commands import dataset_id
from infrastructure.cli.http_app import create_app
from infrastructure.settings import Settings
from infrastructure.sim_broker import SimulatedBroker, SimulatorCosts
from projections.db import ReadModelDatabase
from tests.e2e.test_api_commands import assert_error, issue_token

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
CONFIGS: list[dict[str, Any]] = [
    json.loads(path.read_text()) for path in sorted((SAMPLE / "bots").glob("*.json"))
]
FILL_TOPICS = ("domain.bot:Bot.OrderFilled", "domain.bot:Bot.OrderPartiallyFilled")
WAIT_SECONDS = 60


@dataclass
class Backtesting:
    client: TestClient
    url: str
    token: str
    bars_dir: Path
    messages: list[dict[str, Any]] = field(default_factory=list)

    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def post(self, body: dict[str, Any]) -> Any:
        return self.client.post("/api/backtests", json=body, headers=self.auth())

    def get(self, path: str = "", **params: Any) -> Any:
        return self.client.get(f"/api/backtests{path}", params=params, headers=self.auth())

    def submit(self, body: dict[str, Any]) -> str:
        response = self.post(body)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "queued"
        return str(response.json()["id"])

    def wait(self, backtest_id: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            response = self.get(f"/{backtest_id}")
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if body["status"] in ("finished", "failed"):
                return body
            time.sleep(0.05)
        raise AssertionError(f"backtest {backtest_id} did not finish in {WAIT_SECONDS} s")

    def progress(self, backtest_id: str) -> list[dict[str, Any]]:
        """The messages of one backtest, once its last one (finished or failed) arrived."""
        topic = f"backtest:{backtest_id}"
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            mine = [m for m in list(self.messages) if m["topic"] == topic]
            if mine and mine[-1]["status"] in ("finished", "failed"):
                return mine
            time.sleep(0.02)
        raise AssertionError(f"no final message on {topic}")


def start(url: str, bars_dir: Path) -> Iterator[Backtesting]:
    settings = Settings(_env_file=None, database_url=url, bars_dataset=str(bars_dir / "bars.csv"))
    app = create_app(url, settings)
    token = issue_token(url)
    with TestClient(app) as client:
        testing = Backtesting(client, url, token, bars_dir)
        unsubscribe = app.state.services.broadcaster.subscribe(
            lambda _, message: testing.messages.append(message)
        )
        try:
            yield testing
        finally:
            unsubscribe()
            setup = app.state.backtests
            for record in setup.backtests.recent(200):
                setup.stores.drop(record.id)


@pytest.fixture
def bars_dir(tmp_path: Path) -> Path:
    """The sample bars, and `small.csv`: its first three days (Oct 31, Nov 1, Nov 4)."""
    directory = tmp_path / "bars"
    directory.mkdir()
    shutil.copy(SAMPLE / "bars.csv", directory / "bars.csv")
    lines = (SAMPLE / "bars.csv").read_text().splitlines(keepends=True)
    (directory / "small.csv").write_text("".join(lines[: 1 + 3 * 1170]))
    (tmp_path / "secret.csv").write_text("not bars\n")
    return directory


@pytest.fixture
def bt(store_url: str, bars_dir: Path) -> Iterator[Backtesting]:
    yield from start(store_url, bars_dir)


def direct_replay(path: Path, data_id: str, costs: SimulatorCosts, first: int = 0) -> Any:
    """The same replay without the API, into a fresh in-memory store: digests and fill counts."""
    bars = load_bars([path])[first:]
    app = build_application("memory:")
    try:
        result = replay(
            app,
            bars,
            [parse_bot_config(c) for c in CONFIGS],
            lambda clock: SimulatedBroker(clock, costs),
            data_id,
        )
        fills = {
            str(bot.id): sum(
                1 for e in app.recorder.select_events(bot.id) if e.topic in FILL_TOPICS
            )
            for bot in result.bots
        }
    finally:
        app.close()
    return {str(b.id): b.digest for b in result.bots}, fills


def all_trades(bt: Backtesting, backtest_id: str) -> list[dict[str, Any]]:
    trades, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 500} | ({"cursor": cursor} if cursor else {})
        response = bt.get(f"/{backtest_id}/trades", **params)
        assert response.status_code == 200, response.text
        trades += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return trades


def test_a_backtest_runs_in_the_background_and_matches_a_direct_replay(bt):
    full_id = bt.submit({"configs": CONFIGS})
    # Queued behind the first: a named dataset, sliced, with costs.
    sliced_id = bt.submit(
        {
            "configs": CONFIGS,
            "dataset": "small.csv",
            "start": "2024-11-01T09:30:00",  # naive: New York time
            "commission_per_share": "0.005",
            "commission_min": "1",
        }
    )
    full, sliced = bt.wait(full_id), bt.wait(sliced_id)
    assert full["status"] == "finished", full["error"]
    assert sliced["status"] == "finished", sliced["error"]

    # Determinism: the same bars and configs give the same bot ids and events as a direct replay.
    content_id = dataset_id([bt.bars_dir / "bars.csv"])
    assert full["summary"]["dataset_id"] == content_id
    digests, fills = direct_replay(bt.bars_dir / "bars.csv", content_id, SimulatorCosts())
    assert {b["id"]: b["digest"] for b in full["summary"]["bots"]} == digests
    assert full["bars_total"] == full["bars_done"] == full["summary"]["bars"] == 6480
    assert full["dataset"] == "bars.csv"
    if bt.url.startswith("sqlite"):
        store = Path(bt.url.removeprefix("sqlite:///")).parent / "backtests" / f"{full_id}.sqlite"
        assert full["store_url"] == f"sqlite:///{store}" and store.is_file()
    else:
        assert full["store_url"].endswith(f"schema=bt_{UUID(full_id).hex}")

    costs = SimulatorCosts(Decimal("0.005"), Decimal("1"))
    sliced_digests, sliced_fills = direct_replay(
        bt.bars_dir / "small.csv", sliced["summary"]["dataset_id"], costs, first=1170
    )
    assert {b["id"]: b["digest"] for b in sliced["summary"]["bots"]} == sliced_digests
    assert sliced["bars_total"] == sliced["summary"]["bars"] == 2 * 1170
    assert sliced["summary"]["dataset_id"].startswith(dataset_id([bt.bars_dir / "small.csv"]))
    assert any(Decimal(b["fees"]) > 0 for b in sliced["summary"]["bots"])
    assert sliced["options"]["costs"] == {"commission_per_share": "0.005", "commission_min": "1"}

    # Fills: the backtest's own read models hold exactly the replay's fills.
    trades = all_trades(bt, full_id)
    assert len(trades) == sum(fills.values()) > 100
    assert len({t["id"] for t in trades}) == len(trades)
    for bot_id, count in fills.items():
        assert sum(1 for t in trades if t["bot_id"] == bot_id) == count
    assert full["trades"]["items"] == trades[:100] and full["trades"]["next_cursor"]
    assert len(all_trades(bt, sliced_id)) == sum(sliced_fills.values())

    # Equity curves and drawdown per bot, starting at the bot's capital.
    capitals = {c["name"]: Decimal(c["capital"]) for c in CONFIGS}
    for bot in full["summary"]["bots"]:
        curve = full["equity"][bot["id"]]
        assert Decimal(curve[0]["equity"]) == capitals[bot["name"]]
        assert Decimal(curve[-1]["equity"]) == capitals[bot["name"]] + Decimal(bot["realized_pnl"])
        drawdown = full["drawdown"][bot["id"]]
        assert len(drawdown["points"]) == len(curve) and Decimal(drawdown["max"]) >= 0

    # Progress reached the broadcaster: queued, running with bar counts, finished with the summary.
    messages = bt.progress(full_id)
    assert messages[0]["status"] == "queued" and messages[-1]["status"] == "finished"
    assert messages[-1]["summary"] == full["summary"]
    done = [m["bars_done"] for m in messages if m["status"] == "running"]
    # Every 2,000 bars, at the end of the minute (three symbols' bars) that reaches them.
    assert any(2000 <= d < 2003 for d in done) and 6480 in done and done == sorted(done)
    assert {m["bars_total"] for m in messages} == {6480}
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))

    listed = bt.get().json()["items"]
    assert [item["id"] for item in listed] == [sliced_id, full_id]  # newest first
    assert listed[0]["status"] == "finished" and "trades" not in listed[0]


def test_invalid_requests_are_422_naming_the_field_and_queue_nothing(bt):
    def rejected(body: dict[str, Any], field: str | None) -> str:
        response = bt.post(body)
        return str(assert_error(response, 422, "validation_error", field)["message"])

    bad_capital = [CONFIGS[0], CONFIGS[1] | {"capital": -5}]
    assert "greater than 0" in rejected({"configs": bad_capital}, "configs.1.capital")
    rejected({"configs": []}, "configs")
    rejected({"configs": CONFIGS * 4}, "configs")
    rejected({}, "configs")
    unknown = CONFIGS[0] | {"symbols": ["AAPL", "ZZZZ"]}
    assert "ZZZZ" in rejected({"configs": [unknown]}, "configs.0.symbols")
    rejected({"configs": [CONFIGS[0], CONFIGS[0]]}, "configs.1.name")
    for traversal in ("../secret.csv", "/etc/passwd", "bars/../bars.csv", "sub/bars.csv", ".."):
        rejected({"configs": CONFIGS, "dataset": traversal}, "dataset")
    assert "nope.csv" in rejected({"configs": CONFIGS, "dataset": "nope.csv"}, "dataset")
    rejected({"configs": CONFIGS, "dataset": "notes.txt"}, "dataset")
    window = {"start": "2024-11-05T00:00:00Z", "end": "2024-11-04T00:00:00Z"}
    rejected({"configs": CONFIGS} | window, "end")
    rejected({"configs": CONFIGS, "start": "2030-01-01T00:00:00Z"}, "start")
    rejected({"configs": CONFIGS, "slippage_bps": "-1"}, "slippage_bps")
    rejected({"configs": CONFIGS, "commission_min": "NaN"}, "commission_min")
    rejected({"configs": CONFIGS, "path": "/etc/passwd"}, "path")
    assert bt.get().json()["items"] == []
    assert bt.messages == []


def test_unknown_malformed_and_anonymous(bt):
    missing = str(uuid4())
    assert_error(bt.get(f"/{missing}"), 404, "backtest_not_found")
    assert_error(bt.get(f"/{missing}/trades"), 404, "backtest_not_found")
    assert_error(bt.get("/not-a-uuid"), 422, "validation_error", "backtest_id")
    for response in (
        bt.client.post("/api/backtests", json={"configs": CONFIGS}),
        bt.client.get("/api/backtests"),
        bt.client.get(f"/api/backtests/{missing}"),
        bt.client.get("/api/backtests/not-a-uuid"),
        bt.client.post("/api/backtests", json={"configs": []}),
    ):
        assert_error(response, 401, "unauthenticated")


def test_a_restart_fails_what_was_left_queued(store_url, bars_dir):
    db = ReadModelDatabase(store_url)
    try:
        registry = SqlBacktestRegistry(db)
        registry.ensure_table()
        stale = BacktestRecord(
            id=UUID(int=7),
            status=BacktestStatus.RUNNING,
            created_at=datetime.now(UTC),
            dataset="bars.csv",
            configs=CONFIGS,
            options={},
            bars=6480,
            store_url="sqlite:///nowhere",
            progress=2000,
        )
        registry.add(stale)
    finally:
        db.close()
    for bt in start(store_url, bars_dir):
        body = bt.get(f"/{stale.id}").json()
        assert body["status"] == "failed" and body["error"] == INTERRUPTED
        assert body["bars_done"] == 2000 and body["finished_at"]
        assert_error(bt.get(f"/{stale.id}/trades"), 409, "backtest_not_finished")


def test_deleting_a_backtest_removes_its_record_and_store_but_not_while_it_runs(bt):
    slow = bt.submit({"configs": CONFIGS})
    queued = bt.submit({"configs": CONFIGS, "dataset": "small.csv"})
    busy = bt.client.delete(f"/api/backtests/{queued}", headers=bt.auth())
    assert busy.status_code == 409 and busy.json()["error"]["code"] == "backtest_running"
    assert bt.wait(slow)["status"] == "finished" and bt.wait(queued)["status"] == "finished"
    setup = bt.client.app.state.backtests  # type: ignore[attr-defined]
    assert setup.stores.exists(UUID(slow))

    gone = bt.client.delete(f"/api/backtests/{slow}", headers=bt.auth())
    assert gone.status_code == 204 and gone.content == b""
    assert not setup.stores.exists(UUID(slow))
    assert bt.get(f"/{slow}").status_code == 404
    assert [item["id"] for item in bt.get().json()["items"]] == [queued]  # the other is kept
    again = bt.client.delete(f"/api/backtests/{slow}", headers=bt.auth())
    assert again.status_code == 404 and again.json()["error"]["code"] == "backtest_not_found"
    anonymous = bt.client.delete(f"/api/backtests/{queued}")
    assert anonymous.status_code == 401 and bt.get(f"/{queued}").status_code == 200


def test_openapi_lists_the_backtest_routes(bt):
    schema = bt.client.get("/openapi.json").json()
    operations = {
        (method.upper(), path): op
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if path.startswith("/api/backtests")
    }
    assert {key: op["operationId"] for key, op in operations.items()} == {
        ("POST", "/api/backtests"): "backtests-create_backtest",
        ("GET", "/api/backtests"): "backtests-list_backtests",
        ("GET", "/api/backtests/{backtest_id}"): "backtests-get_backtest",
        ("DELETE", "/api/backtests/{backtest_id}"): "backtests-delete_backtest",
        ("GET", "/api/backtests/{backtest_id}/trades"): "backtests-backtest_trades",
    }
    assert all(op["security"] == [{"HTTPBearer": []}] for op in operations.values())
    assert all(op.get("description") for op in operations.values())
    assert "202" in operations["POST", "/api/backtests"]["responses"]


def test_stopping_the_server_fails_unfinished_backtests(store_url, bars_dir):
    settings = Settings(
        _env_file=None, database_url=store_url, bars_dataset=str(bars_dir / "bars.csv")
    )
    app = create_app(store_url, settings)
    headers = {"Authorization": f"Bearer {issue_token(store_url)}"}
    with TestClient(app) as client:
        ids = [
            client.post("/api/backtests", json={"configs": CONFIGS}, headers=headers).json()["id"]
            for _ in range(3)
        ]
    db = ReadModelDatabase(store_url)
    try:
        registry, stores = SqlBacktestRegistry(db), BacktestStores(db, settings)
        records = [registry.get(UUID(i)) for i in ids]
        for record in records:
            assert record is not None
            stores.drop(record.id)
            assert record.status in (BacktestStatus.FINISHED, BacktestStatus.FAILED)
            assert record.status is BacktestStatus.FINISHED or record.error == INTERRUPTED
        assert records[-1] is not None and records[-1].status is BacktestStatus.FAILED
    finally:
        db.close()
