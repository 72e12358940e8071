"""One Settings object, read from the environment (see .env.example)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class InvalidDatabaseUrl(ValueError):
    """OPENBELL_DATABASE_URL is not a sqlite:/// or postgresql:// URL we can use."""


class Settings(BaseSettings):
    """Openbell's configuration; secrets are SecretStr so they never print."""

    model_config = SettingsConfigDict(env_prefix="OPENBELL_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/openbell.sqlite",
        description="sqlite:///PATH (embedded default) or postgresql://USER@HOST:PORT/DB",
    )
    database_password: SecretStr | None = None

    host: str = Field(
        default="127.0.0.1",
        description="address `openbell serve` binds; loopback unless you put TLS in front",
    )
    port: int = Field(default=8000, ge=1, le=65535, description="port `openbell serve` listens on")
    ui_origin: str = Field(
        default="http://127.0.0.1:8000",
        description="the dashboard's origin (scheme://host:port), the only one CORS allows",
    )
    command_rate_limit: int = Field(
        default=30, ge=1, description="commands one API token may send per rate window"
    )
    command_rate_window: float = Field(
        default=10.0, gt=0, description="seconds in which command_rate_limit commands may arrive"
    )
    run_projections: bool = Field(
        default=True, description="keep the read models up to date in the API process"
    )
    bars_dataset: str = Field(
        default="data/sample/bars.csv",
        description="bars file(s) (comma-separated CSV/Parquet) the API charts and replays",
    )
    max_request_bytes: int = Field(
        default=65536, ge=1, description="largest request body the HTTP API reads (else 413)"
    )

    alpaca_key_id: SecretStr | None = Field(default=None, description="Alpaca API key id")
    alpaca_secret: SecretStr | None = Field(default=None, description="Alpaca API secret key")
    alpaca_trading_url: str | None = Field(
        default=None, description="trading REST base URL (default: Alpaca paper, or live)"
    )
    alpaca_data_url: str | None = Field(default=None, description="market-data REST base URL")
    alpaca_data_stream_url: str | None = Field(
        default=None, description="market-data WebSocket URL (default wss://.../v2/<feed>)"
    )
    alpaca_trading_stream_url: str | None = Field(
        default=None, description="trade-updates WebSocket URL"
    )
    alpaca_feed: str = Field(default="iex", description="Alpaca data feed: iex or sip")
    live_trading: str = Field(
        default="no", description="'yes' trades real money through Alpaca's live endpoint"
    )

    @field_validator("ui_origin")
    @classmethod
    def _origin_without_slash(cls, value: str) -> str:
        # Browsers send Origin without a trailing slash; a configured one would never match.
        return value.rstrip("/")


SQLITE_RECORDER_TOPIC = "infrastructure.sqlite_recorder:BatchedSQLiteApplicationRecorder"


def persistence_env(database_url: str, password: SecretStr | None = None) -> dict[str, str]:
    """Translate a database URL into the eventsourcing library's environment variables."""
    env = {
        "MAPPER_TOPIC": "infrastructure.transcoding:TypedMapper",
        "TRANSCODER_TOPIC": "infrastructure.transcoding:OrjsonTranscoder",
    }
    parts = urlsplit(database_url)
    if parts.scheme == "memory":
        return env | {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if parts.scheme == "sqlite":
        path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
        if not path:
            raise InvalidDatabaseUrl(f"no file in {database_url!r}; use sqlite:///PATH")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return env | {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": path,
            "APPLICATION_RECORDER_TOPIC": SQLITE_RECORDER_TOPIC,
        }
    if parts.scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        dbname = parts.path.lstrip("/")
        if not dbname or not parts.hostname:
            raise InvalidDatabaseUrl(f"{_redacted(database_url)} needs a host and a database name")
        env |= {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": dbname,
            "POSTGRES_HOST": parts.hostname,
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or "")
            or (password.get_secret_value() if password else ""),
            "CREATE_TABLE": "y",
        }
        schema = parse_qs(parts.query).get("schema")
        if schema:
            env["POSTGRES_SCHEMA"] = schema[0]
        return env
    raise InvalidDatabaseUrl(
        f"unsupported database URL {_redacted(database_url)}: use sqlite:///PATH or postgresql://..."
    )


def with_password(url: str, password: SecretStr | None) -> str:
    """The URL with OPENBELL_DATABASE_PASSWORD filled in when it has none (never print it)."""
    parts = urlsplit(url)
    if password is None or parts.password or not parts.scheme.startswith("postgres"):
        return url
    user = parts.username or "postgres"
    netloc = f"{user}:{quote(password.get_secret_value(), safe='')}@{parts.netloc.split('@')[-1]}"
    return urlunsplit(parts._replace(netloc=netloc))


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
