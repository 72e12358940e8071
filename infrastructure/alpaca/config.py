"""Where Alpaca is and which keys to use: from Settings, paper unless live is asked for."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import SecretStr

from infrastructure.settings import Settings

LIVE_TRADING_URL = "https://api.alpaca.markets"


class AlpacaConfigError(ValueError):
    """Keys missing, or a live endpoint without OPENBELL_LIVE_TRADING=yes."""


@dataclass(frozen=True)
class AlpacaConfig:
    """Keys stay SecretStr (never printed); a URL left None means Alpaca's own endpoint."""

    key_id: SecretStr = field(repr=False)
    secret: SecretStr = field(repr=False)
    paper: bool = True
    trading_url: str | None = None
    data_url: str | None = None
    data_stream_url: str | None = None
    trading_stream_url: str | None = None
    feed: str = "iex"

    @classmethod
    def from_settings(cls, settings: Settings) -> AlpacaConfig:
        if settings.alpaca_key_id is None or settings.alpaca_secret is None:
            raise AlpacaConfigError(
                "set OPENBELL_ALPACA_KEY_ID and OPENBELL_ALPACA_SECRET (paper keys by default)"
            )
        live = settings.live_trading.strip().lower() == "yes"
        url = settings.alpaca_trading_url
        if not live and url is not None and url.rstrip("/") == LIVE_TRADING_URL:
            raise AlpacaConfigError(
                f"{LIVE_TRADING_URL} trades real money: set OPENBELL_LIVE_TRADING=yes to use it"
            )
        return cls(
            key_id=settings.alpaca_key_id,
            secret=settings.alpaca_secret,
            paper=not live,
            trading_url=url,
            data_url=settings.alpaca_data_url,
            data_stream_url=settings.alpaca_data_stream_url,
            trading_stream_url=settings.alpaca_trading_stream_url,
            feed=settings.alpaca_feed,
        )

    @classmethod
    def for_simulator(
        cls, base_url: str, key: str = "sim-key", secret: str = "sim-secret"
    ) -> AlpacaConfig:
        """Every endpoint on one `openbell alpaca-sim` server."""
        ws = base_url.replace("http://", "ws://").replace("https://", "wss://")
        return cls(
            key_id=SecretStr(key),
            secret=SecretStr(secret),
            trading_url=base_url,
            data_url=base_url,
            data_stream_url=f"{ws}/v2/iex",
            trading_stream_url=f"{ws}/stream",
        )
