"""The SQLite event recorder, inserting a save's events with one `executemany`.

The library's recorder inserts row by row to learn each notification id. Inside one write
transaction SQLite is the only writer and gives a rowid table max(rowid) + 1 per insert, so the
ids of a batch are the consecutive run that ends at `last_insert_rowid()`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor


class BatchedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **_: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return []
        c.executemany(self.insert_events_statement, _rows(stored_events))
        c.execute("SELECT last_insert_rowid()")
        last = int(c.fetchone()[0])
        return list(range(last - len(stored_events) + 1, last + 1))


def _rows(stored_events: Sequence[StoredEvent]) -> Iterator[tuple[str, int, str, bytes]]:
    # Rows made as SQLite binds them: a batch's tens of thousands are never all alive at once.
    last_id: object = None
    key = ""
    for s in stored_events:
        if s.originator_id is not last_id:  # a save's events come bot by bot: one UUID.hex each
            last_id = s.originator_id
            key = last_id.hex if isinstance(last_id, UUID) else str(last_id)
        yield key, s.originator_version, s.topic, s.state
