"""The one retry policy for requests to Alpaca (tenacity): which failures are worth another try,
and how long to wait before it.

Only a failure that may pass is tried again: a 429, a 5xx, or no HTTP answer at all (timeout,
connection error). The waits grow exponentially from `backoff` seconds: b, 2b, 4b...
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import requests
from alpaca.common.exceptions import APIError
from tenacity import (
    RetryCallState,
    Retrying,
    before_sleep_log,
    retry_base,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)


def transient(exc: BaseException) -> bool:
    """Throttled (429), a server error (5xx), or no HTTP answer: the same request may pass."""
    if isinstance(exc, APIError):
        status = exc.status_code
        return status is None or status == 429 or status >= 500
    return isinstance(exc, requests.RequestException)


def retrying(
    attempts: int,
    backoff: float,
    log: logging.Logger,
    *,
    retry: retry_base | None = None,
    on_retry: Callable[[], None] | None = None,
) -> Retrying:
    """At most `attempts` tries of a request, `backoff` seconds before the second, twice as long
    before each further one; `retry` (default: a transient failure) says which outcome is
    tried again, `on_retry` is told of each new try. Running out raises `tenacity.RetryError`."""
    log_retry = before_sleep_log(log, logging.DEBUG)

    def before_sleep(state: RetryCallState) -> None:
        if on_retry is not None:
            on_retry()
        log_retry(state)

    return Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_exponential(multiplier=backoff),
        retry=retry if retry is not None else retry_if_exception(transient),
        before_sleep=before_sleep,
    )
