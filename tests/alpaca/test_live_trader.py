"""The live trader over alpaca-py and the simulator: restarts, reconciliation, faults."""

from __future__ import annotations

from datetime import timedelta

from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest

from domain.bot import Bot, BotStatus
from infrastructure.alpaca.clients import trading_client
from tests.alpaca.conftest import wait_for
from tests.alpaca.live_support import (
    OPEN,
    Running,
    assert_books_match,
    events_of,
    store_with_sample_bots,
)


def test_a_restart_reconciles_what_happened_while_the_trader_was_down(sim, tmp_path):
    app, ids = store_with_sample_bots(f"sqlite:///{tmp_path}/live.sqlite")
    first = Running(app, sim)
    first.step(45)
    first.close()
    held_before = {i: app.get_bot(i).orders for i in ids}
    assert any(held_before.values()), "the bots left working orders behind"
    sim.step(10)  # the broker fills and expires orders while nobody watches
    second = Running(app, sim)
    second.step(40)
    second.close()

    assert_books_match(app, sim, ids)
    reconciled = [e for e in events_of(app, ids) if isinstance(e, Bot.Reconciled)]
    assert len(reconciled) == 2 * len(ids)  # one check per bot per start
    later = [e for e in reconciled if e.timestamp == OPEN + timedelta(minutes=55)]
    found = {k: v for e in later for k, v in e.findings.items()}
    assert set(found) >= {o for orders in held_before.values() for o in orders}
    assert all(app.get_bot(i).status is BotStatus.RUNNING for i in ids)
    # Warmed up from the history it missed: every bar of the session seen once per start.
    assert second.trader.stats["warm_bars"] == 3 * 55


def test_a_position_no_order_of_ours_explains_is_reported_and_the_bots_trade_on(sim, tmp_path):
    """A trade by hand on the shared account: every bot's own orders agree with the broker, so
    none is stopped; the bots trading the symbol record the difference and raise an alert."""
    app, ids = store_with_sample_bots(f"sqlite:///{tmp_path}/live.sqlite")
    sim.step(1)
    trading_client(sim.config).submit_order(
        MarketOrderRequest(symbol="AAPL", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.DAY)
    )
    running = Running(app, sim)
    running.step(3, symbols=2)
    running.close()
    bots = {app.get_bot(i).config.name: app.get_bot(i) for i in ids}
    assert all(bot.status is BotStatus.RUNNING for bot in bots.values())
    for name, bot in bots.items():
        events = list(app.bot_events(bot.id))
        [reconciled] = [e for e in events if isinstance(e, Bot.Reconciled)]
        alerts = [e for e in events if isinstance(e, Bot.AlertRaised)]
        if name in ("rsi-macd", "trend-bands"):  # the two that trade AAPL
            finding = reconciled.findings["position AAPL"]
            assert finding.startswith("the account holds 5 AAPL, the fills of the bots")
            assert "no order of theirs explains the difference" in finding
            assert [(a.severity, a.message) for a in alerts] == [("warning", finding)]
        else:
            assert "position AAPL" not in reconciled.findings and not alerts


def test_rate_limits_server_errors_and_a_dropped_data_stream_double_nothing(
    sim, tmp_path, sample_bars
):
    app, ids = store_with_sample_bots(f"sqlite:///{tmp_path}/live.sqlite")
    running = Running(app, sim)
    running.step(20)
    storm = {"http_429": 6, "http_500": 4, "http_500_after": 4, "only": "/v2/orders"}
    for _ in range(4):
        sim.faults(**storm)
        running.step(10)
    sim.faults(block_streams=True, drop_streams=True)  # no market data for three minutes
    sim.step(3)
    sim.faults(block_streams=False)
    wait_for(lambda: sim.state()["stream_clients"]["data"], 10, "the reconnect")
    running.step(1, symbols=12)  # the gap is backfilled before the next bar
    running.step(30)
    running.close()

    submitted = assert_books_match(app, sim, ids)
    assert len(submitted) >= 10
    assert running.trader.broker.stats["retries"] > 0  # the storm was felt; nothing doubled
    expected = [b for b in sample_bars if b.timestamp < OPEN + timedelta(minutes=94)]
    assert running.seen == expected  # every bar once, in order
