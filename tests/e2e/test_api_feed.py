"""Paper trading over HTTP: create -> start -> replayed bars -> trades in the read models."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from domain.bot import Bot
from projections.views import list_trades
from tests.e2e.test_api_commands import Api, assert_error, start_api

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_BARS = ROOT / "data" / "sample" / "bars.csv"
RSI_MACD = json.loads((ROOT / "data" / "sample" / "bots" / "rsi_macd.json").read_text())
FIRST_DAY = {"speed": 0, "end": "2024-11-01T00:00:00Z"}  # 1,170 bars: AAPL, MSFT, SPY
REPLAY = "/api/market/replay"


@pytest.fixture
def api(store_url: str) -> Iterator[Api]:
    yield from start_api(store_url, bars_dataset=str(SAMPLE_BARS))


def services(api: Api) -> Any:
    return api.client.app.state.services  # type: ignore[attr-defined]


def wait_for_end(api: Api, seconds: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = api.client.get(REPLAY, headers=api.auth()).json()
        if body["state"] != "running":
            return body
        time.sleep(0.05)
    raise AssertionError(f"the feed still runs after {seconds} s: {body}")


def test_a_bot_created_and_started_over_http_trades_the_replayed_bars(api):
    bars: list[dict[str, Any]] = []
    services(api).broadcaster.subscribe(lambda topic, message: bars.append(message))
    bot_id = api.create_bot(RSI_MACD)
    assert api.post(f"/api/bots/{bot_id}/start").status_code == 200
    assert api.client.get(REPLAY, headers=api.auth()).json()["state"] == "idle"

    started = api.post(REPLAY, json=FIRST_DAY)
    assert started.status_code == 202, started.text
    assert started.json()["state"] == "running" and started.json()["bars_total"] == 1170
    status = wait_for_end(api)
    assert status["state"] == "finished" and status["bars_fed"] == 1170 and status["bots"] == 1
    assert status["current_bar_time"] == "2024-10-31T19:59:00Z" and status["error"] is None

    events = services(api).application.bot_events(uuid.UUID(bot_id))
    assert [e for e in events if isinstance(e, Bot.OrderFilled)]
    services(api).projections.catch_up()
    trades, _ = list_trades(services(api).read_models, bot_id=bot_id)
    assert trades and {t["symbol"] for t in trades} <= {"AAPL", "MSFT"}
    page = api.client.get("/api/trades", params={"bot_id": bot_id}, headers=api.auth())
    assert page.status_code == 200 and len(page.json()["items"]) == len(trades)
    assert len(bars) == 1170 and bars[0]["topic"] in ("bars:AAPL", "bars:MSFT")
    assert set(bars[0]["bar"]) == {"symbol", "time", "open", "high", "low", "close", "volume"}


def test_one_feed_at_a_time_and_delete_stops_it(api):
    assert api.post(REPLAY, json={"speed": 1}).status_code == 202  # a second per bar
    assert_error(api.post(REPLAY, json={"speed": 0}), 409, "feed_running")
    stopped = api.client.delete(REPLAY, headers=api.auth())
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    assert api.post(REPLAY, json=FIRST_DAY | {"symbols": ["MSFT"]}).status_code == 202
    assert wait_for_end(api)["bars_fed"] == 390  # one of the three symbols


def test_feed_commands_need_a_token(api):
    assert_error(api.client.post(REPLAY, json={"speed": 0}), 401, "unauthenticated")
    assert_error(api.client.get(REPLAY), 401, "unauthenticated")
    assert_error(api.client.delete(REPLAY), 401, "unauthenticated")


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"speed": -1}, "validation_error", "speed"),
        (
            {"start": "2024-11-02T00:00:00Z", "end": "2024-11-01T00:00:00Z"},
            "validation_error",
            None,
        ),
        ({"symbols": ["AAPL", "TSLA"]}, "nothing_to_feed", None),
        ({"start": "2030-01-01T00:00:00"}, "nothing_to_feed", None),
        ({"start": "9999-12-31T23:59:00"}, "validation_error", None),  # past UTC's range
    ],
)
def test_a_feed_with_nothing_to_feed_is_422(api, body, code, field):
    assert_error(api.post(REPLAY, json=body), 422, code, field)


def test_commands_sent_while_the_feed_runs_reach_it(api):
    first = api.create_bot(RSI_MACD)
    assert api.post(f"/api/bots/{first}/start").status_code == 200
    hour = {"start": "2024-10-31T09:30:00", "end": "2024-10-31T10:30:00", "speed": 3000}
    assert api.post(REPLAY, json=hour).status_code == 202  # 60 minutes, 0.02 s each
    second = api.create_bot(RSI_MACD | {"name": "joins-late"})
    for path in (f"{second}/start", f"{first}/pause", f"{first}/resume"):
        response = api.post(f"/api/bots/{path}")
        # A command racing the feed's save of the same bot may be refused: retry, as clients do.
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "concurrent_update"
            response = api.post(f"/api/bots/{path}")
        assert response.status_code == 200, response.text
        time.sleep(0.1)
    status = wait_for_end(api)
    assert status["state"] == "finished" and status["bots"] == 2 and status["bars_fed"] == 180
    kinds = [type(e).__name__ for e in services(api).application.bot_events(uuid.UUID(first))]
    assert kinds.index("Paused") < kinds.index("Resumed")


def test_openapi_names_the_feed_operations(api):
    paths = api.client.get("/openapi.json").json()["paths"]
    operations = {method: op["operationId"] for method, op in paths[REPLAY].items()}
    assert operations == {
        "post": "market-start_replay",
        "get": "market-replay_status",
        "delete": "market-stop_replay",
    }
    assert paths[REPLAY]["post"]["security"] == [{"HTTPBearer": []}]
