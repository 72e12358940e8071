"""One Settings object, read from the environment (see .env.example)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import Field, SecretStr
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
        return env | {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path}
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


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@")
    return url
