"""The query API over HTTP on real stores (SQLite and PostgreSQL).

The sample is replayed into the app's store (plus a replay cut short so positions stay open) and
the read models caught up; every answer is checked against the aggregates, the audit helpers,
the NYSE calendar and TA-Lib.
"""

from __future__ import annotations

import csv
import io
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import numpy as np
import pytest
import talib

from api import consistency
from application.audit import state_summary, timeline
from application.replay import replay
from application.service import OpenbellApplication
from domain.bot import Bot
from infrastructure.cli.commands import load_config
from infrastructure.sim_broker import SimulatedBroker
from projections import ProjectionRunner, ReadModelDatabase
from tests.conftest import _postgres_url
from tests.e2e.test_api_commands import CONFIG, Api, assert_error, start_api
from tests.integration.projections_support import CONFIGS, COSTS, replay_sample, sample_bars

FILLS = ("OrderFilled", "OrderPartiallyFilled")
QUERY_ROUTES = [
    "/api/bots",
    "/api/bots/{bot}",
    "/api/bots/{bot}/events",
    "/api/bots/{bot}/state",
    "/api/bots/{bot}/equity",
    "/api/trades",
    "/api/trades.csv",
    "/api/pnl",
    "/api/positions",
    "/api/orders",
    "/api/market/status",
    "/api/market/bars/AAPL",
]


@dataclass
class Sample:
    api: Api
    app: OpenbellApplication
    bot_ids: list[UUID]  # the full replay: rsi-macd, trend-bands
    cut_ids: list[UUID]  # the replay cut short, holding positions

    def get(self, path: str, **params: Any) -> Any:
        response = self.api.client.get(path, params=params, headers=self.api.auth())
        assert response.status_code == 200, response.text
        return response.json()

    @property
    def all_ids(self) -> list[UUID]:
        return self.bot_ids + self.cut_ids


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def sample_url(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    """One store per backend for the whole module (the replays are its slow part)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('queries') / 'store.sqlite'}"
        return
    import psycopg

    try:
        connection = psycopg.connect(_postgres_url(), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI but unreachable: {exc}")
        pytest.skip("PostgreSQL unreachable")
    schema = f"ob_test_{uuid.uuid4().hex[:12]}"
    with connection:
        connection.execute(f"CREATE SCHEMA {schema}")
        try:
            yield f"{_postgres_url()}?schema={schema}"
        finally:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(scope="module")
def sample(sample_url: str) -> Iterator[Sample]:
    app, bot_ids = replay_sample(sample_url)
    try:
        opened = next(e for e in app.bot_events(bot_ids[0]) if isinstance(e, Bot.PositionOpened))
        cut = opened.timestamp + timedelta(minutes=1)
        bars = [b for b in sample_bars() if b.timestamp < cut]
        configs = [load_config(p) for p in CONFIGS]
        cut_ids = [
            b.id
            for b in replay(
                app, bars, configs, lambda clock: SimulatedBroker(clock, COSTS), "cut-short"
            ).bots
        ]
        db = ReadModelDatabase(sample_url)
        try:
            ProjectionRunner(app, db).catch_up()
        finally:
            db.close()
        for api in start_api(sample_url):
            yield Sample(api, app, bot_ids, cut_ids)
    finally:
        app.close()


def money(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text)


def all_trades(sample: Sample, **filters: Any) -> list[dict[str, Any]]:
    page = sample.get("/api/trades", **({"limit": 1000, "sort": "id"} | filters))
    assert page["next_cursor"] is None
    return page["items"]


# ------------------------------------------------------------------------------- bots


def test_bots_and_bot_details_match_the_aggregates(sample):
    response = sample.api.client.get("/api/bots", headers=sample.api.auth())
    head = sample.app.recorder.max_notification_id()
    assert int(response.headers[consistency.POSITION_HEADER]) == head
    listed = {UUID(b["id"]): b for b in response.json()}
    assert set(listed) == set(sample.all_ids)
    for bot_id in sample.all_ids:
        bot = sample.app.get_bot(bot_id)
        detail = sample.get(f"/api/bots/{bot_id}")
        assert detail == listed[bot_id]
        assert detail["name"] == bot.config.name and detail["status"] == bot.status.value
        assert detail["version"] == bot.version and detail["trades"] == bot.trades
        assert detail["config"] == bot.config.to_dict()
        assert money(detail["realized_pnl"]) == bot.realized_pnl
        assert money(detail["fees"]) == bot.fees and money(detail["cash"]) == bot.cash
        assert detail["open_positions"] == len(bot.positions)
    assert len(sample.get("/api/bots", status="stopped")) == 4
    assert sample.get("/api/bots", status="running") == []


def test_unknown_or_malformed_bot_ids(sample):
    unknown = uuid.uuid4()
    for path in ("", "/events", "/state", "/equity"):
        response = sample.api.client.get(f"/api/bots/{unknown}{path}", headers=sample.api.auth())
        assert str(unknown) in assert_error(response, 404, "bot_not_found")["message"]
        malformed = sample.api.client.get(f"/api/bots/nope{path}", headers=sample.api.auth())
        assert_error(malformed, 422, "validation_error", "bot_id")
    bad_status = sample.api.client.get("/api/bots?status=asleep", headers=sample.api.auth())
    assert_error(bad_status, 422, "validation_error", "status")


# ----------------------------------------------------------------------------- trades


def expected_order(rows: list[dict[str, Any]], sort: str) -> list[int]:
    name = sort.removeprefix("-")

    def key(row: dict[str, Any]) -> tuple[Any, ...]:
        value = row[name]
        if name in ("price", "fee", "profit_loss"):
            return (value is not None, Decimal(value or 0), row["id"])
        return (value, row["id"])

    return [r["id"] for r in sorted(rows, key=key, reverse=sort.startswith("-"))]


def test_trades_match_the_fills_and_pages_have_no_gaps_or_duplicates(sample):
    everything = all_trades(sample)
    fills = [
        e for i in sample.all_ids for e in sample.app.bot_events(i) if type(e).__name__ in FILLS
    ]
    assert len(everything) == len(fills) > 100
    for sort in ("timestamp", "-price", "profit_loss", "-symbol"):
        walked: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"sort": sort, "limit": 37} | ({"cursor": cursor} if cursor else {})
            page = sample.get("/api/trades", **params)
            assert len(page["items"]) <= 37
            walked += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert sorted(r["id"] for r in walked) == [r["id"] for r in everything], sort
        assert [r["id"] for r in walked] == expected_order(everything, sort), sort
        by_id = {r["id"]: r for r in everything}
        assert all(r == by_id[r["id"]] for r in walked)


def test_trade_filters(sample):
    everything = all_trades(sample)
    bot = str(sample.bot_ids[0])
    start, end = "2024-11-05T09:30", "2024-11-12T16:00"  # New York time
    starts = datetime(2024, 11, 5, 14, 30, tzinfo=UTC)
    ends = datetime(2024, 11, 12, 21, 0, tzinfo=UTC)
    filtered = all_trades(sample, bot_id=bot, symbol="AAPL", side="sell", start=start, end=end)
    expected = [
        r["id"]
        for r in everything
        if (r["bot_id"], r["symbol"], r["type"]) == (bot, "AAPL", "sell")
        and starts <= moment(r["timestamp"]) < ends
    ]
    assert [r["id"] for r in filtered] == expected and expected
    aware = all_trades(sample, start="2024-11-05T14:30:00Z", end="2024-11-12T21:00:00+00:00")
    assert [r["id"] for r in aware] == [r["id"] for r in all_trades(sample, start=start, end=end)]
    sells = [r for r in everything if r["type"] == "sell"]
    assert all(money(r["profit_loss"]) is not None for r in sells)
    assert all(r["profit_loss"] is None for r in everything if r["type"] == "buy")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "colour"}, "sort"),
        ({"sort": "--price"}, "sort"),
        ({"side": "hold"}, "side"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"start": "yesterday"}, "start"),
        ({"end": "9999-12-31T23:59"}, "end"),
        ({"bot_id": "nope"}, "bot_id"),
    ],
)
def test_bad_trade_parameters_are_422_naming_the_field(sample, params, field):
    for path in ("/api/trades", "/api/trades.csv"):
        if field in ("cursor", "limit") and path.endswith(".csv"):
            continue
        response = sample.api.client.get(path, params=params, headers=sample.api.auth())
        assert_error(response, 422, "validation_error", field)


def test_a_cursor_is_only_valid_with_its_sort(sample):
    cursor = sample.get("/api/trades", sort="price", limit=5)["next_cursor"]
    response = sample.api.client.get(
        "/api/trades", params={"sort": "-price", "cursor": cursor}, headers=sample.api.auth()
    )
    assert "issued for sort" in assert_error(response, 422, "validation_error", "cursor")["message"]


def test_csv_export_streams_every_matching_fill(sample):
    response = sample.api.client.get("/api/trades.csv", headers=sample.api.auth())
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == "attachment; filename=trades.csv"
    assert int(response.headers[consistency.POSITION_HEADER]) > 0
    rows = list(csv.DictReader(io.StringIO(response.text)))
    everything = all_trades(sample, sort="timestamp")
    assert len(rows) == len(everything)
    assert list(rows[0]) == [
        "bot_id",
        "symbol",
        "type",
        "quantity",
        "price",
        "timestamp",
        "indicators_snapshot",
        "profit_loss",
        "order_id",
        "fee",
    ]
    for row, trade in zip(rows, everything, strict=True):
        assert row["order_id"] == trade["order_id"] and row["price"] == trade["price"]
        assert moment(row["timestamp"]) == moment(trade["timestamp"])
        assert row["profit_loss"] == (trade["profit_loss"] or "")
    bot = str(sample.bot_ids[1])
    sells = sample.api.client.get(
        "/api/trades.csv", params={"bot_id": bot, "side": "sell"}, headers=sample.api.auth()
    )
    expected = all_trades(sample, bot_id=bot, side="sell")
    assert len(list(csv.DictReader(io.StringIO(sells.text)))) == len(expected) > 0


# -------------------------------------------------------------------------- portfolio


def test_pnl_summary_and_equity_curves_match_the_aggregates(sample):
    report = sample.get("/api/pnl")
    summary = {UUID(s["bot_id"]): s for s in report["summary"]}
    assert set(summary) == set(sample.all_ids)
    for bot_id in sample.all_ids:
        bot = sample.app.get_bot(bot_id)
        assert money(summary[bot_id]["realized_pnl"]) == bot.realized_pnl
        assert summary[bot_id]["trades"] == bot.trades
        days = [d for d in report["daily"] if d["bot_id"] == str(bot_id)]
        assert sum((Decimal(d["realized_pnl"]) for d in days), Decimal(0)) == bot.realized_pnl
        curve = sample.get(f"/api/bots/{bot_id}/equity")["points"]
        assert [p["seq"] for p in curve] == list(range(len(curve)))
        assert money(curve[-1]["equity"]) == bot.config.capital + bot.realized_pnl
    one = sample.get("/api/pnl", bot_id=str(sample.bot_ids[0]))
    assert [s["bot_id"] for s in one["summary"]] == [str(sample.bot_ids[0])]
    assert {d["bot_id"] for d in one["daily"]} == {str(sample.bot_ids[0])}


def test_positions_and_orders_match_the_aggregates(sample):
    held = sorted(
        (str(i), s, p.qty, p.cost)
        for i in sample.all_ids
        for s, p in sample.app.get_bot(i).positions.items()
    )
    assert held  # the replay cut short keeps its positions open
    listed = sample.get("/api/positions")
    assert sorted((p["bot_id"], p["symbol"], p["qty"], Decimal(p["cost"])) for p in listed) == held
    one = sample.get("/api/positions", bot_id=str(sample.bot_ids[0]))
    assert one == []  # flattened at the end of each window
    for bot_id in sample.all_ids:
        events = sample.app.bot_events(bot_id)
        submitted = [e.client_order_id for e in events if isinstance(e, Bot.OrderSubmitted)]
        orders = sample.get("/api/orders", bot_id=str(bot_id))
        assert sorted(o["client_order_id"] for o in orders) == sorted(submitted)
    filled = sample.get("/api/orders", status="filled")
    assert filled and all(o["status"] == "filled" and o["avg_fill_price"] for o in filled)
    bad = sample.api.client.get("/api/orders?status=lost", headers=sample.api.auth())
    assert_error(bad, 422, "validation_error", "status")


# ------------------------------------------------------------------------------ audit


def test_events_pages_are_the_audit_timeline(sample):
    bot_id = sample.bot_ids[0]
    expected = timeline(sample.app.bot_events(bot_id))
    walked: list[dict[str, Any]] = []
    cursor = 0
    while True:
        page = sample.get(f"/api/bots/{bot_id}/events", limit=250, cursor=cursor)
        walked += page["items"]
        if page["next_cursor"] is None:
            break
        cursor = page["next_cursor"]
    assert len(walked) == len(expected) > 500
    for item, entry in zip(walked, expected, strict=True):
        assert (item["version"], item["type"], item["text"]) == (
            entry.version,
            entry.kind,
            entry.text,
        )
        assert moment(item["at"]) == entry.at
    past_the_end = sample.get(f"/api/bots/{bot_id}/events", cursor=len(expected))
    assert past_the_end == {"items": [], "next_cursor": None}


def test_state_at_a_fill_moment_has_the_position_the_fill_opened(sample):
    bot_id = sample.bot_ids[0]
    opened = next(e for e in sample.app.bot_events(bot_id) if isinstance(e, Bot.PositionOpened))
    state = sample.get(f"/api/bots/{bot_id}/state", at=opened.timestamp.isoformat())
    assert [p["symbol"] for p in state["positions"]] == [opened.symbol]
    expected = state_summary(sample.app.bot_at(bot_id, opened.timestamp))
    assert moment(state.pop("as_of")) == moment(expected.pop("as_of"))
    assert state == expected
    # A naive moment is New York time: the bot was created at 09:30 New York time.
    before = sample.api.client.get(
        f"/api/bots/{bot_id}/state", params={"at": "2024-10-31T09:29"}, headers=sample.api.auth()
    )
    assert "did not exist yet" in assert_error(before, 404, "bot_not_found")["message"]
    later = sample.get(f"/api/bots/{bot_id}/state", at="2024-11-05T16:00")
    assert later["status"] == "running" and later["positions"] == []
    now = sample.get(f"/api/bots/{bot_id}/state")  # default: now, i.e. after the replay
    assert now["status"] == "stopped" and now["version"] == sample.app.get_bot(bot_id).version
    bad = sample.api.client.get(
        f"/api/bots/{bot_id}/state", params={"at": "teatime"}, headers=sample.api.auth()
    )
    assert_error(bad, 422, "validation_error", "at")


# ----------------------------------------------------------------------------- market


def status_at(sample: Sample, at: str) -> dict[str, Any]:
    return sample.get("/api/market/status", at=at)


def test_market_status_on_a_holiday_an_early_close_and_a_regular_day(sample):
    thanksgiving = status_at(sample, "2024-11-28T12:00")
    assert thanksgiving["is_open"] is False and thanksgiving["holiday"] == "Thanksgiving Day"
    assert thanksgiving["session"] is None and thanksgiving["early_close"] is False
    assert moment(thanksgiving["next_open"]) == datetime(2024, 11, 29, 14, 30, tzinfo=UTC)
    assert moment(thanksgiving["next_close"]) == datetime(2024, 11, 29, 18, 0, tzinfo=UTC)
    assert thanksgiving["next_close_local"] == "2024-11-29 13:00 ET"

    black_friday = status_at(sample, "2024-11-29T12:59")
    assert black_friday["is_open"] is True and black_friday["early_close"] is True
    assert black_friday["holiday"] is None and black_friday["session"]["close_local"].endswith(
        "13:00 ET"
    )
    assert black_friday["next_close_local"] == "2024-11-29 13:00 ET"
    assert black_friday["next_open_local"] == "2024-12-02 09:30 ET"  # after the weekend
    assert status_at(sample, "2024-11-29T13:00")["is_open"] is False  # close is exclusive

    tuesday = status_at(sample, "2024-11-26T15:00:00Z")  # 10:00 in New York
    assert tuesday["is_open"] is True and tuesday["early_close"] is False
    assert tuesday["at_local"] == "2024-11-26 10:00 ET"
    assert moment(tuesday["next_close"]) == datetime(2024, 11, 26, 21, 0, tzinfo=UTC)
    assert moment(tuesday["next_open"]) == datetime(2024, 11, 27, 14, 30, tzinfo=UTC)
    before_the_bell = status_at(sample, "2024-11-26T08:00")
    assert before_the_bell["is_open"] is False
    assert before_the_bell["next_open_local"] == "2024-11-26 09:30 ET"


def test_market_status_defaults_to_the_services_clock(sample, monkeypatch):
    services = sample.api.client.app.state.services
    monkeypatch.setattr(services, "clock", lambda: datetime(2024, 12, 25, 15, 0, tzinfo=UTC))
    status = sample.get("/api/market/status")
    assert status["holiday"] == "Christmas Day" and status["is_open"] is False
    out_of_range = sample.api.client.get(
        "/api/market/status", params={"at": "1999-06-01T12:00"}, headers=sample.api.auth()
    )
    assert_error(out_of_range, 422, "validation_error", "at")


def test_bars_with_indicators_match_talib_after_warm_up(sample):
    history = [b for b in sample_bars() if b.symbol == "AAPL"]
    closes = np.array([b.as_floats().close for b in history])
    expected = {
        "RSI(14).rsi": talib.RSI(closes, 14),
        "SMA(20).sma": talib.SMA(closes, 20),
        "BBANDS(20,2).upper": talib.BBANDS(closes, 20, 2, 2)[0],
        "MACD(12,26,9).hist": talib.MACD(closes, 12, 26, 9)[2],
    }
    labels = ["RSI(14)", "SMA(20)", "BBANDS(20,2)", "MACD(12,26,9)"]
    start, end = "2024-11-04T09:30", "2024-11-06T00:00"  # two sessions in the sample
    page = sample.get("/api/market/bars/AAPL", start=start, end=end, limit=10_000, indicator=labels)
    assert page["indicators"]["MACD(12,26,9)"] == ["macd", "signal", "hist"]
    index = {b.timestamp: i for i, b in enumerate(history)}
    assert len(page["bars"]) == 2 * 390
    for point in page["bars"]:
        i = index[moment(point["timestamp"])]
        assert Decimal(point["close"]) == history[i].close
        for key, series in expected.items():
            assert point["indicators"][key] == pytest.approx(series[i], rel=1e-12), key

    first = sample.get("/api/market/bars/AAPL", limit=40, indicator="RSI(14)")
    rsi = [p["indicators"]["RSI(14).rsi"] for p in first["bars"]]
    assert rsi[:14] == [None] * 14 and all(v is not None for v in rsi[14:])  # warm-up
    assert moment(first["next_start"]) == history[40].timestamp
    second = sample.get("/api/market/bars/AAPL", start=first["next_start"], limit=1)
    assert moment(second["bars"][0]["timestamp"]) == history[40].timestamp


def test_bars_indicators_agree_with_the_streaming_snapshots(sample):
    trade = next(
        t
        for t in all_trades(sample, bot_id=str(sample.bot_ids[0]), symbol="MSFT")
        if t["indicators_snapshot"] and "RSI(14).rsi" in t["indicators_snapshot"]["indicators"]
    )
    snapshot = trade["indicators_snapshot"]
    bar_time = moment(snapshot["bar_time"])
    page = sample.get(
        "/api/market/bars/MSFT", start=bar_time.isoformat(), limit=1, indicator="RSI(14)"
    )
    assert moment(page["bars"][0]["timestamp"]) == bar_time
    streamed = float(snapshot["indicators"]["RSI(14).rsi"])
    assert page["bars"][0]["indicators"]["RSI(14).rsi"] == pytest.approx(streamed, rel=1e-9)


@pytest.mark.parametrize(
    "labels",
    [
        ["RSI(1)"],
        ["FOO(3)"],
        ["MACD(12,26)"],
        ["MACD(26,12,9)"],
        ["RSI(14"],
        ["SMA(2.5)"],
        [f"SMA({n})" for n in range(2, 13)],  # more than ten
    ],
)
def test_bad_indicator_labels_are_422(sample, labels):
    response = sample.api.client.get(
        "/api/market/bars/AAPL", params={"indicator": labels}, headers=sample.api.auth()
    )
    assert_error(response, 422, "validation_error", "indicator")


def test_unknown_symbols_are_404_and_malformed_ones_422(sample):
    unknown = sample.api.client.get("/api/market/bars/ZZZZ", headers=sample.api.auth())
    assert_error(unknown, 404, "symbol_not_found")
    lower = sample.api.client.get("/api/market/bars/aapl", headers=sample.api.auth())
    assert_error(lower, 422, "validation_error", "symbol")


# ------------------------------------------------------------------ auth and contracts


def test_every_query_needs_a_valid_token(sample):
    for route in QUERY_ROUTES:
        path = route.format(bot=sample.bot_ids[0])
        assert_error(sample.api.client.get(path), 401, "unauthenticated")
        wrong = sample.api.client.get(path, headers=sample.api.auth("ob_wrong"))
        assert_error(wrong, 401, "unauthenticated")
        # Authentication comes first: an anonymous caller learns nothing about input.
        assert_error(sample.api.client.get(path, params={"after": "x"}), 401, "unauthenticated")


def test_openapi_documents_the_queries(sample):
    schema = sample.api.client.get("/openapi.json").json()
    ids = {
        (method.upper(), path): op["operationId"]
        for path, item in schema["paths"].items()
        for method, op in item.items()
    }
    assert (
        ids.items()
        >= {
            ("GET", "/api/bots"): "bots-list_bots",
            ("GET", "/api/bots/{bot_id}"): "bots-get_bot",
            ("GET", "/api/bots/{bot_id}/events"): "bots-list_bot_events",
            ("GET", "/api/bots/{bot_id}/state"): "bots-get_bot_state",
            ("GET", "/api/bots/{bot_id}/equity"): "bots-get_bot_equity",
            ("GET", "/api/trades"): "trades-list_trades",
            ("GET", "/api/trades.csv"): "trades-export_trades_csv",
            ("GET", "/api/pnl"): "portfolio-get_pnl",
            ("GET", "/api/positions"): "portfolio-list_positions",
            ("GET", "/api/orders"): "portfolio-list_orders",
            ("GET", "/api/market/status"): "market-get_market_status",
            ("GET", "/api/market/bars/{symbol}"): "market-get_bars",
        }.items()
    )
    trades = schema["paths"]["/api/trades"]["get"]
    assert trades["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TradePage"
    }
    assert consistency.POSITION_HEADER in trades["responses"]["200"]["headers"]
    assert "after" in {p["name"] for p in trades["parameters"]}
    csv_responses = schema["paths"]["/api/trades.csv"]["get"]["responses"]
    assert set(csv_responses["200"]["content"]) == {"text/csv"}
    assert set(csv_responses["422"]["content"]) == {"application/json"}


# ------------------------------------------------------------------ read your writes


@pytest.fixture
def api(store_url) -> Iterator[Api]:
    yield from start_api(store_url)  # the projections run in the app's background thread


def test_a_commands_position_as_after_makes_its_effect_visible(api):
    created = api.post("/api/bots", json=CONFIG).json()
    bot_id, position = created["bot_id"], created["position"]
    seen = api.client.get(f"/api/bots/{bot_id}", params={"after": position}, headers=api.auth())
    assert seen.status_code == 200 and seen.json()["status"] == "created"
    assert int(seen.headers[consistency.POSITION_HEADER]) >= position
    started = api.post(f"/api/bots/{bot_id}/start").json()["position"]
    listed = api.client.get("/api/bots", params={"after": started}, headers=api.auth())
    assert [(b["id"], b["status"]) for b in listed.json()] == [(bot_id, "running")]


def test_lagging_read_models_are_503_and_unreachable_positions_422(sqlite_url, monkeypatch):
    monkeypatch.setattr(consistency, "WAIT_SECONDS", 0.2)
    for api in start_api(sqlite_url, run_projections=False):
        position = api.post("/api/bots", json=CONFIG).json()["position"]
        lagging = api.client.get("/api/bots", params={"after": position}, headers=api.auth())
        assert_error(lagging, 503, "read_model_lagging")
        assert int(lagging.headers["Retry-After"]) >= 1
        beyond = api.client.get("/api/trades", params={"after": position + 1}, headers=api.auth())
        assert_error(beyond, 422, "validation_error", "after")
        negative = api.client.get("/api/pnl", params={"after": -1}, headers=api.auth())
        assert_error(negative, 422, "validation_error", "after")
        now = api.client.get("/api/bots", headers=api.auth())
        assert now.json() == [] and now.headers[consistency.POSITION_HEADER] == "0"
        health = api.client.get("/health")
        assert health.status_code == 200
        assert set(health.json()["projection_lag"].values()) == {position}


def test_queries_do_not_count_against_the_command_rate_limit(sqlite_url):
    for api in start_api(sqlite_url, command_rate_limit=1, command_rate_window=60):
        for _ in range(5):
            assert api.client.get("/api/bots", headers=api.auth()).status_code == 200
        api.create_bot()
        assert_error(api.post("/api/bots", json=CONFIG), 429, "rate_limited")
        assert api.client.get("/api/trades", headers=api.auth()).status_code == 200
