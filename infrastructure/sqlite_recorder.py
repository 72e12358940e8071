"""The SQLite event recorder, inserting a save's events with one `executemany`.

The library's recorder inserts row by row to learn each notification id. Inside one write
transaction SQLite is the only writer and gives a rowid table max(rowid) + 1 per insert, so the
ids of a batch are the consecutive run that ends at `last_insert_rowid()`.
"""

from __future__ import annotations

from collections.abc import Sequence
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
        rows = []
        last_id: object = None
        key: str = ""
        for s in stored_events:
            if s.originator_id is not last_id:  # a save's events come bot by bot: one UUID.hex each
                last_id = s.originator_id
                key = last_id.hex if isinstance(last_id, UUID) else str(last_id)
            rows.append((key, s.originator_version, s.topic, s.state))
        c.executemany(self.insert_events_statement, rows)
        c.execute("SELECT last_insert_rowid()")
        last = int(c.fetchone()[0])
        return list(range(last - len(rows) + 1, last + 1))
