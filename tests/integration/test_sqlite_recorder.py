"""The batched SQLite recorder: the notification ids it reports are the ones stored."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from infrastructure.bootstrap import build_application
from infrastructure.sqlite_recorder import ROWS_PER_STATEMENT, BatchedSQLiteApplicationRecorder
from projections.db import SQLITE_PAGE_SIZE
from tests.builders import config

AT = datetime(2024, 11, 1, 14, 0, tzinfo=UTC)


def test_reported_positions_are_the_stored_notification_ids(sqlite_url: str) -> None:
    app = build_application(sqlite_url)
    try:
        assert isinstance(app.recorder, BatchedSQLiteApplicationRecorder)
        first = app.create_bot(UUID(int=1), config(name="one"), AT)
        bots = [app.new_bot(UUID(int=n), config(name=f"bot-{n}"), AT) for n in (2, 3)]
        for bot in bots:
            bot.start(AT)
            bot.pause(AT)
        recordings = app.save(*bots)

        stored = app.recorder.select_notifications(1, 100)
        assert first.position == 1
        assert [r.notification.id for r in recordings] == [n.id for n in stored[1:]]
        assert [
            (r.notification.originator_id, r.notification.originator_version) for r in recordings
        ] == [(n.originator_id, n.originator_version) for n in stored[1:]]
        assert [n.id for n in stored] == list(range(1, 8))
    finally:
        app.close()


def test_a_conflicting_batch_stores_none_of_its_events(sqlite_url: str) -> None:
    app = build_application(sqlite_url)
    try:
        app.create_bot(UUID(int=1), config(name="one"), AT)
        fresh = app.new_bot(UUID(int=2), config(name="two"), AT)
        winner, stale = app.get_bot(UUID(int=1)), app.get_bot(UUID(int=1))
        winner.start(AT)
        stale.start(AT)  # the same version as the winner's event
        app.save(winner)
        with pytest.raises(IntegrityError):
            app.save(fresh, stale)
        assert app.recorder.max_notification_id() == 2  # `fresh` was not stored either
        assert [n.id for n in app.recorder.select_notifications(1, 10)] == [1, 2]
    finally:
        app.close()


def test_a_save_larger_than_one_insert_statement_reports_every_position(sqlite_url: str) -> None:
    app = build_application(sqlite_url)
    try:
        bot = app.new_bot(UUID(int=4), config(name="busy"), AT)
        bot.start(AT)
        for _ in range(ROWS_PER_STATEMENT + 100):  # two statements: 500 rows, then the rest
            bot.pause(AT)
            bot.resume(AT)
        recordings = app.save(bot)
        stored = app.recorder.select_notifications(1, 2000)
        count = 2 + 2 * (ROWS_PER_STATEMENT + 100)
        assert [r.notification.id for r in recordings] == list(range(1, count + 1))
        assert [(n.originator_version, n.topic) for n in stored] == [
            (e.originator_version, e.topic) for e in app.recorder.select_events(bot.id)
        ]
        assert len(stored) == count
        assert app.get_bot(bot.id).status.value == "running"
    finally:
        app.close()


def test_a_new_store_file_gets_large_pages_and_an_existing_one_keeps_its_own(
    tmp_path: Path,
) -> None:
    fresh, old = tmp_path / "new" / "fresh.sqlite", tmp_path / "old.sqlite"
    with closing(sqlite3.connect(old)) as connection:  # a store made before: 4 KiB pages
        connection.execute("PRAGMA page_size=4096")
        connection.execute("CREATE TABLE earlier (x)")
    for path in (fresh, old):
        app = build_application(f"sqlite:///{path}")
        try:
            app.create_bot(UUID(int=1), config(name="one"), AT)
        finally:
            app.close()
    with closing(sqlite3.connect(fresh)) as connection:
        assert connection.execute("PRAGMA page_size").fetchone() == (SQLITE_PAGE_SIZE,)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with closing(sqlite3.connect(old)) as connection:
        assert connection.execute("PRAGMA page_size").fetchone() == (4096,)
        assert connection.execute("SELECT count(*) FROM stored_events").fetchone() == (1,)
