"""The SQLite event recorder, inserting a save's events with multi-row `INSERT` statements.

The library's recorder inserts row by row to learn each notification id. Inside one write
transaction SQLite is the only writer and gives a rowid table max(rowid) + 1 per insert, so the
ids of a batch are the consecutive run that ends at `last_insert_rowid()`. Hundreds of rows per
statement rather than `executemany` (a bind and a step per row) make a replay's insert cheaper.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor

ROWS_PER_STATEMENT = 500  # 2,000 parameters: far below SQLite's limit of 32,766
COLUMNS = 4  # originator_id, originator_version, topic, state


class BatchedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    def insert_event_batches(
        self, batches: Iterable[Sequence[StoredEvent]], operation: str = "saving events"
    ) -> list[int]:
        """Insert every batch in one write transaction, each as it arrives; all or nothing."""
        ids: list[int] = []
        with self.datastore.transaction(commit=True) as c:
            for batch in batches:
                ids += self._insert_events(c, batch) or []
        return ids

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **_: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        values = _values(stored_events)
        chunk = ROWS_PER_STATEMENT * COLUMNS
        for start in range(0, len(values), chunk):
            part = values[start : start + chunk]
            c.execute(_insert_statement(self.events_table_name, len(part) // COLUMNS), part)
        c.execute("SELECT last_insert_rowid()")
        last = int(c.fetchone()[0])
        return list(range(last - len(stored_events) + 1, last + 1))


@cache
def _insert_statement(table: str, rows: int) -> str:
    return f"INSERT INTO {table} VALUES " + ",".join(["(?,?,?,?)"] * rows)


def _values(stored_events: Sequence[StoredEvent]) -> list[Any]:
    """The rows' values, one after the other, as the multi-row statements bind them."""
    values: list[Any] = []
    extend = values.extend
    last_id: object = None
    key = ""
    for s in stored_events:
        if s.originator_id is not last_id:  # a save's events come bot by bot: one UUID.hex each
            last_id = s.originator_id
            key = last_id.hex if isinstance(last_id, UUID) else str(last_id)
        extend((key, s.originator_version, s.topic, s.state))
    return values
