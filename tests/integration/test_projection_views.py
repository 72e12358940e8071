"""The read-model queries the HTTP API uses, and the `projections` CLI commands."""

from __future__ import annotations

import argparse
import asyncio
import json
from decimal import Decimal

import pytest

from domain.bot import Bot
from infrastructure.cli.commands import CommandError
from infrastructure.cli.projections_commands import register
from projections import ProjectionRunner, ReadModelDatabase, trade_queries, views
from projections.paging import InvalidCursor
from tests.integration.projections_support import replay_sample

SORTS = ["timestamp", "-timestamp", "id", "-price", "price", "profit_loss", "-profit_loss"]
SORTS += ["symbol", "-quantity", "fee", "-type"]


@pytest.fixture
def caught_up(store_url):
    app, bot_ids = replay_sample(store_url)
    db = ReadModelDatabase(store_url)
    ProjectionRunner(app, db).catch_up()
    yield app, bot_ids, db
    db.close()


def walk(db, limit, **filters):
    rows, cursor, pages = [], None, 0
    while True:
        page, cursor = views.list_trades(db, limit=limit, cursor=cursor, **filters)
        rows += page
        pages += 1
        assert len(page) <= limit
        if cursor is None:
            return rows, pages


def sort_key(sort):
    name = sort.removeprefix("-")

    def key(row):
        value = row[name]
        if name in ("price", "fee"):
            value = Decimal(value)
        if name == "profit_loss":
            return (value is not None, Decimal(value or 0), row["id"])
        return (value, row["id"])

    return key


def test_trade_pages_cover_every_row_once_in_order_for_every_sort(caught_up):
    _, _, db = caught_up
    everything, _ = views.list_trades(db, sort="id", limit=1000)
    assert len(everything) > 100
    assert everything == list(views.iter_trades(db, sort="id", page_size=13))
    for sort in SORTS:
        rows, pages = walk(db, 17, sort=sort)
        assert pages == -(-len(everything) // 17)
        assert sorted(r["id"] for r in rows) == [r["id"] for r in everything]  # no gaps, no dups
        expected = sorted(everything, key=sort_key(sort), reverse=sort.startswith("-"))
        assert [r["id"] for r in rows] == [r["id"] for r in expected], sort


def test_trade_filters_match_a_filter_in_python(caught_up):
    _, bot_ids, db = caught_up
    everything, _ = views.list_trades(db, sort="id", limit=1000)
    start, end = "2024-11-05T09:30", "2024-11-12T16:00"  # New York time
    starts, ends = trade_queries._moment(start), trade_queries._moment(end)
    cases = [
        ({"bot_id": bot_ids[0]}, lambda r: r["bot_id"] == str(bot_ids[0])),
        (
            {"symbol": "AAPL", "side": "sell"},
            lambda r: (r["symbol"], r["type"]) == ("AAPL", "sell"),
        ),
        ({"start": start, "end": end}, lambda r: starts <= r["timestamp"] < ends),
        (
            {"bot_id": str(bot_ids[1]), "side": "buy", "start": start},
            lambda r: (
                r["bot_id"] == str(bot_ids[1]) and r["type"] == "buy" and r["timestamp"] >= starts
            ),
        ),
    ]
    for filters, keep in cases:
        expected = [r for r in everything if keep(r)]
        assert 0 < len(expected) < len(everything), filters
        rows, _ = walk(db, 9, sort="-timestamp", **filters)
        assert sorted(r["id"] for r in rows) == [r["id"] for r in expected], filters
        assert list(views.iter_trades(db, sort="-timestamp", page_size=9, **filters)) == rows
    assert trade_queries._moment(start) == "2024-11-05T14:30:00.000000+00:00"


def test_bad_page_arguments_are_value_errors(caught_up):
    _, _, db = caught_up
    _, cursor = views.list_trades(db, sort="price", limit=5)
    with pytest.raises(InvalidCursor, match="issued for sort"):
        views.list_trades(db, sort="timestamp", cursor=cursor)
    with pytest.raises(InvalidCursor, match="not a valid cursor"):
        views.list_trades(db, cursor="garbage!")
    with pytest.raises(ValueError, match="cannot sort by 'colour'"):
        views.list_trades(db, sort="colour")
    with pytest.raises(ValueError, match="limit"):
        views.list_trades(db, limit=0)
    with pytest.raises(ValueError, match="side"):
        views.list_trades(db, side="short")


def test_pnl_summary_bots_orders_and_curves(caught_up):
    app, bot_ids, db = caught_up
    summaries = {s["bot_id"]: s for s in views.pnl_summary(db)}
    assert set(summaries) == {str(b) for b in bot_ids}
    for bot_id in bot_ids:
        bot = app.get_bot(bot_id)
        closed = [
            e.realized_pnl for e in app.bot_events(bot_id) if isinstance(e, Bot.PositionClosed)
        ]
        wins, losses = [p for p in closed if p > 0], [p for p in closed if p < 0]
        summary = summaries[str(bot_id)]
        assert summary == views.pnl_summary(db, bot_id)[0]
        assert summary["name"] == bot.config.name
        assert Decimal(summary["realized_pnl"]) == bot.realized_pnl == sum(closed)
        assert Decimal(summary["fees"]) == bot.fees
        assert (summary["trades"], summary["wins"], summary["losses"]) == (
            len(closed),
            len(wins),
            len(losses),
        )
        assert Decimal(summary["win_rate"]) == (Decimal(len(wins)) / len(closed)).quantize(
            Decimal("0.0001")
        )
        assert Decimal(summary["average_win"]) == (sum(wins) / len(wins)).quantize(Decimal("0.01"))
        assert Decimal(summary["average_loss"]) == (sum(losses) / len(losses)).quantize(
            Decimal("0.01")
        )
        assert Decimal(summary["equity"]) == bot.config.capital + bot.realized_pnl

        listed = views.get_bot(db, bot_id)
        assert listed is not None and listed["config"]["name"] == bot.config.name
        assert listed["last_signal"]["symbol"] in bot.config.symbols
        days = views.daily_pnl(db, bot_id)
        assert sum(Decimal(d["realized_pnl"]) for d in days) == bot.realized_pnl
        curve = views.equity_curve(db, bot_id)
        assert Decimal(curve[-1]["equity"]) == Decimal(summary["equity"])
        orders = views.list_orders(db, bot_id)
        assert orders and all("fill_value" not in o for o in orders)
        assert views.list_orders(db, bot_id, status="filled")
        assert views.list_positions(db, bot_id) == []
    assert [b["id"] for b in views.list_bots(db)] == sorted(str(b) for b in bot_ids)
    assert views.get_bot(db, "00000000-0000-0000-0000-000000000000") is None


def cli(url):
    parser = argparse.ArgumentParser(prog="openbell")
    parser.add_argument("--database-url")
    register(parser.add_subparsers(dest="command", required=True))

    def run(*args):
        parsed = parser.parse_args(["--database-url", url, *args])
        return parsed.handler(parsed)

    return run


def test_projections_cli_runs_rebuilds_and_reports_status(capsys, sqlite_url):
    replay_sample(sqlite_url)
    openbell = cli(sqlite_url)
    assert openbell("projections", "status", "--json") == 0
    before = json.loads(capsys.readouterr().out)
    assert [r["projection"] for r in before] == ["bots", "trades", "positions", "orders", "pnl"]
    assert all(r["position"] == 0 and r["lag"] > 1000 for r in before)

    assert openbell("projections", "run") == 0
    assert "events applied" in capsys.readouterr().out
    assert openbell("projections", "status") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["projection", "position", "lag"] and len(lines) == 6
    assert all(line.split()[2] == "0" for line in lines[1:])

    assert openbell("projections", "rebuild", "trades", "--json") == 0
    assert json.loads(capsys.readouterr().out)["applied"] > 0
    with pytest.raises(CommandError, match="unknown projection 'nope': choose from bots"):
        openbell("projections", "rebuild", "nope")


def test_async_queries_give_the_rows_of_blocking_ones(caught_up):
    _, bot_ids, db = caught_up
    page = views.trade_page_query(bot_id=bot_ids[0], sort="-timestamp", limit=7)

    async def read_on_the_loop():
        assert not db.serves_async()
        await db.open_async()
        try:
            # PostgreSQL gets the loop's own connections; SQLite stays on blocking queries.
            assert db.serves_async() is db.postgres
            if not db.postgres:
                return None
            return await db.aquery(views.BOTS_SQL), await db.aquery(page.sql, page.params)
        finally:
            await db.close_async()

    answered = asyncio.run(read_on_the_loop())
    assert not db.serves_async()
    if db.postgres:
        bots, trades = answered
        assert bots == db.query(views.BOTS_SQL) and len(bots) == len(bot_ids)
        assert page.page(trades) == views.list_trades(
            db, bot_id=bot_ids[0], sort="-timestamp", limit=7
        )
        assert len(trades) == 8  # one past the page: another page follows
