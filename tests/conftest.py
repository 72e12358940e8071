"""Shared fixtures: fresh SQLite files and fresh PostgreSQL schemas for the event store."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def pytest_sessionstart(session: pytest.Session) -> None:
    """A compiled module older than its source would test the old code: refuse to start."""
    from infrastructure.native import stale_modules

    if stale := stale_modules():
        pytest.exit(
            f"compiled modules are older than their source ({', '.join(stale)}): "
            "run `make native` (or `python -m infrastructure.native clean`)",
            returncode=2,
        )


def _postgres_url() -> str:
    return os.environ.get("OPENBELL_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'events.sqlite'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A URL to an empty schema of its own, dropped afterwards; no PostgreSQL fails under CI."""
    import psycopg

    base = _postgres_url()
    try:
        connection = psycopg.connect(base, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required under CI but unreachable at {base}: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {base}")
    schema = f"ob_test_{uuid.uuid4().hex[:12]}"
    with connection:
        connection.execute(f"CREATE SCHEMA {schema}")
        try:
            yield f"{base}?schema={schema}"
        finally:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs on both stores."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(name))
