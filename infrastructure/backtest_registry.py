"""The `backtests` table in the main read-model database: one row per backtest (the Registry port).

Moments are UTC ISO-8601 text with microseconds (they sort as text); configs, options and the
result are JSON text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from application.backtest_records import BacktestRecord, BacktestStatus
from projections.db import ReadModelDatabase, Row

_DDL = (
    """CREATE TABLE IF NOT EXISTS backtests (
        id TEXT PRIMARY KEY, status TEXT NOT NULL, created_at TEXT NOT NULL,
        started_at TEXT, finished_at TEXT, dataset TEXT NOT NULL, configs TEXT NOT NULL,
        options TEXT NOT NULL, bars INTEGER NOT NULL, progress INTEGER NOT NULL,
        result TEXT, error TEXT, store_url TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS backtests_created ON backtests (created_at, id)",
)
_COLUMNS = (
    "id",
    "status",
    "created_at",
    "started_at",
    "finished_at",
    "dataset",
    "configs",
    "options",
    "bars",
    "progress",
    "result",
    "error",
    "store_url",
)
_UNFINISHED = (BacktestStatus.QUEUED.value, BacktestStatus.RUNNING.value)


class SqlBacktestRegistry:
    def __init__(self, db: ReadModelDatabase) -> None:
        self._db = db

    def ensure_table(self) -> None:
        with self._db.transaction() as tx:
            for statement in _DDL:
                tx.execute(statement)

    def add(self, record: BacktestRecord) -> None:
        row = _row(record)
        placeholders = ", ".join("?" for _ in _COLUMNS)
        self._db.query(
            f"INSERT INTO backtests ({', '.join(_COLUMNS)}) VALUES ({placeholders})",
            [row[c] for c in _COLUMNS],
        )

    def save(self, record: BacktestRecord) -> None:
        row = _row(record)
        changed = [c for c in _COLUMNS if c != "id"]
        self._db.query(
            f"UPDATE backtests SET {', '.join(f'{c} = ?' for c in changed)} WHERE id = ?",
            [*(row[c] for c in changed), row["id"]],
        )

    def get(self, backtest_id: UUID) -> BacktestRecord | None:
        rows = self._db.query("SELECT * FROM backtests WHERE id = ?", [str(backtest_id)])
        return _record(rows[0]) if rows else None

    def delete(self, backtest_id: UUID) -> None:
        self._db.query("DELETE FROM backtests WHERE id = ?", [str(backtest_id)])

    def recent(self, limit: int) -> list[BacktestRecord]:
        rows = self._db.query(
            "SELECT * FROM backtests ORDER BY created_at DESC, id DESC LIMIT ?", [limit]
        )
        return [_record(r) for r in rows]

    def unfinished(self) -> list[BacktestRecord]:
        rows = self._db.query(
            "SELECT * FROM backtests WHERE status IN (?, ?) ORDER BY created_at, id", _UNFINISHED
        )
        return [_record(r) for r in rows]


def _row(record: BacktestRecord) -> dict[str, Any]:
    return {
        "id": str(record.id),
        "status": record.status.value,
        "created_at": _iso(record.created_at),
        "started_at": _iso(record.started_at),
        "finished_at": _iso(record.finished_at),
        "dataset": record.dataset,
        "configs": json.dumps(record.configs),
        "options": json.dumps(record.options),
        "bars": record.bars,
        "progress": record.progress,
        "result": None if record.result is None else json.dumps(record.result),
        "error": record.error,
        "store_url": record.store_url,
    }


def _record(row: Row) -> BacktestRecord:
    return BacktestRecord(
        id=UUID(row["id"]),
        status=BacktestStatus(row["status"]),
        created_at=_moment(row["created_at"]) or datetime.min.replace(tzinfo=UTC),
        dataset=row["dataset"],
        configs=json.loads(row["configs"]),
        options=json.loads(row["options"]),
        bars=int(row["bars"]),
        store_url=row["store_url"],
        progress=int(row["progress"]),
        started_at=_moment(row["started_at"]),
        finished_at=_moment(row["finished_at"]),
        result=json.loads(row["result"]) if row["result"] else None,
        error=row["error"],
    )


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")


def _moment(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
