"""Per-batch row caches: read each row once, change it in memory, write it once per batch.

A projection applies a batch of events inside one transaction; rows it reads and changes many
times in that batch (a bot, an order, a day) are written back together at the end with one
`executemany` of upserts and deletes. A table is either cached or written directly, never both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from projections.db import Row, Transaction

Key = tuple[Any, ...]


class RowCache:
    """Rows of one table by primary key; None marks a row to delete."""

    def __init__(self, tx: Transaction, table: str, keys: Sequence[str]) -> None:
        self.tx, self.table, self.keys = tx, table, tuple(keys)
        self._rows: dict[Key, Row | None] = {}
        self._dirty: set[Key] = set()

    def find(self, *key: Any) -> Row | None:
        """The row (read-only use), or None if there is none."""
        if key not in self._rows:
            where = " AND ".join(f"{k} = ?" for k in self.keys)
            rows = self.tx.execute(f"SELECT * FROM {self.table} WHERE {where}", list(key))
            self._rows[key] = rows[0] if rows else None
        return self._rows[key]

    def get(self, *key: Any) -> Row:
        """The row, to change in place; LookupError if there is none."""
        row = self.find(*key)
        if row is None:
            raise LookupError(f"{self.table} has no row {key}: rebuild the projection")
        self._dirty.add(key)
        return row

    def put(self, row: Row) -> Row:
        """Insert or replace a whole row (every column)."""
        key = tuple(row[k] for k in self.keys)
        self._rows[key] = row
        self._dirty.add(key)
        return row

    def delete(self, *key: Any) -> None:
        self._rows[key] = None
        self._dirty.add(key)

    def dirty_rows(self) -> list[Row]:
        return [row for key in self._dirty if (row := self._rows[key]) is not None]

    def flush(self) -> None:
        dirty = sorted(self._dirty, key=repr)  # a fixed order: fewer lock-order surprises
        deletes = [list(key) for key in dirty if self._rows[key] is None]
        upserts = [row for key in dirty if (row := self._rows[key]) is not None]
        if deletes:
            where = " AND ".join(f"{k} = ?" for k in self.keys)
            self.tx.executemany(f"DELETE FROM {self.table} WHERE {where}", deletes)
        if upserts:
            columns = list(upserts[0])
            updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in self.keys)
            self.tx.executemany(
                f"INSERT INTO {self.table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)}) "
                f"ON CONFLICT ({', '.join(self.keys)}) DO UPDATE SET {updates}",
                [[row[c] for c in columns] for row in upserts],
            )
        self._dirty.clear()


class Batch:
    """What handlers write through while a batch is applied: the transaction and its caches."""

    def __init__(self, tx: Transaction, cached: Iterable[tuple[str, Sequence[str]]]) -> None:
        self.tx = tx
        self._caches = {table: RowCache(tx, table, keys) for table, keys in cached}

    def __getitem__(self, table: str) -> RowCache:
        return self._caches[table]

    def flush(self) -> None:
        for cache in self._caches.values():
            cache.flush()
