"""The read-model database: one small SQL layer over SQLite (sqlite3) and PostgreSQL (psycopg).

SQL is written once with `?` placeholders and portable types (TEXT, BIGINT, INTEGER); for
PostgreSQL the placeholders become `%s`. Decimals are stored as TEXT so they stay exact.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

Row = dict[str, Any]

# Pages of a new SQLite file (event store and read models share it). 32 KiB rather than the
# 4 KiB default: a replay's bulk insert writes an eighth as many WAL frames, for a little more
# per small live commit (bench/README.md has both figures).
SQLITE_PAGE_SIZE = 32768


# libpq keepalives: a server gone without a word (host down, network cut) is noticed in ~25 s,
# where a connection waiting for an answer would otherwise wait as long as the kernel lets it.
CONNECTION_KWARGS: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


@dataclass(frozen=True, slots=True)
class SessionLimits:
    """How long a PostgreSQL session may run a statement, wait for a lock, or sit idle inside a
    transaction, in seconds (0: no limit): past one the server ends the wait with an error, so
    nothing waits on the database forever. Settings chooses them; these are the defaults."""

    statement_timeout: float = 60.0
    lock_timeout: float = 30.0
    idle_in_transaction_timeout: float = 10.0

    def options(self) -> str:
        """The limits as libpq `options`, set on each session when it connects."""
        limits = (
            ("statement_timeout", self.statement_timeout),
            ("lock_timeout", self.lock_timeout),
            ("idle_in_transaction_session_timeout", self.idle_in_transaction_timeout),
        )
        return " ".join(f"-c {name}={round(seconds * 1000)}" for name, seconds in limits)


def sqlite_path_of(url: str) -> str:
    """The file a `sqlite:///PATH` URL names ("" when it names none)."""
    path = urlsplit(url).path
    return unquote(path[1:] if path.startswith("/") else path)


def prepare_sqlite_file(path: str) -> None:
    """Give a new SQLite file Openbell's page size and WAL mode before anything else opens
    it: the page size of a file in WAL mode is fixed. An existing file is left as it is."""
    file = Path(path)
    if path == ":memory:" or (file.exists() and file.stat().st_size > 0):
        return
    file.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    try:
        connection.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")
        connection.execute("PRAGMA journal_mode=WAL")
    finally:
        connection.close()


def _postgres_sql(sql: str) -> str:
    """The portable SQL with psycopg's placeholders (`?` -> `%s`)."""
    return sql.replace("?", "%s")


class Transaction:
    """Statements run inside one transaction; committed together or not at all."""

    def __init__(self, cursor: Any, postgres: bool) -> None:
        self._cursor = cursor
        self._postgres = postgres

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if self._postgres:
            sql = _postgres_sql(sql)
        self._cursor.execute(sql, tuple(params))
        if self._cursor.description is None:
            return []
        names = [column[0] for column in self._cursor.description]
        return [dict(zip(names, row, strict=True)) for row in self._cursor.fetchall()]

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if self._postgres:
            sql = _postgres_sql(sql)
        self._cursor.executemany(sql, [tuple(r) for r in rows])


class ReadModelDatabase:
    """Connections to the read models, in the same database as the event store."""

    def __init__(self, url: str, limits: SessionLimits | None = None) -> None:
        parts = urlsplit(url)
        self.url = url
        self.postgres = parts.scheme.startswith("postgres")
        self._lock = threading.Lock()
        self._async_pool: Any = None  # opened by open_async() on a server's event loop
        self._async_loop: asyncio.AbstractEventLoop | None = None
        if self.postgres:
            from psycopg_pool import ConnectionPool

            schema = parse_qs(parts.query).get("schema", [None])[0]
            conninfo = url.split("?", 1)[0]
            settings = (limits or SessionLimits()).options()
            if schema:
                settings = f"-c search_path={schema} {settings}"
            # Autocommit: a lone query is one round trip; transaction() still opens BEGIN/COMMIT.
            options: dict[str, Any] = CONNECTION_KWARGS | {"options": settings, "autocommit": True}
            self._conninfo, self._options = conninfo, options
            self._pool = ConnectionPool(conninfo, min_size=1, max_size=8, kwargs=options, open=True)
        else:
            path = sqlite_path_of(url)
            prepare_sqlite_file(path)
            self._sqlite = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._sqlite.execute("PRAGMA journal_mode=WAL")
            self._sqlite.execute("PRAGMA busy_timeout=10000")

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        if self.postgres:
            with self._pool.connection() as connection, connection.transaction():
                yield Transaction(connection.cursor(), postgres=True)
            return
        # One shared SQLite connection; the lock serialises threads (SQLite has one writer).
        with self._lock:
            cursor = self._sqlite.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(cursor, postgres=False)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """One statement, read on its own snapshot (no BEGIN/COMMIT round trips on PostgreSQL)."""
        if self.postgres:
            with self._pool.connection() as connection:
                return Transaction(connection.cursor(), postgres=True).execute(sql, params)
        with self.transaction() as tx:
            return tx.execute(sql, params)

    async def open_async(self) -> None:
        """PostgreSQL: a pool of async connections on the running loop, for `aquery`."""
        if not self.postgres or self._async_pool is not None:
            return
        from psycopg_pool import AsyncConnectionPool

        pool = AsyncConnectionPool(
            self._conninfo, min_size=1, max_size=8, kwargs=self._options, open=False
        )
        await pool.open()
        self._async_pool, self._async_loop = pool, asyncio.get_running_loop()

    async def close_async(self) -> None:
        pool, self._async_pool, self._async_loop = self._async_pool, None, None
        if pool is not None:
            await pool.close()

    def serves_async(self) -> bool:
        """Whether `aquery` can run on the current event loop (else: `query` on a thread)."""
        if self._async_pool is None:
            return False
        try:
            return asyncio.get_running_loop() is self._async_loop
        except RuntimeError:
            return False

    async def aquery(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """`query` without a thread: the event loop waits on the socket (see serves_async)."""
        from psycopg.rows import dict_row

        async with self._async_pool.connection() as connection:
            cursor = connection.cursor(row_factory=dict_row)
            await cursor.execute(_postgres_sql(sql), tuple(params))
            return [] if cursor.description is None else list(await cursor.fetchall())

    def close(self) -> None:
        if self.postgres:
            self._pool.close()
            return
        with self._lock:  # never close the shared connection under a running transaction
            self._sqlite.close()
