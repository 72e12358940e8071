"""`@offloaded`: a blocking endpoint run on the thread pool from an async one.

FastAPI runs a plain `def` endpoint on the thread pool and then validates its return value on the
pool again: two hops per request. As a coroutine that offloads only the blocking call, it takes
one, and the (cheap) check of the returned model runs on the event loop.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool


def offloaded[**P, R](endpoint: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(endpoint)  # FastAPI reads the signature and annotations through __wrapped__
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return await run_in_threadpool(endpoint, *args, **kwargs)

    return run
