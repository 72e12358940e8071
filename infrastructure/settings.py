"""One Settings object, read from the environment (see .env.example)."""

from __future__ import annotations

import math
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from projections.db import SessionLimits, sqlite_path_of

_LIMITS = SessionLimits()


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
    database_statement_timeout: float = Field(
        default=_LIMITS.statement_timeout,
        ge=0,
        description="PostgreSQL: seconds one statement may run before the server cancels it (0: "
        "no limit); a save sends its rows in statements far shorter than this",
    )
    database_lock_timeout: int = Field(
        default=int(_LIMITS.lock_timeout),
        ge=0,
        description="PostgreSQL: whole seconds a session may wait for a lock (0: no limit)",
    )
    database_idle_in_transaction_timeout: int = Field(
        default=int(_LIMITS.idle_in_transaction_timeout),
        ge=0,
        description="PostgreSQL: whole seconds a transaction may sit idle before the server ends "
        "the session (0: no limit)",
    )
    database_client_deadline: float = Field(
        default=75.0,
        ge=0,
        description="PostgreSQL: seconds the client waits on one statement of a save before it "
        "cancels it itself, for when the server cannot (0: never)",
    )

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

    def session_limits(self) -> SessionLimits:
        return SessionLimits(
            statement_timeout=self.database_statement_timeout,
            lock_timeout=self.database_lock_timeout,
            idle_in_transaction_timeout=self.database_idle_in_transaction_timeout,
        )

    @field_validator("ui_origin")
    @classmethod
    def _origin_without_slash(cls, value: str) -> str:
        # Browsers send Origin without a trailing slash; a configured one would never match.
        return value.rstrip("/")


SQLITE_RECORDER_TOPIC = "infrastructure.sqlite_recorder:BatchedSQLiteApplicationRecorder"
POSTGRES_RECORDER_TOPIC = "infrastructure.postgres_store:CopyPostgresApplicationRecorder"


def persistence_env(
    database_url: str,
    password: SecretStr | None = None,
    limits: SessionLimits | None = None,
    client_deadline: float | None = None,
) -> dict[str, str]:
    """Translate a database URL into the eventsourcing library's environment variables (and
    our PostgreSQL factory's: infrastructure.postgres_store)."""
    env = {
        "MAPPER_TOPIC": "infrastructure.transcoding:TypedMapper",
        "TRANSCODER_TOPIC": "infrastructure.transcoding:OrjsonTranscoder",
    }
    parts = urlsplit(database_url)
    if parts.scheme == "memory":
        return env | {"PERSISTENCE_MODULE": "eventsourcing.popo"}
    if parts.scheme == "sqlite":
        path = sqlite_path_of(database_url)
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
        limits = limits or _LIMITS
        env |= {
            "PERSISTENCE_MODULE": "infrastructure.postgres_store:Factory",
            "APPLICATION_RECORDER_TOPIC": POSTGRES_RECORDER_TOPIC,
            "POSTGRES_SESSION_OPTIONS": limits.options(),
            "POSTGRES_CLIENT_DEADLINE": str(
                Settings.model_fields["database_client_deadline"].default
                if client_deadline is None
                else client_deadline
            ),
            # The library sets these two itself (whole seconds), after our session options.
            "POSTGRES_LOCK_TIMEOUT": str(math.ceil(limits.lock_timeout)),
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(
                math.ceil(limits.idle_in_transaction_timeout)
            ),
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
