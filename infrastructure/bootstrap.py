"""The composition root: wires settings, persistence and adapters into the application."""

from __future__ import annotations

from application.service import OpenbellApplication
from infrastructure.settings import Settings, persistence_env
from projections.db import prepare_sqlite_file


def build_application(
    database_url: str | None = None, settings: Settings | None = None, cached_bots: int = 0
) -> OpenbellApplication:
    """`cached_bots` > 0 keeps that many bots in memory between commands (eventsourcing's
    aggregate cache): a command then reads only the events stored since (by any process)
    instead of the bot's whole history."""
    settings = settings or Settings()
    url = database_url or settings.database_url
    env = persistence_env(
        url,
        settings.database_password,
        settings.session_limits(),
        settings.database_client_deadline,
    )
    if "SQLITE_DBNAME" in env:
        prepare_sqlite_file(env["SQLITE_DBNAME"])
    if cached_bots > 0:
        env |= {"AGGREGATE_CACHE_MAXSIZE": str(cached_bots), "AGGREGATE_CACHE_FASTFORWARD": "y"}
    return OpenbellApplication(env=env)
