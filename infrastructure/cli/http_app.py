"""The HTTP app's composition root: settings, stores, tokens, backtests, the wall clock and
uuid4 ids, wired into `api.app.build_app`.

`openbell serve` calls `create_app`; `uvicorn --factory infrastructure.cli.http_app:create_app`
works too (settings from the environment). Wall clock and random ids live here, at the edge,
never in the domain.
"""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from fastapi import FastAPI

from api.app import build_app
from api.deps import BacktestAccess
from api.rate_limit import TokenBucketLimiter
from api.services import Services
from infrastructure.backtests import build_backtests
from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings, with_password
from infrastructure.tokens import TokenStore
from projections.db import ReadModelDatabase
from projections.runner import ProjectionRunner, ensure_tables


def utc_now() -> datetime:
    return datetime.now(UTC)


CACHED_BOTS = 1024  # commands read only a bot's new events, not its whole history


def build_services(database_url: str | None, settings: Settings) -> Services:
    url = database_url or settings.database_url
    application = build_application(url, settings, cached_bots=CACHED_BOTS)
    read_models = ReadModelDatabase(
        with_password(url, settings.database_password), settings.session_limits()
    )
    try:
        tokens = TokenStore(read_models)
        tokens.ensure_table()
        ensure_tables(read_models)
    except BaseException:
        read_models.close()
        application.close()
        raise
    return Services(
        projections=ProjectionRunner(application, read_models),
        settings=settings,
        application=application,
        read_models=read_models,
        tokens=tokens,
        command_limiter=TokenBucketLimiter(
            settings.command_rate_limit, settings.command_rate_window
        ),
        clock=utc_now,
        new_bot_id=uuid4,
    )


def build_backtest_access(services: Services) -> BacktestAccess:
    """The backtests' registry table, stores and worker (what a previous process left
    unfinished is failed)."""
    return build_backtests(
        services.read_models,
        services.settings,
        publish=services.broadcaster.publish,
        clock=services.clock,
        new_id=uuid4,
        start_worker=services.start_background,
    )


def create_app(database_url: str | None = None, settings: Settings | None = None) -> FastAPI:
    services = build_services(database_url, settings or Settings())
    return build_app(services, build_backtest_access(services))
