"""Read-your-writes for queries: `?after=POSITION` waits until the read models have caught up.

Every command answers with `position`, the store position of the last event it wrote. A query
given `after=POSITION` waits (polling every POLL_SECONDS, at most WAIT_SECONDS) until every
projection has applied the store up to POSITION, so it sees that command's effect; otherwise it
answers 503 `read_model_lagging` with Retry-After. A position beyond the store's last one can
never be reached: 422. Every query response carries X-Read-Model-Position, a position all the
read models had reached (the minimum over projections) when the query began: the in-server
runner's own reading when it is under half a second old, else read from rm_tracking.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

from fastapi import Depends, Query, Response
from starlette.concurrency import run_in_threadpool

from api.deps import Authenticated, ServicesDep
from api.errors import ApiError, ErrorResponse
from api.params import invalid
from api.services import Services

POSITION_HEADER = "X-Read-Model-Position"
POLL_SECONDS = 0.02
WAIT_SECONDS = 5.0
RETRY_AFTER_SECONDS = 1

After = Annotated[
    int | None,
    Query(
        ge=0,
        description="a `position` a command returned: wait (up to 5 s) until the read models "
        "include it, so the answer reflects that command",
    ),
]

QUERY_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "headers": {
            POSITION_HEADER: {
                "description": "store position every read model has reached (min over them)",
                "schema": {"type": "integer"},
            }
        }
    },
    503: {
        "model": ErrorResponse,
        "description": "`read_model_lagging`: the read models did not reach `after` in time; "
        "retry after Retry-After seconds",
    },
}


def reached(services: Services) -> int:
    """The store position every projection has applied (the least of their positions)."""
    return min(services.projections.positions().values(), default=0)


async def _wait_for(services: Services, after: int | None) -> int:
    deadline = time.monotonic() + WAIT_SECONDS
    # The in-process runner's last look (at most half a second old) spares a query when enough.
    recent = services.projections.recent_position()
    if recent is not None and (after is None or recent >= after):
        return recent
    position = await run_in_threadpool(services.gate.run, reached, services)
    if after is None or position >= after:
        return position
    head = await run_in_threadpool(
        services.gate.run, services.application.recorder.max_notification_id
    )
    if after > (head or 0):
        raise invalid("after", f"position {after} is beyond the store's last one ({head or 0})")
    while position < after:
        if time.monotonic() >= deadline:
            raise ApiError(
                503,
                "read_model_lagging",
                f"read models at position {position}, not yet at {after}; retry shortly",
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        await asyncio.sleep(POLL_SECONDS)
        position = await run_in_threadpool(services.gate.run, reached, services)
    return position


async def read_model_position(
    services: ServicesDep, _: Authenticated, response: Response, after: After = None
) -> int:
    """Authenticated, then caught up to `after` if given; sets X-Read-Model-Position."""
    position = await _wait_for(services, after)
    response.headers[POSITION_HEADER] = str(position)
    return position


ReadModelPosition = Annotated[int, Depends(read_model_position)]
