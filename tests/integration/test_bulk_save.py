"""A save fed in batches from a writer thread: committed whole, or not at all (both stores)."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from application.bulk_save import BatchRecorder, BatchWriter
from infrastructure.bootstrap import build_application


def events(count: int) -> list[StoredEvent]:
    originator = uuid4()
    return [StoredEvent(originator, v, "tests:Event", b"{}") for v in range(1, count + 1)]


def test_batches_fed_while_the_store_writes_are_committed_together(store_url: str) -> None:
    app = build_application(store_url)
    try:
        assert isinstance(app.recorder, BatchRecorder)
        with BatchWriter(app.recorder, "saving test events") as writer:
            for _ in range(3):
                writer.put(events(1_000))
        assert writer.notification_ids == list(range(1, 3_001))
        assert app.recorder.max_notification_id() == 3_000
    finally:
        app.close()


def test_a_caller_failing_while_it_feeds_the_save_stores_nothing(store_url: str) -> None:
    app = build_application(store_url)
    try:
        with pytest.raises(ZeroDivisionError), BatchWriter(app.recorder, "saving") as writer:
            writer.put(events(1_000))
            1 / 0  # noqa: B018  the replay failing part-way
        assert app.recorder.max_notification_id() is None
    finally:
        app.close()
