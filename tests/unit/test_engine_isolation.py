"""One bot's trouble stays its own: the engine errors that bot and the others trade on."""

from datetime import date
from decimal import Decimal

from application.ports import BrokerUpdate, UpdateKind
from domain.bot import Bot, BotStatus
from domain.orders import Side
from tests.builders import config, engine_with, et, events_of, minute_bars

DAY = date(2024, 11, 1)


class InjectingBroker:
    """The simulated broker, plus updates a test slips in (a broker reporting nonsense)."""

    def __init__(self, inner) -> None:
        self.inner, self.injected = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def poll_updates(self):
        injected, self.injected = self.injected, []
        return injected + self.inner.poll_updates()


def two_bots():
    configs = [config(name="first"), config(name="second")]
    engine = engine_with(configs, et(DAY, 9, 30))
    engine.broker = InjectingBroker(engine.broker)
    for runner in engine.runners.values():
        runner.broker = engine.broker
    first, second = engine.bots
    return engine, first, second


def test_an_impossible_fill_errors_that_bot_alone_and_the_others_orders_still_go_out():
    engine, first, second = two_bots()
    bars = minute_bars("AAPL", DAY, ["100"] * 3 + [str(101 + i) for i in range(6)])
    engine.on_bar(bars[0])
    bogus = f"ob-{first.id.hex}-AAPL-202411011430-exit"
    engine.broker.injected.append(
        BrokerUpdate(UpdateKind.FILLED, bogus, et(DAY, 9, 31), "x", 500, Decimal("100"))
    )
    for b in bars[1:]:
        engine.on_bar(b)

    assert first.status is BotStatus.ERRORED
    unexpected = [e for e in events_of(first) if isinstance(e, Bot.UnexpectedFillReported)]
    assert [(e.client_order_id, e.qty) for e in unexpected] == [(bogus, 500)]
    assert "never had working" in unexpected[0].reason
    alert = next(e for e in events_of(first) if isinstance(e, Bot.AlertRaised))
    assert alert.severity == "critical" and "first stopped trading" in alert.message
    assert not [e for e in events_of(first) if isinstance(e, Bot.OrderSubmitted)]
    assert first.positions == {}
    # The other bot took the same signal and traded it.
    buys = [e for e in events_of(second) if isinstance(e, Bot.OrderFilled) and e.side is Side.BUY]
    assert second.status is BotStatus.RUNNING and len(buys) == 1


def test_a_bot_whose_bar_handling_fails_errors_alone(monkeypatch):
    engine, first, second = two_bots()
    runner = engine.runners[str(first.id)]

    def broken(*args):
        raise ValueError("indicator exploded")

    monkeypatch.setattr(runner, "on_bar", broken)
    for b in minute_bars("AAPL", DAY, ["100"] * 3 + [str(101 + i) for i in range(6)]):
        engine.on_bar(b)
    errored = [e for e in events_of(first) if isinstance(e, Bot.Errored)]
    assert [e.reason for e in errored] == ["ValueError: indicator exploded (on the AAPL bar)"]
    assert errored[0].timestamp == et(DAY, 9, 31)  # the first bar's close, from the clock
    assert second.positions and second.status is BotStatus.RUNNING
