"""FastAPI dependencies: the services on app.state, the backtests, the clock, ids, and
bearer-token auth.

They are `async def` on purpose: FastAPI runs a plain `def` dependency on the thread pool, a hop
that costs more than these do; only a token not seen in the last second goes to the database.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Annotated, Protocol
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError
from api.services import Services
from application.backtests import Backtests
from application.service import OpenbellApplication
from projections.db import ReadModelDatabase

bearer_scheme = HTTPBearer(
    auto_error=False, description="An API token from `openbell token create`."
)


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def get_application(services: ServicesDep) -> OpenbellApplication:
    return services.application


ApplicationDep = Annotated[OpenbellApplication, Depends(get_application)]


async def get_now(services: ServicesDep) -> datetime:
    """The moment a command happens, from the edge's wall clock (the domain never reads one)."""
    return services.clock()


Now = Annotated[datetime, Depends(get_now)]


async def get_new_bot_id(services: ServicesDep) -> UUID:
    return services.new_bot_id()


NewBotId = Annotated[UUID, Depends(get_new_bot_id)]


class BacktestStoreReader(Protocol):
    """A backtest's own store, as the routes read it."""

    def exists(self, backtest_id: UUID) -> bool: ...

    def read_models(self, backtest_id: UUID) -> AbstractContextManager[ReadModelDatabase]: ...


class BacktestAccess(Protocol):
    """The backtests application and their stores, built by create_app."""

    @property
    def backtests(self) -> Backtests: ...

    @property
    def stores(self) -> BacktestStoreReader: ...


async def get_backtests(request: Request) -> BacktestAccess:
    access: BacktestAccess = request.app.state.backtests
    return access


BacktestsDep = Annotated[BacktestAccess, Depends(get_backtests)]


def _unauthenticated(message: str, error: str | None = None) -> ApiError:
    challenge = f'Bearer error="{error}"' if error else "Bearer"
    return ApiError(401, "unauthenticated", message, {"WWW-Authenticate": challenge})


async def authenticate(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> str:
    """The id of the request's valid API token; 401 otherwise."""
    if credentials is None:
        raise _unauthenticated("missing or malformed Authorization header; send 'Bearer <token>'")
    token = credentials.credentials
    token_id = services.token_cache.get(token)
    if token_id is not None:
        return token_id
    token_id = await run_in_threadpool(services.gate.run, services.tokens.verify, token)
    if token_id is None:
        raise _unauthenticated("invalid or revoked token", "invalid_token")
    services.token_cache.put(token, token_id)
    return token_id


Authenticated = Annotated[str, Depends(authenticate)]


async def limit_commands(services: ServicesDep, token_id: Authenticated) -> str:
    """Authenticated, and within the token's command rate limit; 429 with Retry-After if not."""
    retry_after = services.command_limiter.acquire(token_id)
    if retry_after:
        raise ApiError(
            429,
            "rate_limited",
            f"too many commands; retry in {retry_after} s",
            {"Retry-After": str(retry_after)},
        )
    return token_id


CommandToken = Annotated[str, Depends(limit_commands)]
