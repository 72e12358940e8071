"""`openbell token create|list|revoke` and `openbell serve`, through the parser they register."""

from __future__ import annotations

import argparse

import pytest

from infrastructure.cli import api_commands
from infrastructure.cli.commands import CommandError
from infrastructure.tokens import TokenStore
from projections.db import ReadModelDatabase


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="openbell")
    parser.add_argument("--database-url")
    api_commands.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.handler(args) or 0)


def verify(url: str, token: str) -> str | None:
    db = ReadModelDatabase(url)
    try:
        return TokenStore(db).verify(token)
    finally:
        db.close()


def test_token_create_prints_the_token_once_and_warns(capsys, store_url):
    assert run("--database-url", store_url, "token", "create", "--name", "dashboard") == 0
    out, err = capsys.readouterr()
    token = out.strip()
    assert token.startswith("ob_")
    assert "cannot be shown again" in err and token not in err
    token_id = verify(store_url, token)
    assert token_id is not None

    assert run("--database-url", store_url, "token", "list") == 0
    listed = capsys.readouterr().out
    assert token_id in listed and "dashboard" in listed and "active" in listed
    assert token not in listed

    assert run("--database-url", store_url, "token", "revoke", token_id) == 0
    assert verify(store_url, token) is None
    run("--database-url", store_url, "token", "list", "--json")
    assert '"revoked_at": null' not in capsys.readouterr().out


def test_revoking_an_unknown_token_is_an_error(sqlite_url):
    with pytest.raises(CommandError, match="no token nope"):
        run("--database-url", sqlite_url, "token", "revoke", "nope")


def test_serve_binds_loopback_by_default(monkeypatch, sqlite_url, capsys):
    calls = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: calls.append((app, kwargs)))
    monkeypatch.delenv("OPENBELL_HOST", raising=False)
    monkeypatch.delenv("OPENBELL_PORT", raising=False)
    assert run("--database-url", sqlite_url, "serve") == 0
    app, kwargs = calls[0]
    assert kwargs["host"] == "127.0.0.1" and kwargs["port"] == 8000
    assert app.state.services.read_models.url == sqlite_url
    assert capsys.readouterr().err == ""

    run("--database-url", sqlite_url, "serve", "--host", "0.0.0.0", "--port", "9001")
    assert calls[1][1]["host"] == "0.0.0.0" and calls[1][1]["port"] == 9001
    assert "reachable from other machines" in capsys.readouterr().err
    for served, _ in calls:
        served.state.services.close()
