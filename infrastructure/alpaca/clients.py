"""alpaca-py clients from an `AlpacaConfig`, with timeouts and without alpaca-py's blind retry.

Their HTTP goes through `lean_http.LeanSession` (requests' session only behind a proxy).

alpaca-py sends requests without a timeout and retries 429s by resubmitting after 3 s. A lost
order answer must instead be looked up by client order id before any resubmission, so the broker
adapter does its own retrying: the clients here fail fast and time out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.request import getproxies

from alpaca.data.enums import DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.live import StockDataStream
from alpaca.trading.client import TradingClient
from alpaca.trading.stream import TradingStream
from requests.adapters import HTTPAdapter

from infrastructure.alpaca.config import AlpacaConfig
from infrastructure.alpaca.lean_http import LeanSession

_CA_BUNDLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float, pool_size: int) -> None:
        super().__init__(pool_maxsize=pool_size)
        self._timeout = timeout

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def _fail_fast(client: Any, timeout: float, pool_size: int = 10) -> Any:
    # Private attributes of alpaca-py's RESTClient: no built-in retry, and a request timeout.
    client._retry = 0
    session = client._session
    if not getproxies():
        # The lean session: a fraction of requests' CPU per call (see lean_http). requests reads
        # the environment (proxies, CA bundle, ~/.netrc) on every call; read the bundle once.
        bundle = next((os.environ[n] for n in _CA_BUNDLES if os.environ.get(n)), None)
        verify = bundle or session.verify
        client._session = LeanSession(timeout, verify=verify)
        session.close()
        return client
    adapter = _TimeoutAdapter(timeout, pool_size)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return client


def trading_client(config: AlpacaConfig, timeout: float = 5.0) -> TradingClient:
    client = TradingClient(
        config.key_id.get_secret_value(),
        config.secret.get_secret_value(),
        paper=config.paper,
        url_override=config.trading_url,
    )
    return _fail_fast(client, timeout)  # type: ignore[no-any-return]


def history_client(config: AlpacaConfig, timeout: float = 10.0) -> StockHistoricalDataClient:
    client = StockHistoricalDataClient(
        config.key_id.get_secret_value(),
        config.secret.get_secret_value(),
        url_override=config.data_url,
    )
    return _fail_fast(client, timeout)  # type: ignore[no-any-return]


def _tune_backoff(stream: Any, min_backoff: float) -> Any:
    stream._reconnect_min_backoff = min_backoff  # alpaca-py's default is 1 s
    return stream


def trading_stream(config: AlpacaConfig, min_backoff: float = 1.0) -> TradingStream:
    stream = TradingStream(
        config.key_id.get_secret_value(),
        config.secret.get_secret_value(),
        paper=config.paper,
        raw_data=True,  # dicts: AlpacaBroker reads a few fields (`orders.OrderSnapshot`)
        url_override=config.trading_stream_url,  # type: ignore[arg-type]  # None: Alpaca's
    )
    return _tune_backoff(stream, min_backoff)  # type: ignore[no-any-return]


class _DataStream(StockDataStream):
    """StockDataStream that says when it has (re)subscribed, on its own thread.

    alpaca-py reconnects by itself and sends the subscription again; the bar feed then fetches
    what was published meanwhile at once, instead of when the next bar shows the gap.
    """

    on_subscribed: Callable[[], None] | None = None

    async def _send_subscribe_msg(self) -> None:
        await super()._send_subscribe_msg()
        if self.on_subscribed is not None:
            self.on_subscribed()


def data_stream(config: AlpacaConfig, min_backoff: float = 1.0) -> StockDataStream:
    stream = _DataStream(
        config.key_id.get_secret_value(),
        config.secret.get_secret_value(),
        feed=DataFeed(config.feed),
        url_override=config.data_stream_url,
    )
    return _tune_backoff(stream, min_backoff)  # type: ignore[no-any-return]
