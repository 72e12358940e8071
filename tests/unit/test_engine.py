"""The engine over the simulator: windows, frequency, exits and limits, bar by bar."""

from datetime import date, timedelta
from decimal import Decimal

from domain.bot import Bot
from tests.builders import bar, config, engine_with, et, events_of, kinds, minute_bars

DAY = date(2024, 11, 1)  # a Friday, regular session


def run(engine, bars):
    for b in bars:
        engine.on_bar(b)
    return engine.bots[0]


def of_type(bot, cls):
    return [e for e in events_of(bot) if type(e) is cls]


def rising_after_flat(day=DAY, start=(9, 30), n_up=3):
    return minute_bars("AAPL", day, ["100"] * 3 + [str(101 + i) for i in range(n_up)], start=start)


def test_buy_signal_enters_at_the_next_bars_open_and_records_why():
    bot = run(engine_with([config()], et(DAY, 9, 30)), rising_after_flat())
    signal = of_type(bot, Bot.SignalGenerated)[0]
    assert signal.side == "buy" and signal.bar_time == et(DAY, 9, 33)
    assert signal.indicators["SMA(3).sma"] == Decimal(repr((100 + 100 + 101) / 3))
    assert "close 101.00 > SMA(3) 100.33" in signal.rule
    assert signal.timestamp == et(DAY, 9, 34)  # decided when the bar closed
    fill = of_type(bot, Bot.OrderFilled)[0]
    assert fill.price == Decimal("101") and fill.timestamp == et(DAY, 9, 34)
    assert kinds(bot)[2:8] == [
        "SignalGenerated",
        "RiskCheckPassed",
        "OrderSubmitted",
        "OrderAccepted",
        "OrderFilled",
        "PositionOpened",
    ]


def test_no_decisions_outside_the_trading_window_but_indicators_warm_up():
    early = rising_after_flat(start=(9, 0))  # 9:00-9:05, before the window
    bot = run(engine_with([config()], et(DAY, 9, 0)), early)
    assert of_type(bot, Bot.SignalGenerated) == []
    late = rising_after_flat(start=(12, 30))
    assert of_type(run(engine_with([config()], et(DAY, 12, 30)), late), Bot.SignalGenerated) == []


def test_trading_frequency_limits_decisions_to_its_steps():
    # Every 5 minutes from 9:30: decisions only on bars closing 9:35, 9:40, ...
    closes = ["100"] * 3 + ["101"] * 10
    engine = engine_with([config(trading_frequency=300)], et(DAY, 9, 30))
    bot = run(engine, minute_bars("AAPL", DAY, closes))
    signal = of_type(bot, Bot.SignalGenerated)[0]
    assert signal.timestamp == et(DAY, 9, 35)


def test_flattens_in_the_last_minute_of_the_window():
    bars = rising_after_flat() + minute_bars("AAPL", DAY, ["103"] * 3, start=(11, 57))
    bot = run(engine_with([config()], et(DAY, 9, 30)), bars)
    flatten = [e for e in of_type(bot, Bot.OrderSubmitted) if e.intent == "flatten"]
    assert len(flatten) == 1 and flatten[0].timestamp == et(DAY, 11, 59)
    closed = of_type(bot, Bot.PositionClosed)[0]
    assert closed.timestamp == et(DAY, 11, 59)  # filled at the open of the last window bar
    assert bot.positions == {}


def test_stop_loss_closes_position_when_price_falls_below_the_limit():
    cfg = config(risk_management={"stop_loss": 0.02, "max_position_size": 0.5})
    bars = rising_after_flat(n_up=1)  # entry signal at 9:33, fill at 9:34 open (101)
    bars.append(bar("AAPL", et(DAY, 9, 34), "101", open_="101"))
    bars.append(bar("AAPL", et(DAY, 9, 35), "99", open_="100.5", low="98.5"))
    bot = run(engine_with([cfg], et(DAY, 9, 30)), bars)
    protect = next(e for e in of_type(bot, Bot.OrderSubmitted) if e.intent == "protect")
    assert protect.stop_price == Decimal("98.98")
    closed = of_type(bot, Bot.PositionClosed)[0]
    assert closed.avg_exit == Decimal("98.98")
    assert closed.realized_pnl < 0


def test_take_profit_fills_at_the_gap_open_when_price_gaps_above_the_target():
    cfg = config(risk_management={"take_profit": 0.01, "max_position_size": 0.5})
    bars = rising_after_flat(n_up=1)
    bars.append(bar("AAPL", et(DAY, 9, 34), "101", open_="101"))
    bars.append(bar("AAPL", et(DAY, 9, 35), "103", open_="102.50"))
    bot = run(engine_with([cfg], et(DAY, 9, 30)), bars)
    assert of_type(bot, Bot.PositionClosed)[0].avg_exit == Decimal("102.50")


def test_daily_loss_limit_flattens_halts_and_trading_resumes_next_session():
    cfg = config(risk_management={"max_daily_loss": 0.01, "max_position_size": 0.9})
    bars = rising_after_flat(n_up=1)
    bars.append(bar("AAPL", et(DAY, 9, 34), "101", open_="101"))
    bars.append(bar("AAPL", et(DAY, 9, 35), "99", open_="100"))  # about -180 on ~89 shares
    bars += minute_bars("AAPL", DAY, ["99", "104", "105", "106"], start=(9, 36))
    monday = date(2024, 11, 4)
    bars += minute_bars("AAPL", monday, ["100", "100", "100", "101", "102"])
    bot = run(engine_with([cfg], et(DAY, 9, 30)), bars)
    reached = of_type(bot, Bot.DailyLossLimitReached)
    assert len(reached) == 1 and reached[0].day == DAY and reached[0].pnl <= -reached[0].limit
    halt = [e for e in of_type(bot, Bot.OrderSubmitted) if e.intent == "halt"]
    assert len(halt) == 1
    entries = [e for e in of_type(bot, Bot.OrderSubmitted) if e.intent == "entry"]
    assert [e.timestamp.date() for e in entries] == [DAY, monday]  # no re-entry on the halted day


def test_entry_not_filled_within_a_bar_is_canceled_and_the_reservation_released():
    bars = rising_after_flat(n_up=1)
    bars.append(
        bar("AAPL", et(DAY, 9, 34), "110", open_="110", low="109")
    )  # gapped above the limit
    bot = run(engine_with([config()], et(DAY, 9, 30)), bars)
    assert of_type(bot, Bot.OrderFilled) == []
    assert len(of_type(bot, Bot.OrderCanceled)) == 1
    assert bot.reserved == 0 and bot.cash == bot.config.capital


def test_no_trading_on_a_holiday():
    thanksgiving = date(2024, 11, 28)
    bot = run(engine_with([config()], et(thanksgiving, 9, 30)), rising_after_flat(thanksgiving))
    assert of_type(bot, Bot.SignalGenerated) == []


def test_early_close_ends_the_window_at_one_oclock():
    friday = date(2024, 11, 29)
    cfg = config(end_hour=16, end_minute=0)
    bars = rising_after_flat(friday) + minute_bars("AAPL", friday, ["104"] * 3, start=(12, 57))
    bot = run(engine_with([cfg], et(friday, 9, 30)), bars)
    flatten = [e for e in of_type(bot, Bot.OrderSubmitted) if e.intent == "flatten"]
    assert flatten[0].timestamp == et(friday, 12, 59)


def test_bots_sharing_an_indicator_share_one_calculator_and_own_their_positions():
    engine = engine_with([config(name="a"), config(name="b")], et(DAY, 9, 30))
    for b in rising_after_flat():
        engine.on_bar(b)
    assert engine.hub.labels("AAPL") == ["SMA(3)"]
    first, second = engine.bots
    assert first.positions["AAPL"].qty > 0 and second.positions["AAPL"].qty > 0
    assert {o.client_order_id[:35] for o in of_type(first, Bot.OrderSubmitted)} != {
        o.client_order_id[:35] for o in of_type(second, Bot.OrderSubmitted)
    }


def test_dst_change_moves_the_window_in_utc():
    before, after = date(2024, 11, 1), date(2024, 11, 4)
    engine = engine_with([config(trading_frequency=60)], et(before, 9, 30))
    bars = rising_after_flat(before) + rising_after_flat(after)
    bot = run(engine, bars)
    opened = [e.timestamp for e in of_type(bot, Bot.SignalGenerated) if e.side == "buy"]
    assert [t.hour for t in opened[:1]] == [13]  # 9:34 EDT = 13:34 UTC
    monday = [t for t in opened if t.date() == after]
    assert monday and monday[0].hour == 14  # 9:34 EST = 14:34 UTC
    assert et(after, 9, 34) - et(before, 9, 34) == timedelta(days=3, hours=1)


def test_bots_whose_ids_share_a_prefix_each_get_their_own_broker_updates():
    from uuid import UUID

    from application.engine import SettableClock, TradingEngine
    from infrastructure.sim_broker import SimulatedBroker

    clock = SettableClock(et(DAY, 9, 30))
    engine = TradingEngine(SimulatedBroker(clock), clock)
    for n, name in ((1, "a"), (2, "b")):
        bot = Bot.create(UUID(int=n), config(name=name), clock.now())  # same first 12 hex digits
        bot.start(clock.now())
        engine.add_bot(bot)
    for b in rising_after_flat():
        engine.on_bar(b)
    first, second = engine.bots
    assert first.positions["AAPL"].qty > 0 and second.positions["AAPL"].qty > 0
    assert len(of_type(first, Bot.OrderFilled)) == len(of_type(second, Bot.OrderFilled)) == 1
