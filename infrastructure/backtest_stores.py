"""A store per backtest: its own event store and read models, beside the main store.

With a SQLite main store a backtest lives in ``<main store's directory>/backtests/<id>.sqlite``;
with PostgreSQL, in the schema ``bt_<id hex>`` of the same database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, quote, urlencode, urlsplit, urlunsplit
from uuid import UUID

from application.backtest_records import BacktestsUnavailable
from application.service import OpenbellApplication
from infrastructure.bootstrap import build_application
from infrastructure.settings import Settings, with_password
from projections.db import ReadModelDatabase, sqlite_path_of
from projections.runner import ProjectionRunner


class BacktestStoreMissing(LookupError):
    """The backtest's store was removed (its file or schema is gone)."""


def schema_name(backtest_id: UUID) -> str:
    return f"bt_{backtest_id.hex}"


class BacktestWorkspace:
    """The `Workspace` port: a backtest's application and read models, open while it runs."""

    def __init__(self, url: str, settings: Settings) -> None:
        self._application = build_application(url, settings)
        try:
            self.read_models = ReadModelDatabase(
                with_password(url, settings.database_password), settings.session_limits()
            )
        except BaseException:
            self._application.close()
            raise

    @property
    def application(self) -> OpenbellApplication:
        return self._application

    def catch_up(self) -> None:
        ProjectionRunner(self._application, self.read_models).catch_up()

    def close(self) -> None:
        try:
            self._application.close()
        finally:
            self.read_models.close()


class BacktestStores:
    """The `Workspaces` port, and the reads and removal of backtest stores.

    `main` is the main read-model database (its URL may carry the password); PostgreSQL schemas
    are created through it.
    """

    def __init__(self, main: ReadModelDatabase, settings: Settings) -> None:
        self._main = main
        self._settings = settings
        parts = urlsplit(main.url)
        self._postgres = parts.scheme.startswith("postgres")
        self._sqlite_dir: Path | None = None
        if parts.scheme == "sqlite":
            path = sqlite_path_of(main.url)
            if path and path != ":memory:":
                self._sqlite_dir = Path(path).parent / "backtests"

    def url(self, backtest_id: UUID) -> str:
        """The store's URL without any password (safe to show)."""
        url = self._url(backtest_id)
        parts = urlsplit(url)
        if not self._postgres or parts.password is None:
            return url
        user, host = parts.netloc.rsplit("@", 1)
        return urlunsplit(parts._replace(netloc=f"{user.split(':', 1)[0]}@{host}"))

    def open(self, backtest_id: UUID) -> BacktestWorkspace:
        if self._postgres:
            self._main.query(f"CREATE SCHEMA IF NOT EXISTS {schema_name(backtest_id)}")
        elif self._sqlite_dir is not None:
            self._sqlite_dir.mkdir(parents=True, exist_ok=True)
        return BacktestWorkspace(self._url(backtest_id), self._settings)

    def exists(self, backtest_id: UUID) -> bool:
        if self._postgres:
            rows = self._main.query(
                "SELECT 1 AS found FROM information_schema.schemata WHERE schema_name = ?",
                [schema_name(backtest_id)],
            )
            return bool(rows)
        return self._sqlite_path(backtest_id).is_file()

    @contextmanager
    def read_models(self, backtest_id: UUID) -> Iterator[ReadModelDatabase]:
        """The backtest's read models, for queries; BacktestStoreMissing if the store is gone."""
        if not self.exists(backtest_id):
            raise BacktestStoreMissing(f"the store of backtest {backtest_id} was removed")
        # The main URL carries any password.
        db = ReadModelDatabase(self._url(backtest_id), self._settings.session_limits())
        try:
            yield db
        finally:
            db.close()

    def drop(self, backtest_id: UUID) -> None:
        """Remove the backtest's store (its schema, or its file and SQLite's side files)."""
        if self._postgres:
            self._main.query(f"DROP SCHEMA IF EXISTS {schema_name(backtest_id)} CASCADE")
            return
        path = self._sqlite_path(backtest_id)
        for suffix in ("", "-wal", "-shm"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)

    def _url(self, backtest_id: UUID) -> str:
        if self._postgres:
            parts = urlsplit(self._main.url)
            query = parse_qs(parts.query)
            query["schema"] = [schema_name(backtest_id)]
            return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))
        return f"sqlite:///{quote(str(self._sqlite_path(backtest_id)), safe='/:')}"

    def _sqlite_path(self, backtest_id: UUID) -> Path:
        if self._sqlite_dir is None:
            raise BacktestsUnavailable(
                "backtests need a SQLite file or PostgreSQL store, not an in-memory one"
            )
        return self._sqlite_dir / f"{backtest_id}.sqlite"
