from datetime import date
from decimal import Decimal
from uuid import UUID

import pytest

from domain.bot import (
    Bot,
    BotStatus,
    BotStatusConflict,
    InsufficientCash,
    InvalidFill,
    Oversell,
    UnknownOrder,
)
from domain.orders import Intent, OrderRequest, OrderType, Side
from tests.builders import config, et

DAY = date(2024, 11, 1)
T0 = et(DAY, 9, 30)
BOT_ID = UUID(int=7)


def new_bot(**overrides):
    bot = Bot.create(BOT_ID, config(**overrides), T0)
    bot.start(T0)
    return bot


def buy(bot, qty=10, limit="100.00", coid="b1"):
    request = OrderRequest(coid, "AAPL", Side.BUY, qty, OrderType.LIMIT, Decimal(limit))
    bot.submit_order(T0, request, Intent.ENTRY, Decimal(limit) * qty)


def sell(bot, qty=10, coid="s1"):
    bot.submit_order(
        T0, OrderRequest(coid, "AAPL", Side.SELL, qty, OrderType.MARKET), Intent.EXIT, Decimal(0)
    )


def test_new_bot_starts_with_its_capital_as_cash_and_no_positions():
    bot = new_bot()
    assert bot.status is BotStatus.RUNNING
    assert bot.cash == Decimal(10000)
    assert bot.positions == {}
    assert bot.created_on == T0


def test_lifecycle_commands_follow_the_allowed_transitions():
    bot = new_bot()
    bot.pause(T0)
    assert bot.status is BotStatus.PAUSED
    with pytest.raises(BotStatusConflict, match="cannot pause a bot that is paused"):
        bot.pause(T0)
    bot.resume(T0)
    bot.stop(T0, "done")
    assert bot.status is BotStatus.STOPPED
    with pytest.raises(BotStatusConflict):
        bot.resume(T0)
    bot.start(T0)
    assert bot.status is BotStatus.RUNNING


def test_buy_fill_opens_position_and_releases_reservation():
    bot = new_bot()
    buy(bot, qty=10, limit="100.00")
    assert bot.reserved == Decimal("1000.00")
    bot.record_fill(T0, "b1", 10, Decimal("99.50"), Decimal("1.00"))
    assert bot.reserved == 0
    assert bot.cash == Decimal("10000") - Decimal("995.00") - Decimal("1.00")
    position = bot.positions["AAPL"]
    assert position.qty == 10
    assert position.cost == Decimal("996.00")
    names = [type(e).__name__ for e in bot._pending_events]
    assert names[-2:] == ["OrderFilled", "PositionOpened"]


def test_sell_fill_closes_position_with_realised_pnl_net_of_fees():
    bot = new_bot()
    buy(bot)
    bot.record_fill(T0, "b1", 10, Decimal("100.00"), Decimal("1.00"))
    sell(bot)
    bot.record_fill(T0, "s1", 10, Decimal("105.00"), Decimal("1.00"))
    closed = bot._pending_events[-1]
    assert isinstance(closed, Bot.PositionClosed)
    assert closed.realized_pnl == Decimal("48.00")  # 1050 - 1 - (1000 + 1)
    assert bot.realized_pnl == Decimal("48.00")
    assert bot.positions == {}
    assert bot.trades == 1
    assert bot.cash == Decimal("10048.00")


def test_partial_fills_accumulate_until_the_order_is_complete():
    bot = new_bot()
    buy(bot, qty=10)
    bot.record_fill(T0, "b1", 4, Decimal("100"), Decimal(0))
    assert isinstance(bot._pending_events[-2], Bot.OrderPartiallyFilled)
    assert "b1" in bot.orders
    bot.record_fill(T0, "b1", 6, Decimal("101"), Decimal(0))
    assert isinstance(bot._pending_events[-1], Bot.OrderFilled)
    assert "b1" not in bot.orders
    assert bot.positions["AAPL"].qty == 10
    assert bot.reserved == 0


def test_overfill_and_unknown_orders_are_refused():
    bot = new_bot()
    buy(bot, qty=5)
    with pytest.raises(InvalidFill, match="exceeds the 5 remaining"):
        bot.record_fill(T0, "b1", 6, Decimal("100"), Decimal(0))
    with pytest.raises(UnknownOrder):
        bot.record_fill(T0, "nope", 1, Decimal("100"), Decimal(0))
    with pytest.raises(InvalidFill):
        bot.record_fill(T0, "b1", 1, Decimal("-1"), Decimal(0))


def test_selling_more_than_held_is_refused():
    bot = new_bot()
    buy(bot, qty=5)
    bot.record_fill(T0, "b1", 5, Decimal("100"), Decimal(0))
    with pytest.raises(Oversell, match="selling 6 AAPL with 0 already in sell orders and 5 held"):
        sell(bot, qty=6)
    assert "s1" not in bot.orders


def test_a_sell_beyond_what_working_sells_leave_is_refused():
    bot = new_bot()
    buy(bot, qty=5)
    bot.record_fill(T0, "b1", 5, Decimal("100"), Decimal(0))
    sell(bot, qty=5)  # e.g. the resting stop-loss/take-profit
    with pytest.raises(Oversell, match="5 already in sell orders and 5 held"):
        sell(bot, qty=5, coid="s2")


def test_a_fill_beyond_what_the_order_has_left_is_refused():
    bot = new_bot()
    buy(bot, qty=5)
    bot.record_fill(T0, "b1", 5, Decimal("100"), Decimal(0))
    sell(bot, qty=5)
    bot.record_fill(T0, "s1", 3, Decimal("100"), Decimal(0))
    with pytest.raises(InvalidFill, match="fill of 3 exceeds the 2 remaining"):
        bot.record_fill(T0, "s1", 3, Decimal("100"), Decimal(0))
    assert bot.position_qty("AAPL") == 2


def test_reserving_more_than_available_cash_is_refused():
    bot = new_bot()
    with pytest.raises(InsufficientCash):
        buy(bot, qty=101, limit="100.00")


def test_cancel_releases_the_whole_reservation():
    bot = new_bot()
    buy(bot, qty=10)
    bot.cancel_order(T0, "b1", "not filled")
    assert bot.reserved == 0
    assert bot.orders == {}


def test_working_entries_counts_entry_orders_until_they_fill_or_end():
    bot = new_bot()
    buy(bot, qty=5, coid="b1")
    buy(bot, qty=5, coid="b2")
    assert bot.working_entries == 2
    bot.record_fill(T0, "b1", 5, Decimal("100"), Decimal(0))
    bot.cancel_order(T0, "b2", "not filled")
    assert bot.working_entries == 0
    sell(bot, qty=5)  # an exit is not an entry
    assert bot.working_entries == 0
    buy(bot, qty=1, coid="b3")
    bot.reject_order(T0, "b3", "no")
    assert bot.working_entries == 0
    buy(bot, qty=1, coid="b4")
    rebuilt = None
    for event in bot.collect_events():
        rebuilt = event.mutate(rebuilt)
    assert rebuilt.working_entries == 1


def test_daily_pnl_counts_realised_today_and_unrealised_against_cost():
    bot = new_bot()
    buy(bot)
    bot.record_fill(T0, "b1", 10, Decimal("100"), Decimal(0))
    assert bot.daily_pnl(DAY, {"AAPL": Decimal("90")}) == Decimal("-100")
    sell(bot)
    bot.record_fill(T0, "s1", 10, Decimal("95"), Decimal(0))
    assert bot.daily_pnl(DAY, {}) == Decimal("-50")
    assert bot.daily_pnl(date(2024, 11, 4), {}) == 0


def test_config_change_records_what_changed_and_refuses_dropping_a_held_symbol():
    bot = new_bot()
    bot.change_config(config(capital=20000), T0)
    changed = bot._pending_events[-1]
    assert isinstance(changed, Bot.ConfigChanged)
    assert changed.changes == {"capital": "10000 -> 20000"}
    assert bot.config.capital == Decimal(20000)
    assert bot.cash == Decimal(20000)
    buy(bot)
    bot.record_fill(T0, "b1", 10, Decimal("100"), Decimal(0))
    with pytest.raises(BotStatusConflict, match="still holds AAPL"):
        bot.change_config(config(symbols=["MSFT"]), T0)


def test_config_change_refuses_dropping_a_symbol_with_orders_working():
    bot = new_bot()
    buy(bot)
    with pytest.raises(BotStatusConflict, match="still has orders working on AAPL"):
        bot.change_config(config(symbols=["MSFT"]), T0)
    bot.cancel_order(T0, "b1", "not filled")
    bot.change_config(config(symbols=["MSFT"]), T0)
    assert bot.config.symbols == ("MSFT",)


def test_capital_cannot_drop_below_what_is_committed():
    bot = new_bot()
    buy(bot, qty=50, limit="100.00")
    bot.record_fill(T0, "b1", 50, Decimal("100"), Decimal(0))
    with pytest.raises(BotStatusConflict, match="below what the bot has committed"):
        bot.change_config(config(capital=4000), T0)


def test_a_stopped_bot_can_be_archived_and_then_refuses_every_command():
    bot = new_bot()
    with pytest.raises(BotStatusConflict, match="cannot archive a bot that is running"):
        bot.archive(T0)
    bot.stop(T0)
    bot.archive(T0)
    assert bot.status is BotStatus.ARCHIVED
    for command in (bot.start, bot.pause, bot.resume, bot.stop, bot.archive):
        with pytest.raises(BotStatusConflict):
            command(T0)
    with pytest.raises(BotStatusConflict, match="archived"):
        bot.change_config(config(capital=1), T0)


def test_a_bot_holding_a_position_cannot_be_archived():
    bot = new_bot()
    buy(bot)
    bot.record_fill(T0, "b1", 10, Decimal("100"), Decimal(0))
    bot.stop(T0)
    with pytest.raises(BotStatusConflict, match="open positions"):
        bot.archive(T0)


def test_sell_fills_carry_their_realised_pnl():
    bot = new_bot()
    buy(bot)
    bot.record_fill(T0, "b1", 10, Decimal("100"), Decimal("1"))
    assert bot._pending_events[-2].realized_pnl is None
    sell(bot, qty=10)
    bot.record_fill(T0, "s1", 4, Decimal("110"), Decimal("1"))
    bot.record_fill(T0, "s1", 6, Decimal("90"), Decimal("1"))
    fills = [e for e in bot._pending_events if isinstance(e, Bot.OrderFilled) and e.side == "sell"]
    assert [f.realized_pnl for f in fills] == [Decimal("38.6"), Decimal("-61.6")]  # cost 100.1 each
    assert sum(f.realized_pnl for f in fills) == bot.realized_pnl


def test_every_event_is_built_as_the_librarys_constructor_builds_it():
    """`Bot._record` skips the library's constructor: each event class, recorded here by the
    one method that records it, must come out with its fields in declared order and equal to
    the event the library would construct from the same values."""
    bot = new_bot()
    bot.change_config(config(capital=20000), T0)
    bot.pause(T0)
    bot.resume(T0)
    bot.record_reconciliation(T0, "sim", {"b9": "not found"})
    bot.record_signal(T0, "AAPL", T0, Side.BUY, Decimal("100"), {"close": Decimal(1)}, "r", {})
    bot.pass_risk_check(T0, "AAPL", Side.BUY, 10, Decimal("100"), {"cash": "ok"})
    bot.deny_order(T0, "AAPL", Side.BUY, "cash", Decimal(1), Decimal(2), "too much")
    buy(bot, qty=10)
    bot.accept_order(T0, "b1", "x1")
    bot.record_fill(T0, "b1", 4, Decimal("100"), Decimal(0))
    bot.record_fill(T0, "b1", 6, Decimal("100"), Decimal(0))
    sell(bot, qty=10)
    bot.record_fill(T0, "s1", 10, Decimal("90"), Decimal(0))
    buy(bot, coid="b2")
    bot.reject_order(T0, "b2", "no")
    buy(bot, coid="b3")
    bot.cancel_order(T0, "b3", "late")
    bot.reach_daily_loss_limit(T0, DAY, Decimal(100), Decimal(-100))
    bot.defer_exit(T0, "AAPL", Intent.EXIT, T0, ["b9"])
    bot.report_unexpected_fill(T0, "b9", "x9", 3, Decimal("99"), Decimal(0), "not working")
    bot.mark_errored(T0, "broken")
    bot.raise_alert(T0, "critical", "stopped trading")
    bot.stop(T0)
    bot.archive(T0)
    events = bot.collect_events()[1:]  # Created comes from the library's own path
    recorded = {type(e).__name__ for e in events}
    declared = {
        name
        for name, value in vars(Bot).items()
        if isinstance(value, type) and issubclass(value, Bot.Event) and name != "Created"
    }
    assert recorded == declared - {"Event"}
    for event in events:
        built = type(event)(**event.__dict__)
        assert list(event.__dict__) == list(built.__dict__), type(event).__name__
        assert event == built
