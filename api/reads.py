"""Read-model queries for async endpoints.

On PostgreSQL the server's event loop has its own connections (opened at start-up), so a query
costs no thread hop: handing work to a pool thread and back is a good part of a small query's
CPU here. Elsewhere (SQLite, or a loop without them, as in some tests) the blocking query runs
on the thread pool, through the store gate so shutdown waits for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool

from api.services import Services
from projections.db import Row


async def read(services: Services, sql: str, params: Sequence[Any] = ()) -> list[Row]:
    db = services.read_models
    if db.serves_async():
        return await db.aquery(sql, params)
    return await run_in_threadpool(services.gate.run, db.query, sql, params)
