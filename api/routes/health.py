"""Liveness and store reachability, for load balancers and `docker compose` health checks."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from api.deps import ServicesDep
from api.offload import offloaded
from api.services import Services

log = logging.getLogger("openbell.api")

router = APIRouter(tags=["health"])

Reachability = Literal["reachable", "unreachable"]


class HealthResponse(BaseModel):
    status: Literal["ok", "degraded"]
    store: Reachability
    read_models: Reachability
    projection_lag: dict[str, int] | None = Field(
        description="per projection, the stored events it has yet to apply (null when a store "
        "is unreachable)"
    )


def _check(name: str, probe: Callable[[], object]) -> Reachability:
    try:
        probe()
    except Exception as exc:  # any failure means "not usable now"; details stay in the log
        log.warning("health: %s unreachable (%s)", name, type(exc).__name__)
        return "unreachable"
    return "reachable"


@router.get("/health", responses={503: {"model": HealthResponse, "description": "degraded"}})
@offloaded
def health_check(services: ServicesDep, response: Response) -> HealthResponse:
    """Whether the event store and the read-model database answer, and how far each projection
    lags behind the store; needs no token."""
    store = _check("event store", services.application.recorder.max_notification_id)
    read_models = _check("read models", lambda: services.read_models.query("SELECT 1 AS ok"))
    healthy = store == "reachable" and read_models == "reachable"
    if not healthy:
        response.status_code = 503
    return HealthResponse(
        status="ok" if healthy else "degraded",
        store=store,
        read_models=read_models,
        projection_lag=_lag(services) if healthy else None,
    )


def _lag(services: Services) -> dict[str, int] | None:
    try:
        return services.projections.lag()
    except Exception as exc:  # a store that failed just now: report, do not fail the probe
        log.warning("health: projection lag unavailable (%s)", type(exc).__name__)
        return None
