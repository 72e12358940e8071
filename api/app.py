"""The HTTP composition root: `create_app` wires settings, stores, clock and ids into FastAPI.

`openbell serve` calls it; `uvicorn --factory api.app:create_app` works too (settings from the
environment). Wall clock and random ids live here, at the edge, never in the domain.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from uuid import uuid4

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from api.deps import BacktestAccess
from api.errors import install_error_handlers
from api.middleware import BodySizeLimit, SecurityHeaders, UnhandledErrors
from api.rate_limit import TokenBucketLimiter
from api.routes import backtests, bots, feed, health
from api.services import Services
from api.ui_static import install_ui
from infrastructure.backtests import build_backtests
from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings, with_password
from infrastructure.tokens import TokenStore
from projections.db import ReadModelDatabase
from projections.runner import ProjectionRunner, ensure_tables


def utc_now() -> datetime:
    return datetime.now(UTC)


def operation_id(route: APIRoute) -> str:
    """`bots-create_bot`: the router's tag and the endpoint's name, for tidy client code."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


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
    settings = settings or Settings()
    services = build_services(database_url, settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await services.read_models.open_async()  # queries on the loop's own connections
        if settings.run_projections:
            # Read models follow the event store in the background (CQRS: queries read them).
            services.start_background("projections", services.projections.run_forever)
        yield
        await services.read_models.close_async()
        services.close()

    app = FastAPI(
        title="Openbell",
        summary="Commands for Openbell's trading bots (reads come from the read models).",
        version=_version(),
        generate_unique_id_function=operation_id,
        lifespan=lifespan,
    )
    app.state.services = services
    install_error_handlers(app)
    app.include_router(health.router)
    from api.routes import ws  # the live WebSocket, `/ws` (kept to one spot in this shared file)

    app.include_router(ws.router)
    app.include_router(bots.router)
    from api.routes import market, portfolio, trades  # the queries (kept to one spot here)

    app.include_router(trades.router)
    app.include_router(portfolio.router)
    app.include_router(market.router)
    app.include_router(feed.router)
    app.include_router(backtests.router)
    app.state.backtests = build_backtest_access(services)
    install_ui(app)  # the built dashboard at `/` (after every router: it catches the rest)
    # Added innermost first: SecurityHeaders wraps CORS wraps the body limit wraps the 500s.
    app.add_middleware(UnhandledErrors)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_bytes)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=[settings.ui_origin],
        allow_methods=["GET", "POST", "PUT", "DELETE"],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )
    app.add_middleware(SecurityHeaders)
    return app


def _version() -> str:
    try:
        return version("openbell")
    except PackageNotFoundError:
        return "0.0.0"
