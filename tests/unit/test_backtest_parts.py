"""Backtest pieces without a server: store locations, dataset names, drawdown."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from uuid import UUID

import pytest

from api.backtest_views import drawdown
from application.backtest_records import BacktestInputError, BacktestsUnavailable, safe_name
from infrastructure.backtest_stores import BacktestStores
from infrastructure.settings import Settings

BACKTEST = UUID("12345678-1234-5678-1234-567812345678")


def stores(url: str) -> BacktestStores:
    main: Any = SimpleNamespace(url=url)
    return BacktestStores(main, Settings(_env_file=None))


def test_a_postgres_backtest_gets_its_own_schema_and_its_url_shows_no_password():
    store = stores("postgresql://bob:s3cret@db.local:5433/openbell?schema=main&sslmode=require")
    shown = store.url(BACKTEST)
    assert shown == (
        "postgresql://bob@db.local:5433/openbell?schema=bt_12345678123456781234567812345678"
        "&sslmode=require"
    )
    assert "s3cret" in store._url(BACKTEST)  # used to connect, never shown


def test_a_sqlite_backtest_gets_a_file_beside_the_main_store():
    assert stores("sqlite:///var/openbell.sqlite").url(BACKTEST) == (
        f"sqlite:///var/backtests/{BACKTEST}.sqlite"
    )
    assert stores("sqlite:////srv/ob/events.sqlite").url(BACKTEST) == (
        f"sqlite:////srv/ob/backtests/{BACKTEST}.sqlite"
    )
    with pytest.raises(BacktestsUnavailable):
        stores("sqlite:///:memory:").url(BACKTEST)


@pytest.mark.parametrize("name", ["bars.csv", "2024-11.parquet", "spy_1m.pq"])
def test_dataset_file_names(name):
    assert safe_name(name) == name


@pytest.mark.parametrize(
    "name", ["../bars.csv", "/etc/passwd", "a/b.csv", "a\\b.csv", "..", ".env", "x..csv", "x.txt"]
)
def test_dataset_paths_are_refused(name):
    with pytest.raises(BacktestInputError) as caught:
        safe_name(name)
    assert caught.value.field == "dataset"


def test_drawdown_runs_from_the_peak():
    points = [
        {"at": "t0", "equity": "100"},
        {"at": "t1", "equity": "120"},
        {"at": "t2", "equity": "90"},
        {"at": "t3", "equity": "130"},
    ]
    result = drawdown(points)
    assert [p.drawdown for p in result.points] == ["0", "0", "30", "0"]
    assert result.points[2].drawdown_pct == "25.00"
    assert (result.max, result.max_pct) == ("30", "25.00")
