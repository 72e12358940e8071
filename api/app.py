"""The FastAPI app: routers, error handlers and middleware around the services that the
composition root (`infrastructure/cli/http_app.py`) built.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from api.deps import BacktestAccess
from api.errors import install_error_handlers
from api.middleware import BodySizeLimit, SecurityHeaders, UnhandledErrors
from api.routes import backtests, bots, feed, health
from api.services import Services
from api.ui_static import install_ui


def operation_id(route: APIRoute) -> str:
    """`bots-create_bot`: the router's tag and the endpoint's name, for tidy client code."""
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def build_app(services: Services, backtest_access: BacktestAccess) -> FastAPI:
    """The HTTP API and the dashboard over `services`; the caller built and owns them."""
    settings = services.settings

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
    app.state.backtests = backtest_access
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
