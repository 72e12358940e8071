"""The batched SQLite recorder: the notification ids it reports are the ones stored."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from infrastructure.bootstrap import build_application
from infrastructure.sqlite_recorder import BatchedSQLiteApplicationRecorder
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
