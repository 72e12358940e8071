"""The command API over HTTP: the real app on real stores (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.bot import BotStatus
from infrastructure.bootstrap import build_application
from infrastructure.cli.http_app import create_app
from infrastructure.settings import Settings
from infrastructure.tokens import TokenStore
from projections.db import ReadModelDatabase

UI_ORIGIN = "http://127.0.0.1:8000"
CONFIG: dict[str, Any] = {
    "name": "api-bot",
    "capital": 10000,
    "symbols": ["AAPL", "MSFT"],
    "indicators": {"RSI": {"period": 14}, "SMA": {"period": 20}},
    "risk_management": {"max_position_size": 0.2},
}


@dataclass
class Api:
    client: TestClient
    url: str
    token: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    def post(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any):
        return self.client.post(path, headers=self.auth() | (headers or {}), **kwargs)

    def create_bot(self, config: dict[str, Any] | None = None) -> str:
        response = self.post("/api/bots", json=config or CONFIG)
        assert response.status_code == 201, response.text
        return response.json()["bot_id"]


def issue_token(url: str, name: str = "e2e") -> str:
    """A token made the way `openbell token create` makes one: straight in the database."""
    db = ReadModelDatabase(url)
    try:
        store = TokenStore(db)
        store.ensure_table()
        return store.create(name)[1]
    finally:
        db.close()


def start_api(url: str, **settings: Any) -> Iterator[Api]:
    app = create_app(url, Settings(_env_file=None, database_url=url, **settings))
    token = issue_token(url)
    with TestClient(app) as client:
        yield Api(client, url, token)


@pytest.fixture
def api(store_url) -> Iterator[Api]:
    yield from start_api(store_url)


def assert_error(response, status: int, code: str, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "field"}
    assert error["code"] == code and error["field"] == field and error["message"]
    return error


def test_commands_need_a_valid_bearer_token(api):
    missing = api.client.post("/api/bots", json=CONFIG)
    assert_error(missing, 401, "unauthenticated")
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    basic = api.client.post("/api/bots", json=CONFIG, headers={"Authorization": "Basic eDp5"})
    assert_error(basic, 401, "unauthenticated")
    wrong = api.client.post("/api/bots", json=CONFIG, headers=api.auth("ob_not-a-real-token"))
    assert_error(wrong, 401, "unauthenticated")
    assert wrong.headers["WWW-Authenticate"].startswith("Bearer")
    # Authentication comes before validation: an anonymous caller learns nothing about input.
    anonymous_bad_id = api.client.post("/api/bots/not-a-uuid/start")
    assert_error(anonymous_bad_id, 401, "unauthenticated")


def test_a_revoked_token_is_refused(api):
    db = ReadModelDatabase(api.url)
    try:
        store = TokenStore(db)
        token_id = store.verify(api.token)
        assert token_id is not None
        store.revoke(token_id)
    finally:
        db.close()
    assert_error(api.post("/api/bots", json=CONFIG), 401, "unauthenticated")


def test_create_stores_the_bot_in_the_event_store(api):
    response = api.post("/api/bots", json=CONFIG)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"bot_id", "position"} and isinstance(body["position"], int)
    application = build_application(api.url)
    try:
        bot = application.get_bot(uuid.UUID(body["bot_id"]))
    finally:
        application.close()
    assert bot.config.name == "api-bot" and bot.config.symbols == ("AAPL", "MSFT")
    assert bot.status is BotStatus.CREATED


def test_invalid_config_is_422_naming_the_field(api):
    bad = CONFIG | {"indicators": {"RSI": {"period": 1}}}
    error = assert_error(
        api.post("/api/bots", json=bad), 422, "validation_error", "indicators.RSI.period"
    )
    assert "greater than or equal to 2" in error["message"]
    several = CONFIG | {"capital": -5, "symbols": ["aapl"]}
    error = assert_error(api.post("/api/bots", json=several), 422, "validation_error", "capital")
    assert "symbols.0" in error["message"]
    unknown = CONFIG | {"broker_secret": "sk-do-not-echo"}
    error = assert_error(
        api.post("/api/bots", json=unknown), 422, "validation_error", "broker_secret"
    )
    assert "sk-do-not-echo" not in api.post("/api/bots", json=unknown).text
    not_json = api.post("/api/bots", content=b"{nope", headers={"Content-Type": "application/json"})
    assert_error(not_json, 422, "validation_error")


def test_lifecycle_over_http(api):
    bot_id = api.create_bot()
    started = api.post(f"/api/bots/{bot_id}/start")
    assert started.status_code == 200 and started.json()["bot_id"] == bot_id
    error = assert_error(api.post(f"/api/bots/{bot_id}/start"), 409, "status_conflict")
    assert "running" in error["message"]
    assert_error(
        api.client.delete(f"/api/bots/{bot_id}", headers=api.auth()), 409, "status_conflict"
    )
    assert api.post(f"/api/bots/{bot_id}/pause").status_code == 200
    assert api.post(f"/api/bots/{bot_id}/resume").status_code == 200
    assert api.post(f"/api/bots/{bot_id}/stop").status_code == 200
    archived = api.client.delete(f"/api/bots/{bot_id}", headers=api.auth())
    assert archived.status_code == 200
    first_position = started.json()["position"]
    assert archived.json()["position"] > first_position
    edit = api.client.put(f"/api/bots/{bot_id}", json=CONFIG, headers=api.auth())
    assert_error(edit, 409, "status_conflict")


def test_put_replaces_the_config(api):
    bot_id = api.create_bot()
    changed = CONFIG | {"name": "renamed", "symbols": ["MSFT"]}
    response = api.client.put(f"/api/bots/{bot_id}", json=changed, headers=api.auth())
    assert response.status_code == 200 and isinstance(response.json()["position"], int)
    same = api.client.put(f"/api/bots/{bot_id}", json=changed, headers=api.auth())
    assert same.status_code == 200 and same.json()["position"] is None  # nothing changed
    application = build_application(api.url)
    try:
        config = application.get_bot(uuid.UUID(bot_id)).config
    finally:
        application.close()
    assert config.name == "renamed" and config.symbols == ("MSFT",)


def test_unknown_bot_is_404_and_a_malformed_id_is_422(api):
    unknown = uuid.uuid4()
    error = assert_error(api.post(f"/api/bots/{unknown}/start"), 404, "bot_not_found")
    assert str(unknown) in error["message"]
    assert_error(
        api.client.put(f"/api/bots/{unknown}", json=CONFIG, headers=api.auth()),
        404,
        "bot_not_found",
    )
    assert_error(api.post("/api/bots/not-a-uuid/start"), 422, "validation_error", "bot_id")


def test_unknown_routes_and_methods_use_the_error_shape(api):
    assert_error(api.client.get("/api/nothing-here"), 404, "not_found")
    wrong_method = api.client.patch(f"/api/bots/{uuid.uuid4()}", headers=api.auth())
    assert_error(wrong_method, 405, "method_not_allowed")
    assert "PUT" in wrong_method.headers["Allow"]


def test_bodies_over_the_limit_are_413(api):
    padded = CONFIG | {"name": "x" * 70_000}
    assert_error(api.post("/api/bots", json=padded), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the bytes are counted as they come
        yield b'{"name": "'
        for _ in range(20):
            yield b"y" * 4096
        yield b'"}'

    streamed = api.post("/api/bots", content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(streamed, 413, "payload_too_large")


def test_commands_are_rate_limited_per_token(sqlite_url):
    for api in start_api(sqlite_url, command_rate_limit=2, command_rate_window=60):
        bot_id = api.create_bot()
        assert api.post(f"/api/bots/{bot_id}/start").status_code == 200
        limited = api.post(f"/api/bots/{bot_id}/stop")
        assert_error(limited, 429, "rate_limited")
        assert int(limited.headers["Retry-After"]) >= 1
        other = issue_token(sqlite_url, "other")
        response = api.client.post(f"/api/bots/{bot_id}/stop", headers=api.auth(other))
        assert response.status_code == 200
        assert api.client.get("/health").status_code == 200  # not a command: not limited


def test_cors_allows_only_the_ui_origin(api):
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    allowed = api.client.options("/api/bots", headers=preflight | {"Origin": UI_ORIGIN})
    assert allowed.status_code == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == UI_ORIGIN
    other = api.client.options("/api/bots", headers=preflight | {"Origin": "https://evil.example"})
    assert other.status_code >= 400
    assert "Access-Control-Allow-Origin" not in other.headers
    simple = api.client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in simple.headers


def test_health_reports_both_stores(api):
    response = api.client.get("/health")
    assert response.status_code == 200
    lag = dict.fromkeys(("bots", "trades", "positions", "orders", "pnl"), 0)  # empty store
    assert response.json() == {
        "status": "ok",
        "store": "reachable",
        "read_models": "reachable",
        "projection_lag": lag,
    }
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_health_is_503_when_a_store_is_unreachable(api):
    api.client.app.state.services.read_models.close()
    response = api.client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["read_models"] == "unreachable"


def test_unexpected_errors_are_a_generic_500(api, caplog):
    def boom() -> None:
        raise RuntimeError("postgresql://admin:hunter2@db/prod is down")

    api.client.app.add_api_route("/boom", boom)
    response = api.client.get("/boom")
    assert_error(response, 500, "internal_error")
    assert "hunter2" not in response.text
    assert any("unhandled error" in r.message for r in caplog.records)


def test_openapi_lists_the_routes_with_clean_operation_ids(api):
    schema = api.client.get("/openapi.json").json()
    operations = {
        (method.upper(), path): op["operationId"]
        for path, item in schema["paths"].items()
        for method, op in item.items()
    }
    # The command routes; the query, feed and backtest routes are checked in their own tests.
    commands = {
        ("GET", "/health"): "health-health_check",
        ("POST", "/api/bots"): "bots-create_bot",
        ("PUT", "/api/bots/{bot_id}"): "bots-replace_bot_config",
        ("DELETE", "/api/bots/{bot_id}"): "bots-archive_bot",
        ("POST", "/api/bots/{bot_id}/start"): "bots-start_bot",
        ("POST", "/api/bots/{bot_id}/stop"): "bots-stop_bot",
        ("POST", "/api/bots/{bot_id}/pause"): "bots-pause_bot",
        ("POST", "/api/bots/{bot_id}/resume"): "bots-resume_bot",
    }
    assert operations.items() >= commands.items()
    create = schema["paths"]["/api/bots"]["post"]
    assert create["security"] == [{"HTTPBearer": []}]
    assert create["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    assert "BotConfigInput" in schema["components"]["schemas"]
    assert all(op.get("description") for item in schema["paths"].values() for op in item.values())
