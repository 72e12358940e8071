"""Settings for the HTTP API: defaults, environment overrides, and the password helper."""

from __future__ import annotations

from pydantic import SecretStr

from infrastructure.settings import Settings, with_password


def test_api_defaults_are_local_and_small(monkeypatch):
    for name in ("HOST", "PORT", "UI_ORIGIN", "COMMAND_RATE_LIMIT", "MAX_REQUEST_BYTES"):
        monkeypatch.delenv(f"OPENBELL_{name}", raising=False)
    settings = Settings(_env_file=None)
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.ui_origin == "http://127.0.0.1:8000"
    assert (settings.command_rate_limit, settings.command_rate_window) == (30, 10.0)
    assert settings.max_request_bytes == 65536


def test_api_settings_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENBELL_PORT", "9000")
    monkeypatch.setenv("OPENBELL_UI_ORIGIN", "http://localhost:5173/")
    monkeypatch.setenv("OPENBELL_COMMAND_RATE_LIMIT", "5")
    settings = Settings(_env_file=None)
    assert settings.port == 9000 and settings.command_rate_limit == 5
    assert settings.ui_origin == "http://localhost:5173"  # browsers send no trailing slash


def test_with_password_fills_only_a_missing_postgres_password():
    secret = SecretStr("p@ss word")
    url = "postgresql://bob@db:5432/openbell?schema=s1"
    assert with_password(url, secret) == "postgresql://bob:p%40ss%20word@db:5432/openbell?schema=s1"
    assert with_password("postgresql://bob:own@db/x", secret) == "postgresql://bob:own@db/x"
    assert with_password("sqlite:///var/x.sqlite", secret) == "sqlite:///var/x.sqlite"
    assert with_password(url, None) == url
