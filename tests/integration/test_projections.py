"""The read models against the Bot aggregates they are built from, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from domain.bot import Bot
from domain.orders import Intent, OrderRequest, OrderType, Side
from infrastructure.bootstrap import build_application
from projections import ProjectionRunner, ReadModelDatabase, UnknownProjection, views
from projections.trades import TradesProjection
from tests.builders import config, et
from tests.integration.projections_support import (
    FILL_TOPICS,
    Rewind,
    dump,
    notifications,
    positions_of,
    replay_sample,
    rm_positions,
    versions_at,
)

TERMINAL = {"filled", "canceled", "rejected"}


@pytest.fixture
def sample(store_url):
    app, bot_ids = replay_sample(store_url)
    db = ReadModelDatabase(store_url)
    yield app, bot_ids, db
    db.close()


def test_read_models_match_the_aggregates_after_the_sample_replay(sample):
    app, bot_ids, db = sample
    runner = ProjectionRunner(app, db)
    assert runner.catch_up() > 0
    fills = notifications(app, FILL_TOPICS)
    assert db.query("SELECT COUNT(*) AS n FROM rm_trades")[0]["n"] == len(fills) > 0
    for bot_id in bot_ids:
        bot, key = app.get_bot(bot_id), [str(bot_id)]
        row = db.query("SELECT * FROM rm_bots WHERE id = ?", key)[0]
        assert row["status"] == bot.status.value and row["name"] == bot.config.name
        assert Decimal(row["cash"]) == bot.cash and Decimal(row["fees"]) == bot.fees > 0
        assert Decimal(row["realized_pnl"]) == bot.realized_pnl
        assert row["trades"] == bot.trades > 0 and row["version"] == bot.version
        assert row["open_positions"] == len(bot.positions) == 0
        assert Decimal(row["equity"]) == bot.cash  # flattened: nothing held at cost
        assert row["today"] == bot.trade_day.isoformat()
        assert Decimal(row["today_pnl"]) == bot.day_realized
        assert rm_positions(db, bot_id) == positions_of(bot) == []

        trades = db.query("SELECT * FROM rm_trades WHERE bot_id = ?", key)
        assert sum(Decimal(t["profit_loss"] or 0) for t in trades) == bot.realized_pnl
        assert sum(Decimal(t["fee"]) for t in trades) == bot.fees
        assert all((t["profit_loss"] is None) == (t["type"] == "buy") for t in trades)
        assert all(t["indicators_snapshot"] for t in trades)

        orders = db.query("SELECT * FROM rm_orders WHERE bot_id = ?", key)
        submitted = [e for e in app.bot_events(bot_id) if isinstance(e, Bot.OrderSubmitted)]
        assert len(orders) == len(submitted) and {o["status"] for o in orders} <= TERMINAL
        filled = [o for o in orders if o["status"] == "filled"]
        assert all(o["filled_qty"] == o["qty"] and o["avg_fill_price"] for o in filled)
        assert sum(o["filled_qty"] for o in filled) == sum(t["quantity"] for t in trades)

        days = db.query("SELECT * FROM rm_daily_pnl WHERE bot_id = ?", key)
        assert sum(Decimal(d["realized_pnl"]) for d in days) == bot.realized_pnl
        assert sum(Decimal(d["fees"]) for d in days) == bot.fees
        assert sum(d["trades"] for d in days) == bot.trades
        assert sum(d["wins"] + d["losses"] for d in days) <= bot.trades

        curve = db.query("SELECT * FROM rm_equity WHERE bot_id = ? ORDER BY seq", key)
        assert [p["seq"] for p in curve] == list(range(bot.trades + 1))
        assert Decimal(curve[0]["equity"]) == bot.config.capital
        assert Decimal(curve[-1]["equity"]) == bot.config.capital + bot.realized_pnl


def test_read_models_follow_the_aggregates_batch_by_batch(sample):
    app, bot_ids, db = sample
    runner = ProjectionRunner(app, db)
    for_positions = {b: Rewind(app, b) for b in bot_ids}
    for_bots = {b: Rewind(app, b) for b in bot_ids}
    steps = checked_open = 0
    while runner.run_once(batch_size=97):
        steps += 1
        positions = runner.positions()
        for bot_id in bot_ids:
            version = versions_at(app, positions["positions"]).get(bot_id)
            held = positions_of(for_positions[bot_id].at(version)) if version else []
            assert rm_positions(db, bot_id) == held
            checked_open += len(held)
            version = versions_at(app, positions["bots"]).get(bot_id)
            rows = db.query("SELECT * FROM rm_bots WHERE id = ?", [str(bot_id)])
            if version is None:
                assert rows == []
                continue
            bot, row = for_bots[bot_id].at(version), rows[0]
            assert row["version"] == version and row["open_positions"] == len(bot.positions)
            assert Decimal(row["cash"]) == bot.cash
            assert Decimal(row["realized_pnl"]) == bot.realized_pnl
            held_cost = sum((p.cost for p in bot.positions.values()), Decimal(0))
            assert Decimal(row["equity"]) == bot.cash + held_cost
    assert steps > 10 and checked_open > 0  # some steps ended with positions open


def test_partial_fills_config_changes_and_lifecycle_in_a_hand_built_bot(store_url):
    app, db = build_application(store_url), ReadModelDatabase(store_url)
    runner = ProjectionRunner(app, db)
    t0 = et(date(2024, 11, 4), 9, 30)

    def at(minutes: int) -> datetime:
        return t0 + timedelta(minutes=minutes)

    bot = app.get_bot(app.create_bot(UUID(int=42), config(capital=10000), t0).bot_id)
    bot.start(t0)
    bot.record_signal(t0, "AAPL", t0, Side.BUY, Decimal(100), {"SMA(3)": Decimal(99)}, "r", {})
    request = OrderRequest("b1", "AAPL", Side.BUY, 30, OrderType.LIMIT, Decimal("100.50"))
    bot.submit_order(t0, request, Intent.ENTRY, Decimal("3015"))
    bot.accept_order(t0, "b1", "broker-1")
    bot.record_fill(at(1), "b1", 10, Decimal("100.10"), Decimal(1))
    app.save(bot)
    runner.catch_up()
    order = db.query("SELECT * FROM rm_orders WHERE client_order_id = 'b1'")[0]
    assert order["status"] == "partially_filled" and order["filled_qty"] == 10
    assert order["broker_order_id"] == "broker-1"
    assert rm_positions(db, bot.id) == positions_of(bot) != []

    bot.record_fill(at(2), "b1", 20, Decimal("100.40"), Decimal(1))
    sell = OrderRequest("s1", "AAPL", Side.SELL, 30, OrderType.MARKET)
    bot.submit_order(at(3), sell, Intent.EXIT, Decimal(0))
    bot.record_fill(at(4), "s1", 7, Decimal("101.00"), Decimal("0.50"))
    bot.pause(at(5))
    bot.change_config(config(capital=12000), at(6))
    app.save(bot)
    runner.catch_up()
    order = db.query("SELECT * FROM rm_orders WHERE client_order_id = 'b1'")[0]
    assert order["status"] == "filled" and Decimal(order["avg_fill_price"]) == Decimal("100.30")
    assert rm_positions(db, bot.id) == positions_of(bot) and bot.positions["AAPL"].qty == 23
    row = db.query("SELECT * FROM rm_bots WHERE id = ?", [str(bot.id)])[0]
    assert row["status"] == "paused" and Decimal(row["capital"]) == 12000
    assert Decimal(row["cash"]) == bot.cash and row["open_positions"] == 1
    assert Decimal(row["equity"]) == bot.cash + bot.positions["AAPL"].cost
    assert Decimal(row["realized_pnl"]) == bot.realized_pnl != 0
    partial_pnl = bot.realized_pnl

    bot.record_fill(at(7), "s1", 23, Decimal("99.00"), Decimal("0.50"))
    bot.stop(at(8))
    bot.archive(at(9))
    app.save(bot)
    runner.catch_up()
    assert rm_positions(db, bot.id) == [] and bot.positions == {}
    row = db.query("SELECT * FROM rm_bots WHERE id = ?", [str(bot.id)])[0]
    assert row["status"] == "archived" and row["trades"] == 1 and row["version"] == bot.version
    assert Decimal(row["realized_pnl"]) == bot.realized_pnl < 0
    assert Decimal(row["equity"]) == bot.cash == 12000 + bot.realized_pnl
    assert {o["status"] for o in db.query("SELECT status FROM rm_orders")} == {"filled"}
    curve = db.query("SELECT * FROM rm_equity WHERE bot_id = ? ORDER BY seq", [str(bot.id)])
    # created with 10000, capital raised to 12000 after a partial sell, one round trip closed
    assert [Decimal(p["equity"]) for p in curve] == [
        Decimal(10000),
        12000 + partial_pnl,
        12000 + bot.realized_pnl,
    ]
    days = db.query("SELECT * FROM rm_daily_pnl WHERE bot_id = ?", [str(bot.id)])
    assert len(days) == 1 and (days[0]["trades"], days[0]["wins"], days[0]["losses"]) == (1, 0, 1)
    assert Decimal(days[0]["fees"]) == bot.fees == Decimal(3)
    assert Decimal(days[0]["gross_loss"]) == bot.realized_pnl
    trades = db.query("SELECT * FROM rm_trades WHERE bot_id = ? ORDER BY id", [str(bot.id)])
    assert [(t["type"], t["quantity"]) for t in trades] == [
        ("buy", 10),
        ("buy", 20),
        ("sell", 7),
        ("sell", 23),
    ]
    assert Decimal(trades[2]["profit_loss"]) == partial_pnl
    assert '"SMA(3)":"99"' in trades[0]["indicators_snapshot"]
    db.close()


class CrashingTrades(TradesProjection):
    """The trades projection, crashing after writing a batch's rows but before the commit."""

    written = 0

    def apply_batch(self, tx, items):
        super().apply_batch(tx, items)
        self.written = tx.execute("SELECT COUNT(*) AS n FROM rm_trades")[0]["n"]
        raise RuntimeError("crash in the middle of a batch")


def fresh_reference(tmp_path) -> dict:
    """The rows of one uninterrupted catch-up over the same replay in a fresh SQLite store."""
    url = f"sqlite:///{tmp_path / 'reference.sqlite'}"
    app, _ = replay_sample(url)
    db = ReadModelDatabase(url)
    ProjectionRunner(app, db).catch_up()
    rows = dump(db)
    db.close()
    return rows


def test_a_restarted_runner_continues_exactly_once(sample, store_url, tmp_path):
    app, _, db = sample
    head = app.recorder.max_notification_id()
    first = ProjectionRunner(app, db)
    # One read of the log's first 100 notifications (any projection's topics), each applied by
    # every projection that consumes its topic.
    read = notifications(app, sorted({t for p in first.projections for t in p.topics}))[:100]
    expected = sum(n.topic in p.topics for n in read for p in first.projections)
    assert expected > 100
    assert first.run_once(batch_size=100) == expected
    first.run_once(batch_size=100)
    mid = first.positions()
    assert all(0 < p < head for p in mid.values())
    trades_before = dump(db)["rm_trades"]

    crashing = ProjectionRunner(app, db, [CrashingTrades()])
    with pytest.raises(RuntimeError, match="crash"):
        crashing.run_once(batch_size=100)
    assert crashing.projections[0].written > len(trades_before)  # rows were written, then lost
    assert crashing.positions() == {"trades": mid["trades"]}
    assert dump(db)["rm_trades"] == trades_before  # the failed batch left nothing behind

    # A restart: new application, connections and runner, continuing from rm_tracking.
    db2 = ReadModelDatabase(store_url)
    second = ProjectionRunner(build_application(store_url), db2)
    assert second.positions() == mid
    assert second.catch_up() > 0
    rows = dump(db2)
    assert rows == fresh_reference(tmp_path)
    assert second.catch_up() == 0 and dump(db2) == rows
    db2.close()


def test_rebuild_gives_identical_rows_and_touches_only_its_projection(sample):
    app, bot_ids, db = sample
    runner = ProjectionRunner(app, db)
    runner.catch_up()
    before = dump(db)
    consumed = sum(len(notifications(app, list(p.topics))) for p in runner.projections)
    assert runner.rebuild() == consumed
    assert dump(db) == before

    app.run_command(bot_ids[0], "start", datetime(2024, 12, 2, 15, tzinfo=UTC))
    stale = runner.positions()
    assert runner.rebuild("trades") > 0
    after = runner.positions()
    assert after.pop("trades") == stale.pop("trades") + 1
    assert after == stale  # the others were neither rebuilt nor advanced
    assert dump(db)["rm_trades"] == before["rm_trades"]
    assert runner.lag() == {"bots": 1, "trades": 0, "positions": 1, "orders": 1, "pnl": 1}
    with pytest.raises(UnknownProjection, match="unknown projection 'nope'"):
        runner.rebuild("nope")


def test_lag_is_the_number_of_events_not_yet_applied(sample):
    app, bot_ids, db = sample
    runner = ProjectionRunner(app, db)
    head = app.recorder.max_notification_id()
    assert head == len(notifications(app))
    assert runner.lag() == dict.fromkeys(runner.names, head)
    runner.run_once(batch_size=100)
    assert runner.lag()["bots"] == head - 100  # the bots read model consumes every event
    runner.catch_up()
    assert runner.lag() == dict.fromkeys(runner.names, 0)

    app.run_command(bot_ids[1], "start", datetime(2024, 12, 2, 15, tzinfo=UTC))
    assert runner.lag() == dict.fromkeys(runner.names, 1)
    assert runner.catch_up() == 1  # only rm_bots cares about Started; the rest just move on
    assert runner.lag() == dict.fromkeys(runner.names, 0)
    assert db.query("SELECT status FROM rm_bots WHERE id = ?", [str(bot_ids[1])]) == [
        {"status": "running"}
    ]


def test_a_background_runner_keeps_the_read_models_current(store_url):
    app = build_application(store_url)
    db = ReadModelDatabase(store_url)
    runner = ProjectionRunner(app, db)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run_forever, args=(stop, 0.02), daemon=True)
    thread.start()
    try:
        _, bot_ids = replay_sample(store_url)
        deadline = time.monotonic() + 30
        while any(runner.lag().values()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runner.lag() == dict.fromkeys(runner.names, 0)
        assert len(db.query("SELECT id FROM rm_bots")) == len(bot_ids)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    db.close()


@pytest.mark.postgres
def test_sqlite_and_postgres_give_identical_rows(sqlite_url, postgres_url):
    dumps = []
    for url in (sqlite_url, postgres_url):
        app, _ = replay_sample(url)
        db = ReadModelDatabase(url)
        ProjectionRunner(app, db).catch_up(batch_size=250)
        dumps.append(dump(db))
        db.close()
    assert dumps[0] == dumps[1]
    assert len(dumps[0]["rm_trades"]) > 100 and len(dumps[0]["rm_orders"]) > 100


def test_a_read_model_whose_tables_changed_shape_is_rebuilt_from_position_0(sample):
    app, _, db = sample
    runner = ProjectionRunner(app, db)
    runner.catch_up()
    before = dump(db)
    head = app.recorder.max_notification_id()
    # As a store made by an older version would be: rm_trades without its last column.
    with db.transaction() as tx:
        tx.execute("DROP TABLE rm_trades")
        tx.execute(
            "CREATE TABLE rm_trades (id BIGINT PRIMARY KEY, bot_id TEXT NOT NULL, "
            "symbol TEXT NOT NULL, type TEXT NOT NULL, quantity INTEGER NOT NULL, "
            "price TEXT NOT NULL, timestamp TEXT NOT NULL, indicators_snapshot TEXT, "
            "profit_loss TEXT, order_id TEXT NOT NULL)"
        )
        tx.execute("UPDATE rm_schema SET fingerprint = 'older' WHERE projection = 'trades'")

    restarted = ProjectionRunner(app, db)  # ensure_tables runs here, as at every start
    assert restarted.positions() == {name: head for name in restarted.names} | {"trades": 0}
    restarted.catch_up()
    assert dump(db) == before  # every column back, every row the same
    assert ProjectionRunner(app, db).positions()["trades"] == head  # recorded: no second rebuild


def test_the_bots_read_model_says_why_a_bot_stopped_or_errored(store_url):
    app = build_application(store_url)
    db = ReadModelDatabase(store_url)
    try:
        runner = ProjectionRunner(app, db)
        bot = app.new_bot(UUID(int=7), config(name="why"), et(date(2024, 11, 1), 9, 0))
        bot.start(et(date(2024, 11, 1), 9, 1))
        bot.mark_errored(et(date(2024, 11, 1), 9, 2), "AAPL: account holds 5 more than the bots")
        app.save(bot)
        runner.catch_up()
        row = views.get_bot(db, bot.id)
        assert row is not None and row["status"] == "errored"
        assert row["status_reason"] == "AAPL: account holds 5 more than the bots"
        app.run_command(bot.id, "stop", et(date(2024, 11, 1), 9, 3))
        runner.catch_up()
        assert views.get_bot(db, bot.id)["status_reason"] == "requested"
        app.run_command(bot.id, "start", et(date(2024, 11, 1), 9, 4))
        runner.catch_up()
        assert views.get_bot(db, bot.id)["status_reason"] is None
    finally:
        db.close()
        app.close()
