"""Runs projections over the event store's notification log, exactly once.

Each step reads the positions of the projections behind from rm_tracking (locking their rows),
reads the next batch of notifications once, lets each projection apply those past its own
position and records the new positions, all in one read-model transaction: a crash between steps
neither loses nor repeats an event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence

from tenacity import (
    RetryError,
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    wait_exponential,
)

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
MAX_BACKOFF = 30.0  # seconds: the longest wait between catch-ups that keep failing


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


def _retried_until(stop: threading.Event, interval: float) -> Retrying:
    """A failed catch-up tried again after `interval` seconds, then twice as long each time up
    to MAX_BACKOFF, until `stop` is set; `tenacity.RetryError` once it is."""

    def pause(seconds: float) -> None:
        stop.wait(seconds)

    return Retrying(
        stop=lambda _: stop.is_set(),
        wait=wait_exponential(multiplier=interval, max=MAX_BACKOFF),
        sleep=pause,
        retry=retry_if_exception_type(Exception),
        before_sleep=before_sleep_log(log, logging.ERROR, exc_info=True),
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
        """One batch of the log for the projections behind; returns how many (event,
        projection) pairs were applied."""
        return self._step(self.projections, batch_size, self._head())

    def catch_up(self, batch_size: int = 500) -> int:
        """Batches until every projection has seen the last event; returns events applied."""
        return self._catch_up(self.projections, batch_size)

    def rebuild(self, name: str | None = None, batch_size: int = 500) -> int:
        """Drop and recreate the tables of one projection (or all) and replay it from the start."""
        chosen = self.select(name)
        with self.db.transaction() as tx:
            self._lock_positions(tx, [p.name for p in chosen])  # first, in a step's order
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
        catching_up = _retried_until(stop, interval)

        def attempt() -> int:
            return 0 if stop.is_set() else self.catch_up()  # set while waiting: no more tries

        while not stop.is_set():
            try:
                applied = catching_up(attempt)
            except RetryError:  # stopped while failing
                return
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
            # Each step moves the least position forward (or every one to head): this ends.
            total += self._step(behind, batch_size, head)

    def _step(self, projections: Sequence[Projection], batch_size: int, head: int) -> int:
        """One transaction for the projections behind `head`: their tracking rows locked, one
        read of the log from the least of their positions, each applying the events past its
        own, every position recorded. Returns how many (event, projection) pairs were applied."""
        with self.db.transaction() as tx:
            positions = self._lock_positions(tx, [p.name for p in projections])
            behind = [p for p in projections if positions[p.name] < head]
            if not behind:
                return 0
            start = min(positions[p.name] for p in behind)
            topics = sorted({topic for p in behind for topic in p.topics})
            batch = self.app.recorder.select_notifications(
                start + 1, batch_size, stop=head, topics=topics
            )
            # A short batch saw everything up to `head`, matching topics or not.
            reached = batch[-1].id if len(batch) == batch_size else head
            decode = self.app.mapper.to_domain_event
            events = [(n.id, n.topic, decode(n)) for n in batch]
            applied = 0
            for projection in behind:
                mine, since = set(projection.topics), positions[projection.name]
                items = [(e, i) for i, topic, e in events if i > since and topic in mine]
                projection.apply_batch(tx, items)
                applied += len(items)
                self._set_position(tx, projection.name, max(since, reached))
            return applied

    def _head(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def _lock_positions(self, tx: Transaction, names: Sequence[str]) -> dict[str, int]:
        # SQLite transactions here are BEGIN IMMEDIATE (one writer); PostgreSQL locks the rows,
        # always in name order, so two runners (or a rebuild) never deadlock on them.
        marks = ", ".join("?" for _ in names)
        lock = " FOR UPDATE" if self.db.postgres else ""
        rows = tx.execute(
            f"SELECT projection, position FROM rm_tracking WHERE projection IN ({marks}) "
            f"ORDER BY projection{lock}",
            list(names),
        )
        found = {r["projection"]: int(r["position"]) for r in rows}
        for name in names:
            if name not in found:
                raise UnknownProjection(f"no tracking row for {name!r}: call ensure_tables()")
        return found

    @staticmethod
    def _set_position(tx: Transaction, name: str, position: int) -> None:
        tx.execute("UPDATE rm_tracking SET position = ? WHERE projection = ?", [position, name])
