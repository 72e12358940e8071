"""Runs projections over the event store's notification log, exactly once.

Each step reads a projection's position from rm_tracking (locking its row), applies the next batch
of notifications with its topics and records the new position, all in one read-model transaction:
a crash between steps neither loses nor repeats an event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence

from application.service import OpenbellApplication
from projections.base import Projection
from projections.bots import BotsProjection
from projections.db import ReadModelDatabase, Transaction
from projections.orders import OrdersProjection
from projections.pnl import PnlProjection
from projections.positions import PositionsProjection
from projections.trades import TradesProjection

log = logging.getLogger(__name__)

TRACKING_DDL = """CREATE TABLE IF NOT EXISTS rm_tracking (
    projection TEXT PRIMARY KEY, position BIGINT NOT NULL)"""
SCHEMA_DDL = """CREATE TABLE IF NOT EXISTS rm_schema (
    projection TEXT PRIMARY KEY, fingerprint TEXT NOT NULL)"""
_DDL_LOCK_KEY = 0x6F62726D  # serialises CREATE TABLE IF NOT EXISTS between PostgreSQL sessions


class UnknownProjection(LookupError):
    """A projection name that is not one of the runner's."""


def default_projections() -> list[Projection]:
    return [
        BotsProjection(),
        TradesProjection(),
        PositionsProjection(),
        OrdersProjection(),
        PnlProjection(),
    ]


def ensure_tables(db: ReadModelDatabase, projections: Iterable[Projection] | None = None) -> None:
    """Create rm_tracking and every projection's tables if missing; idempotent.

    A projection whose tables changed shape since they were made (its DDL fingerprint differs
    from the one recorded in rm_schema, or none was recorded) is dropped and set back to
    position 0, so the runner rebuilds it from the events: read models never need migrations.
    """
    with db.transaction() as tx:
        if db.postgres:
            tx.execute("SELECT pg_advisory_xact_lock(?)", [_DDL_LOCK_KEY])
        tx.execute(TRACKING_DDL)
        tx.execute(SCHEMA_DDL)
        for projection in default_projections() if projections is None else projections:
            _ensure(tx, projection)


def _ensure(tx: Transaction, projection: Projection) -> None:
    name, fingerprint = projection.name, projection.fingerprint
    recorded = tx.execute("SELECT fingerprint FROM rm_schema WHERE projection = ?", [name])
    tracked = tx.execute("SELECT position FROM rm_tracking WHERE projection = ?", [name])
    if tracked and (not recorded or recorded[0]["fingerprint"] != fingerprint):
        log.warning("read model %r changed shape: dropped, to be rebuilt from position 0", name)
        projection.drop(tx)
        tx.execute("UPDATE rm_tracking SET position = 0 WHERE projection = ?", [name])
    projection.create(tx)
    tx.execute(
        "INSERT INTO rm_tracking (projection, position) VALUES (?, 0) "
        "ON CONFLICT (projection) DO NOTHING",
        [name],
    )
    tx.execute(
        "INSERT INTO rm_schema (projection, fingerprint) VALUES (?, ?) "
        "ON CONFLICT (projection) DO UPDATE SET fingerprint = excluded.fingerprint",
        [name, fingerprint],
    )


class ProjectionRunner:
    """Keeps read models current with the event store; safe to run in several threads/processes."""

    def __init__(
        self,
        app: OpenbellApplication,
        db: ReadModelDatabase,
        projections: Sequence[Projection] | None = None,
    ) -> None:
        self.app = app
        self.db = db
        self.projections = list(projections) if projections is not None else default_projections()
        self._by_name = {p.name: p for p in self.projections}
        self._seen: tuple[int, float] | None = None  # (least position, monotonic time) last read
        ensure_tables(db, self.projections)

    def recent_position(self, max_age: float = 0.5) -> int | None:
        """The least position this runner saw its read models at, if it looked in the last
        `max_age` seconds: a lower bound that saves a query while the runner is polling."""
        seen = self._seen
        if seen is None or time.monotonic() - seen[1] > max_age:
            return None
        return seen[0]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.projections]

    def select(self, name: str | None = None) -> list[Projection]:
        if name is None:
            return list(self.projections)
        if name not in self._by_name:
            known = ", ".join(self.names)
            raise UnknownProjection(f"unknown projection {name!r} (known: {known})")
        return [self._by_name[name]]

    def run_once(self, batch_size: int = 500) -> int:
        """At most one batch per projection; returns how many events were applied."""
        head = self._head()
        return sum(self._step(p, batch_size, head) for p in self.projections)

    def catch_up(self, batch_size: int = 500) -> int:
        """Batches until every projection has seen the last event; returns events applied."""
        return self._catch_up(self.projections, batch_size)

    def rebuild(self, name: str | None = None, batch_size: int = 500) -> int:
        """Drop and recreate the tables of one projection (or all) and replay it from the start."""
        chosen = self.select(name)
        with self.db.transaction() as tx:
            for projection in chosen:  # tracking rows first, as a step locks them: no deadlock
                self._lock_position(tx, projection.name)
            for projection in chosen:
                projection.drop(tx)
                projection.create(tx)
                self._set_position(tx, projection.name, 0)
        return self._catch_up(chosen, batch_size)

    def positions(self) -> dict[str, int]:
        rows = self.db.query("SELECT projection, position FROM rm_tracking")
        found = {r["projection"]: int(r["position"]) for r in rows}
        return {name: found.get(name, 0) for name in self.names}

    def lag(self) -> dict[str, int]:
        head = self._head()
        return {name: max(head - position, 0) for name, position in self.positions().items()}

    def run_forever(self, stop: threading.Event, interval: float = 0.1) -> None:
        """Catch up, then poll every `interval` seconds until `stop` is set (for a thread)."""
        backoff = interval
        while not stop.is_set():
            try:
                applied = self.catch_up()
            except Exception:
                log.exception("projection runner failed; retrying in %.1f s", backoff)
                stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = interval
            if not applied:
                stop.wait(interval)

    def _catch_up(self, projections: Sequence[Projection], batch_size: int) -> int:
        total = 0
        while True:
            head = self._head()
            # One unlocked read first: an idle poll then takes no lock and opens no write.
            known = self.positions()
            behind = [p for p in projections if known.get(p.name, 0) < head]
            if not behind:
                if len(projections) == len(self.projections):
                    self._seen = (min(known.values(), default=0), time.monotonic())
                return total
            applied = sum(self._step(p, batch_size, head) for p in behind)
            total += applied
            if not applied:
                return total

    def _step(self, projection: Projection, batch_size: int, head: int) -> int:
        with self.db.transaction() as tx:
            position = self._lock_position(tx, projection.name)
            if position >= head:
                return 0
            batch = self.app.recorder.select_notifications(
                position + 1, batch_size, stop=head, topics=projection.topics
            )
            decode = self.app.mapper.to_domain_event
            projection.apply_batch(tx, [(decode(n), n.id) for n in batch])
            # A short batch saw everything up to `head`, matching topics or not.
            new_position = batch[-1].id if len(batch) == batch_size else head
            self._set_position(tx, projection.name, new_position)
            return len(batch)

    def _head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def _lock_position(self, tx: Transaction, name: str) -> int:
        # SQLite transactions here are BEGIN IMMEDIATE (one writer); PostgreSQL locks the row.
        lock = " FOR UPDATE" if self.db.postgres else ""
        rows = tx.execute(f"SELECT position FROM rm_tracking WHERE projection = ?{lock}", [name])
        if not rows:
            raise UnknownProjection(f"no tracking row for {name!r}: call ensure_tables()")
        return int(rows[0]["position"])

    @staticmethod
    def _set_position(tx: Transaction, name: str, position: int) -> None:
        tx.execute("UPDATE rm_tracking SET position = ? WHERE projection = ?", [position, name])
