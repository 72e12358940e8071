"""Saves of any size on PostgreSQL: all in one transaction, the same bytes as SQLite stores.

The library's own recorder hung for good on a save of ~20,000 events (issue 12); these run a
replay that saves over 100,000 events at once, and cut a save's connection part-way through.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from datetime import date
from urllib.parse import parse_qs, urlsplit
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from application.bot_config import parse_bot_config
from application.replay import replay
from application.service import OpenbellApplication
from domain.bars import Bar
from infrastructure.bootstrap import build_application
from infrastructure.postgres_store import CopyPostgresApplicationRecorder, SaveFailed
from infrastructure.sample_data import generate_bars, sessions_between
from infrastructure.sim_broker import SimulatedBroker
from tests.conftest import _postgres_url

pytestmark = pytest.mark.postgres

SYMBOLS = ["AAPL", "MSFT", "SPY", "NVDA", "AMZN"]
BOT = {
    "capital": 100_000,
    "trading_frequency": 60,
    "symbols": SYMBOLS,
    "indicators": {
        "RSI": {"period": 14},
        "MACD": {"fast": 12, "slow": 26, "signal": 9},
        "SMA": {"period": 50},
        "BBANDS": {"period": 20, "std": 2},
    },
    "risk_management": {"stop_loss": 0.005, "take_profit": 0.01, "max_position_size": 0.5},
    "start_hour": 9,
    "start_minute": 30,
    "end_hour": 16,
    "end_minute": 0,
    "min_votes": 2,
}


def sample_bars(sessions: int) -> list[Bar]:
    days = sessions_between(date(2023, 1, 3), date(2023, 12, 29))[:sessions]
    return sorted(generate_bars(SYMBOLS, days, 7), key=lambda b: (b.timestamp, b.symbol))


def events_table(url: str) -> str:
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    return f"{schema}.openbell_events"


def stored_rows(url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(_postgres_url()) as connection:
        return connection.execute(
            f"SELECT notification_id, originator_id, originator_version, topic, state "
            f"FROM {events_table(url)} ORDER BY notification_id"
        ).fetchall()


def test_a_replay_saving_over_100000_events_at_once_stores_what_sqlite_stores(
    postgres_url: str, sqlite_url: str
) -> None:
    bars = sample_bars(52)  # 101,400 bars; five bots of five symbols each
    configs = [parse_bot_config(BOT | {"name": f"bot-{n}"}) for n in range(5)]
    results = {}
    for url in (sqlite_url, postgres_url):
        app = build_application(url)
        try:
            results[url] = replay(app, bars, configs, SimulatedBroker, "issue-12")
            if url == postgres_url:  # what was stored, read back, not what was computed
                read_back = {bot.id: app.digest(bot.id) for bot in results[url].bots}
                assert app.recorder.max_notification_id() == sum(
                    b.events for b in results[url].bots
                )
        finally:
            app.close()
    on_sqlite, on_postgres = results[sqlite_url].bots, results[postgres_url].bots
    assert sum(b.events for b in on_postgres) >= 100_000
    assert [(b.id, b.digest, b.events) for b in on_postgres] == [
        (b.id, b.digest, b.events) for b in on_sqlite
    ]
    assert read_back == {b.id: (b.digest, b.events) for b in on_sqlite}
    ids = [row[0] for row in stored_rows(postgres_url)]
    assert ids == list(range(1, len(ids) + 1))  # one save: one unbroken run of positions


def some_events(count: int) -> list[StoredEvent]:
    originator = uuid4()
    return [
        StoredEvent(originator, version, "tests:Event", b"{}") for version in range(1, count + 1)
    ]


def terminate_the_saving_connection(url: str) -> None:
    """From another session, end the one holding the save's lock on the events table."""
    with psycopg.connect(_postgres_url(), autocommit=True) as admin:
        pids = admin.execute(
            "SELECT pid FROM pg_locks WHERE relation = %s::regclass "
            "AND mode = 'ExclusiveLock' AND granted",
            [events_table(url)],
        ).fetchall()
        assert len(pids) == 1, pids
        admin.execute("SELECT pg_terminate_backend(%s)", pids[0])


def test_a_save_cut_off_part_way_leaves_the_store_as_it_was(postgres_url: str) -> None:
    app = build_application(postgres_url)
    try:
        recorder = app.recorder
        assert isinstance(recorder, CopyPostgresApplicationRecorder)
        earlier = recorder.insert_events(some_events(3))
        before = stored_rows(postgres_url)

        def batches() -> Iterator[Sequence[StoredEvent]]:
            events = some_events(60_000)
            yield events[:30_000]  # sent: the rows are in the open transaction
            terminate_the_saving_connection(postgres_url)
            yield events[30_000:]

        with pytest.raises(SaveFailed) as failed:
            recorder.insert_event_batches(batches(), "saving a replay's events")

        message = str(failed.value)
        assert message.startswith("saving a replay's events: the connection to PostgreSQL failed")
        assert message.endswith("nothing of it was stored")
        assert "\n" not in message
        assert stored_rows(postgres_url) == before
        # The pool let the dead connection go: the next save works, after the earlier ones.
        later = recorder.insert_events(some_events(2))
        assert earlier is not None and later is not None
        # (The cut-off save's reserved positions are skipped: sequences never roll back.)
        assert min(later) > max(earlier) and list(later) == list(range(min(later), max(later) + 1))
    finally:
        app.close()


def test_the_library_contract_holds_notification_ids_in_order_and_none_for_nothing(
    postgres_url: str,
) -> None:
    app: OpenbellApplication = build_application(postgres_url)
    try:
        assert app.recorder.insert_events([]) is None
        first = app.recorder.insert_events(some_events(5))
        second = app.recorder.insert_events(some_events(4))
        assert list(first or []) == [1, 2, 3, 4, 5]
        assert list(second or []) == [6, 7, 8, 9]
        notifications = app.recorder.select_notifications(1, 20)
        assert [n.id for n in notifications] == list(range(1, 10))
    finally:
        app.close()


def test_a_save_conflicting_with_a_stored_event_is_an_integrity_error_storing_nothing(
    postgres_url: str,
) -> None:
    app = build_application(postgres_url)
    try:
        stored = some_events(3)
        app.recorder.insert_events(stored)
        before = stored_rows(postgres_url)
        conflicting = [*some_events(2), stored[1]]  # a version already stored, after new ones
        with pytest.raises(IntegrityError):  # RecordConflictError: callers reload and retry
            app.recorder.insert_events(conflicting)
        assert stored_rows(postgres_url) == before
    finally:
        app.close()


def test_a_save_after_the_server_dropped_the_pooled_connections_still_stores(
    postgres_url: str,
) -> None:
    app = build_application(postgres_url)
    try:
        recorder = app.recorder
        assert isinstance(recorder, CopyPostgresApplicationRecorder)
        recorder.insert_events(some_events(1))
        with ExitStack() as held:  # every pooled connection at once, to learn their pids
            pids = [
                held.enter_context(recorder.datastore.get_connection()).info.backend_pid
                for _ in range(recorder.datastore.pool.min_size)
            ]
        with psycopg.connect(_postgres_url(), autocommit=True) as admin:
            for pid in pids:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        # The pool drops what it sees broken; one that fails only at BEGIN makes the save retry.
        assert len(recorder.insert_events(some_events(5)) or []) == 5
        assert len(stored_rows(postgres_url)) == 6
    finally:
        app.close()
