"""PostgreSQL persistence: eventsourcing's, with session limits and saves of any size.

The library's recorder sends a save as one INSERT whose parameter is an array of every event,
inside a psycopg pipeline. From ~20,000 events client and server wait on each other for good
(psycopg #685: in pipeline mode each end waits for the other). This recorder holds
the same EXCLUSIVE table lock and sends NOTIFY as the library does, then reserves each batch's
notification ids from the table's sequence and streams its rows with COPY, at most ROWS_PER_COPY
per statement; one transaction holds them all, so a failed save stores nothing. The stored rows
are what the library would have stored.

Reserving ids with setval is safe because every writer of the table (this recorder and the
library's own) takes the EXCLUSIVE lock before it draws from the sequence; the unique index on
notification_id would refuse an overlap rather than let it pass.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
import psycopg.errors
from eventsourcing.persistence import (
    ApplicationRecorder,
    IntegrityError,
    OperationalError,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.utils import Environment, EnvType
from psycopg.sql import SQL, Identifier

from infrastructure.pg_watchdog import WATCHDOG, Watch
from projections.db import CONNECTION_KWARGS

# Ours, not the library's: libpq `options` for each new session, and the client's deadline.
SESSION_OPTIONS = "POSTGRES_SESSION_OPTIONS"
CLIENT_DEADLINE = "POSTGRES_CLIENT_DEADLINE"

CONNECT_ATTEMPTS = 10  # as the library's recorder: enough to get past a pool of dropped ones
ROWS_PER_COPY = 20_000  # ~6 MB a statement: each far inside statement_timeout
FIND_SEQUENCE = (
    "SELECT pg_get_serial_sequence(format('%%I.%%I', %s::text, %s::text), 'notification_id')"
)


class SaveFailed(OperationalError):
    """PostgreSQL did not complete a save (a timeout, a cancel, a lost connection): it rolled
    back, or, when the connection was lost while committing, its outcome is unknown."""


class Factory(PostgresFactory):
    """eventsourcing's PostgreSQL factory; each pooled session gets Openbell's limits."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        kwargs = self.datastore.pool.kwargs
        assert isinstance(kwargs, dict)  # the library passes a dict; it is read at each connect
        kwargs.update(CONNECTION_KWARGS)
        if options := self.env.get(SESSION_OPTIONS):
            kwargs["options"] = options

    def application_recorder(self) -> ApplicationRecorder:
        recorder = super().application_recorder()
        if isinstance(recorder, CopyPostgresApplicationRecorder):
            recorder.deadline = float(self.env.get(CLIENT_DEADLINE) or 0)
        return recorder


class CopyPostgresApplicationRecorder(PostgresApplicationRecorder):
    """Stores a save of any size in one transaction, its rows sent with COPY in batches."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = 0.0  # seconds a statement may take before the client cancels it
        schema, table = self.datastore.schema, self.events_table_name
        self._sequence: str | None = None
        self._table = (schema, table)
        self._copy = SQL(
            "COPY {} (originator_id, originator_version, topic, state, notification_id) "
            "FROM STDIN (FORMAT BINARY)"
        ).format(Identifier(schema, table))
        self._types = [self.datastore.originator_id_type, "int8", "text", "bytea", "int8"]

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """As the library's: the events' notification ids, in order (None for no events)."""
        if kwargs.get("tracking") is not None:
            raise NotImplementedError("an application recorder records no tracking")
        if not stored_events:
            return None
        return self.insert_event_batches([stored_events], f"saving {len(stored_events):,} events")

    def insert_event_batches(
        self, batches: Iterable[Sequence[StoredEvent]], operation: str = "saving events"
    ) -> list[int]:
        """Store every batch in one transaction, each sent as it comes (`batches` may still be
        producing them); all or nothing. SaveFailed names `operation` when PostgreSQL fails."""
        batches = iter(batches)
        for attempt in range(1, CONNECT_ATTEMPTS + 1):
            progress = _Progress()
            try:
                return self._insert(batches, progress)
            except IntegrityError:
                raise
            except PersistenceError as exc:
                # A pooled connection the server dropped (e.g. it restarted) fails at BEGIN,
                # before a batch is taken: then another connection may do. Else no retry.
                if progress.taken or attempt == CONNECT_ATTEMPTS or not _dropped(exc):
                    raise SaveFailed(_explain(operation, exc, progress, self.deadline)) from exc
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def _insert(self, batches: Iterator[Sequence[StoredEvent]], progress: _Progress) -> list[int]:
        ids: list[int] = []
        with self.datastore.get_connection() as conn, conn.cursor() as cursor:
            if self._sequence is None:
                cursor.execute(FIND_SEQUENCE, self._table)
                self._sequence = str(_first(cursor))
            with WATCHDOG.watching(conn, self.deadline) as deadline, conn.transaction():
                for batch in batches:
                    progress.taken = True
                    if batch:
                        ids += self._copy_batch(cursor, batch, deadline, first=not ids)
                progress.committing = True
                deadline.start()  # the commit is a wait like any other
        return ids

    def _copy_batch(
        self,
        cursor: psycopg.Cursor[Any],
        batch: Sequence[StoredEvent],
        deadline: Watch,
        first: bool,
    ) -> range:
        # Under the table lock nobody else draws from the sequence: a reserved run is ours.
        reserve = SQL("SELECT setval({0}::regclass, nextval({0}::regclass) + {1} - 1)").format(
            self._sequence, len(batch)
        )
        if first:  # lock_timeout, the lock, NOTIFY and the reservation in one round trip
            notify = SQL("NOTIFY {}").format(Identifier(self.channel_name))
            reserve = SQL("; ").join([*self.lock_table_statements, notify, reserve])
        with deadline:
            cursor.execute(reserve)
            while cursor.description is None and cursor.nextset():
                pass
            last = int(_first(cursor))
        start = last - len(batch) + 1
        for offset in range(0, len(batch), ROWS_PER_COPY):
            with deadline, cursor.copy(self._copy) as copy:
                copy.set_types(self._types)
                write_row, number = copy.write_row, start + offset
                for s in batch[offset : offset + ROWS_PER_COPY]:
                    write_row((s.originator_id, s.originator_version, s.topic, s.state, number))
                    number += 1
        return range(start, last + 1)


def _first(cursor: psycopg.Cursor[Any]) -> Any:
    row = cursor.fetchone()
    assert row is not None
    return next(iter(row.values())) if isinstance(row, dict) else row[0]


class _Progress:
    """How far a save got: whether it took a batch from its caller, whether it was committing."""

    taken = False
    committing = False


def _dropped(exc: PersistenceError) -> bool:
    """The connection was gone, rather than the server refusing or cancelling a statement."""
    return isinstance(exc.__cause__, psycopg.OperationalError) and not isinstance(
        exc.__cause__, psycopg.errors.QueryCanceled | psycopg.errors.LockNotAvailable
    )


def _explain(operation: str, exc: PersistenceError, progress: _Progress, deadline: float) -> str:
    cause = exc.__cause__
    detail = str(cause or exc).strip().splitlines()[0] if str(cause or exc).strip() else ""
    if isinstance(cause, psycopg.errors.QueryCanceled):
        if "statement timeout" in detail:
            reason = "a statement ran past statement_timeout"
        else:
            reason = f"no answer within the client deadline of {deadline:g} s"
    elif isinstance(cause, psycopg.errors.LockNotAvailable):
        reason = "the events table stayed locked by another writer past lock_timeout"
    elif isinstance(cause, psycopg.errors.IdleInTransactionSessionTimeout):
        reason = "the transaction sat idle past idle_in_transaction_session_timeout"
    else:
        reason = "the connection to PostgreSQL failed"
    outcome = (
        "the connection was lost while committing: check whether it was stored"
        if progress.committing and not isinstance(cause, psycopg.errors.QueryCanceled)
        else "nothing of it was stored"
    )
    return f"{operation}: {reason} ({detail}); {outcome}"
