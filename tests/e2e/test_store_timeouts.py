"""A call PostgreSQL does not complete in time is a clear error: CLI one line and exit 2, API 503.

Another session holds a lock on the events table that every save must wait for; the save's
statement_timeout (server side) or its client deadline (the client's own) ends the wait.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from infrastructure.bootstrap import build_application
from tests.conftest import _postgres_url
from tests.e2e.test_api_commands import CONFIG, assert_error, start_api

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
OPENBELL = str(Path(sys.executable).parent / "openbell")
SAMPLE = ROOT / "data" / "sample"

# Each case: the settings, and what the error line says ended the wait.
LIMITS = {
    "statement_timeout": (
        {"OPENBELL_DATABASE_STATEMENT_TIMEOUT": "0.5"},
        "a statement ran past statement_timeout",
    ),
    "client_deadline": (
        {"OPENBELL_DATABASE_STATEMENT_TIMEOUT": "0", "OPENBELL_DATABASE_CLIENT_DEADLINE": "0.5"},
        "no answer within the client deadline of 0.5 s",
    ),
}


@contextmanager
def events_table_held(url: str) -> Iterator[None]:
    """The events table locked against writers (not readers) by another session."""
    build_application(url).close()  # the tables exist
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    with psycopg.connect(_postgres_url()) as other, other.transaction():
        other.execute(f"LOCK TABLE {schema}.openbell_events IN SHARE MODE")
        yield


def stored_events(url: str) -> int:
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    with psycopg.connect(_postgres_url()) as connection:
        row = connection.execute(f"SELECT count(*) FROM {schema}.openbell_events").fetchone()
        return int(row[0]) if row else -1


@pytest.mark.parametrize("limit", sorted(LIMITS))
def test_a_replay_whose_save_cannot_finish_is_one_error_line_and_exit_2(
    postgres_url: str, limit: str
) -> None:
    env, reason = LIMITS[limit]
    with events_table_held(postgres_url):
        done = subprocess.run(
            [
                *(OPENBELL, "--database-url", postgres_url, "replay"),
                *("--bars", str(SAMPLE / "bars.csv")),
                *("--config", str(SAMPLE / "bots" / "rsi_macd.json")),
            ],
            env=os.environ | env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("openbell: error: replay: ")
    assert "saving " in lines[0] and reason in lines[0]
    assert lines[0].endswith("nothing of it was stored")
    assert stored_events(postgres_url) == 0


def test_a_command_whose_save_times_out_is_503_naming_the_request(postgres_url: str) -> None:
    for api in start_api(postgres_url, database_statement_timeout=0.5):
        with events_table_held(postgres_url):
            response = api.post("/api/bots", json=CONFIG)
        error = assert_error(response, 503, "store_unavailable")
        assert error["message"].startswith("POST /api/bots: ")
        assert "a statement ran past statement_timeout" in error["message"]
        assert response.headers["Retry-After"] == "5"
        assert stored_events(postgres_url) == 0
        assert api.post("/api/bots", json=CONFIG).status_code == 201  # once the lock is gone
