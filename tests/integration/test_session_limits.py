"""Every PostgreSQL session carries the configured limits, and they end what they limit."""

from __future__ import annotations

import time
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from application.bulk_save import BatchWriter
from infrastructure.bootstrap import build_application
from infrastructure.postgres_store import CopyPostgresApplicationRecorder, SaveFailed
from infrastructure.settings import Settings
from projections.db import ReadModelDatabase

pytestmark = pytest.mark.postgres

SHOW = (
    "SELECT current_setting('statement_timeout') AS statement, "
    "current_setting('lock_timeout') AS lock, "
    "current_setting('idle_in_transaction_session_timeout') AS idle"
)


def settings(**limits: float) -> Settings:
    return Settings(_env_file=None, **{f"database_{k}": v for k, v in limits.items()})


def test_event_store_and_read_model_sessions_get_the_settings_limits(postgres_url: str) -> None:
    chosen = settings(statement_timeout=12.5, lock_timeout=7, idle_in_transaction_timeout=9)
    app = build_application(postgres_url, chosen)
    db = ReadModelDatabase(postgres_url, chosen.session_limits())
    try:
        recorder = app.recorder
        assert isinstance(recorder, CopyPostgresApplicationRecorder)
        with recorder.datastore.get_connection() as conn:
            event_store = conn.execute(SHOW).fetchone()
        expected = {"statement": "12500ms", "lock": "7s", "idle": "9s"}
        assert event_store == expected
        assert db.query(SHOW) == [expected]
    finally:
        db.close()
        app.close()


def test_a_save_left_idle_past_the_limit_ends_and_stores_nothing(postgres_url: str) -> None:
    app = build_application(postgres_url, settings(idle_in_transaction_timeout=1))
    try:
        originator = uuid4()
        events = [StoredEvent(originator, v, "tests:Event", b"{}") for v in range(1, 201)]
        with pytest.raises(SaveFailed) as failed, BatchWriter(app.recorder, "saving") as writer:
            writer.put(events[:100])
            time.sleep(2.5)  # a caller stuck between batches, the transaction open
            writer.put(events[100:])
        assert str(failed.value) == (
            "saving: the transaction sat idle past idle_in_transaction_session_timeout "
            "(terminating connection due to idle-in-transaction timeout); nothing of it was stored"
        )
        assert app.recorder.max_notification_id() is None
    finally:
        app.close()
