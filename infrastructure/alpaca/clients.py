"""alpaca-py clients from an `AlpacaConfig`, with timeouts and without alpaca-py's blind retry.

alpaca-py sends requests without a timeout and retries 429s by resubmitting after 3 s. A lost
order answer must instead be looked up by client order id before any resubmission, so the broker
adapter does its own retrying: the clients here fail fast and time out.
"""

from __future__ import annotations

from typing import Any

from alpaca.data.enums import DataFeed
from alpaca.data.historical import StockHistoricalDataClient
from alpaca.data.live import StockDataStream
from alpaca.trading.client import TradingClient
from alpaca.trading.stream import TradingStream
from requests.adapters import HTTPAdapter

from infrastructure.alpaca.config import AlpacaConfig


class _TimeoutAdapter(HTTPAdapter):
    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def send(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


def _fail_fast(client: Any, timeout: float) -> Any:
    # Private attributes of alpaca-py's RESTClient: no built-in retry, and a request timeout.
    client._retry = 0
    adapter = _TimeoutAdapter(timeout)
    client._session.mount("http://", adapter)
    client._session.mount("https://", adapter)
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
        url_override=config.trading_stream_url,  # type: ignore[arg-type]  # None: Alpaca's
    )
    return _tune_backoff(stream, min_backoff)  # type: ignore[no-any-return]


def data_stream(config: AlpacaConfig, min_backoff: float = 1.0) -> StockDataStream:
    stream = StockDataStream(
        config.key_id.get_secret_value(),
        config.secret.get_secret_value(),
        feed=DataFeed(config.feed),
        url_override=config.data_stream_url,
    )
    return _tune_backoff(stream, min_backoff)  # type: ignore[no-any-return]
