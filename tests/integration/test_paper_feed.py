"""The paper feed on a real SQLite store: bots join, pause and leave while bars are fed."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

import pytest

from application.paper_feed import FeedState, PaperFeed, wall_clock_sleep
from application.service import OpenbellApplication
from application.store_watch import StoreWatch
from domain.bot import Bot, BotStatus
from infrastructure.bootstrap import build_application
from infrastructure.settings import persistence_env
from infrastructure.sim_broker import SimulatedBroker
from tests.builders import config, et, minute_bars

DAY = date(2024, 11, 1)  # a Friday, regular session
T0 = et(DAY, 8, 0)  # when the tests' commands happen, before the first bar
BOT = UUID("b0000001-0000-4000-8000-000000000001")
OTHER = UUID("b0000002-0000-4000-8000-000000000002")  # orders carry 12 hex of the id
# Around 100 in waves: SMA(3) votes buy on the way up and sell on the way down, again and again.
WAVE = ["100"] * 3 + [str(100 + d) for d in [1, 2, 3, 2, 1, 0, -1, -2, -1, 0] * 8]


def wave_bars(symbol: str = "AAPL") -> list[Any]:
    return minute_bars(symbol, DAY, WAVE)


def protected(**overrides: Any) -> Any:
    """A config whose positions rest a stop-loss order (wide enough not to trigger here)."""
    risk = {"stop_loss": 0.2, "max_position_size": 0.5, "max_positions": 1}
    return config(risk_management=risk, **overrides)


@pytest.fixture
def app(sqlite_url: str) -> Any:
    application = build_application(sqlite_url)
    yield application
    application.close()


def add_bot(app: OpenbellApplication, bot_id: UUID = BOT, start: bool = True, **cfg: Any) -> None:
    app.create_bot(bot_id, config(name=str(bot_id), **cfg), T0)
    if start:
        app.run_command(bot_id, "start", T0)


def feed(app: OpenbellApplication, bars: list[Any] | None = None, **kwargs: Any) -> PaperFeed:
    paper = PaperFeed(app, bars or wave_bars(), SimulatedBroker, **kwargs)
    paper.run()
    return paper


def at_bar(index: int, action: Any) -> Any:
    """A publish hook that runs `action(bar)` once, right after bar `index` is stored."""
    seen = []

    def publish(topic: str, message: dict[str, Any]) -> None:
        seen.append(message)
        if len(seen) == index + 1:
            action(wave_bars()[index])

    return publish


def stored(app: OpenbellApplication, bot_id: UUID = BOT, kind: type | None = None) -> list[Any]:
    return [e for e in app.bot_events(bot_id) if kind is None or isinstance(e, kind)]


def entries(app: OpenbellApplication, bot_id: UUID = BOT) -> list[Any]:
    return [e for e in stored(app, bot_id, Bot.OrderSubmitted) if e.intent == "entry"]


def test_a_bot_running_before_the_feed_trades_and_its_events_are_stored(app):
    add_bot(app)
    add_bot(app, OTHER, start=False)
    status = feed(app).status()
    assert status.state is FeedState.FINISHED and status.bars_fed == status.bars_total == 83
    assert status.current_bar_time == wave_bars()[-1].timestamp and status.error is None
    assert len(stored(app, kind=Bot.PositionClosed)) >= 3
    assert stored(app, OTHER, Bot.SignalGenerated) == []  # created, never started
    assert app.get_bot(BOT).status is BotStatus.RUNNING  # the feed leaves statuses alone


def test_each_bars_events_are_stored_before_the_bar_is_published(app):
    add_bot(app)
    counts = []

    def publish(topic: str, message: dict[str, Any]) -> None:
        events = stored(app)
        closed = wave_bars()[len(counts)].timestamp + timedelta(minutes=1)
        assert events[-1].timestamp <= closed
        counts.append(len(events))

    feed(app, publish=publish)
    assert counts == sorted(counts) and len(set(counts)) > 10  # stored bar by bar


def test_bars_are_published_with_exact_prices(app):
    messages = []
    feed(app, wave_bars()[:4], publish=lambda topic, message: messages.append((topic, message)))
    topic, message = messages[3]
    assert topic == "bars:AAPL"
    assert message == {
        "bar": {
            "symbol": "AAPL",
            "time": "2024-11-01T13:33:00+00:00",
            "open": "100",
            "high": "101",
            "low": "100",
            "close": "101",
            "volume": 1000,
        }
    }


def test_a_bot_started_mid_feed_joins_and_trades(app):
    add_bot(app, start=False)
    started = wave_bars()[30].timestamp
    feed(app, publish=at_bar(30, lambda bar: app.run_command(BOT, "start", started)))
    signals = stored(app, kind=Bot.SignalGenerated)
    assert signals and min(s.timestamp for s in signals) > started
    assert stored(app, kind=Bot.OrderFilled)


def test_a_bot_joining_mid_feed_learns_the_bars_fed_so_far(app, tmp_path):
    slow = {"SMA": {"period": 20}}  # nobody else computes it: it registers cold
    add_bot(app)  # SMA(3), trading from the first bar
    add_bot(app, OTHER, start=False, indicators=slow)
    started = wave_bars()[40].timestamp
    feed(app, publish=at_bar(40, lambda bar: app.run_command(OTHER, "start", started)))
    joined = {s.bar_time: s.indicators for s in stored(app, OTHER, Bot.SignalGenerated)}
    # Cold, SMA(20) would have its first value 19 bars after the bot joined.
    assert joined and min(joined) < wave_bars()[48].timestamp
    alone = build_application(f"sqlite:///{tmp_path}/alone.sqlite")
    add_bot(alone, OTHER, indicators=slow)  # the same bot, trading from the first bar
    feed(alone)
    replayed = {s.bar_time: s.indicators for s in stored(alone, OTHER, Bot.SignalGenerated)}
    common = joined.keys() & replayed.keys()
    assert len(common) >= 3 and all(joined[t] == replayed[t] for t in common)
    alone.close()


def test_pausing_mid_feed_stops_new_entries_but_the_bot_stays(app):
    add_bot(app)
    paused = wave_bars()[40].timestamp
    status = feed(
        app, publish=at_bar(40, lambda bar: app.run_command(BOT, "pause", paused))
    ).status()
    assert [e for e in entries(app) if e.timestamp < paused]
    assert [e for e in entries(app) if e.timestamp > paused] == []
    assert app.get_bot(BOT).status is BotStatus.PAUSED and status.bots == 1


def test_stopping_mid_feed_withdraws_the_bots_orders_and_drops_it(app):
    app.create_bot(BOT, protected(), T0)
    app.run_command(BOT, "start", T0)
    holding = next(i for i, c in enumerate(WAVE) if c == "102")  # bought on the way up
    stopped = wave_bars()[holding].timestamp
    status = feed(
        app, publish=at_bar(holding, lambda bar: app.run_command(BOT, "stop", stopped))
    ).status()
    bot = app.get_bot(BOT)
    assert bot.status is BotStatus.STOPPED and bot.orders == {} and bot.positions
    canceled = stored(app, kind=Bot.OrderCanceled)[-1]
    assert "withdrawn by the paper feed" in canceled.reason
    assert [e for e in stored(app) if e.timestamp > canceled.timestamp] == []
    assert status.bots == 0


def test_the_feed_withdraws_working_orders_when_the_bars_run_out(app):
    app.create_bot(BOT, protected(), T0)
    app.run_command(BOT, "start", T0)
    holding = next(i for i, c in enumerate(WAVE) if c == "102")
    feed(app, wave_bars()[: holding + 1])
    bot = app.get_bot(BOT)
    assert bot.positions and bot.orders == {} and bot.status is BotStatus.RUNNING


def test_the_same_bars_and_bots_give_identical_events_in_two_stores(tmp_path):
    digests = []
    for name in ("one", "two"):
        application = build_application(f"sqlite:///{tmp_path / name}.sqlite")
        try:
            add_bot(application)
            application.create_bot(OTHER, protected(name="other", symbols=["MSFT"]), T0)
            application.run_command(OTHER, "start", T0)
            feed(application, wave_bars() + wave_bars("MSFT"))
            digests.append([application.digest(b) for b in (BOT, OTHER)])
        finally:
            application.close()
    assert digests[0] == digests[1] and digests[0][0][1] > 50


def essence(app: OpenbellApplication, bot_id: UUID) -> list[Any]:
    return [
        {k: v for k, v in vars(e).items() if k != "broker_order_id"} for e in stored(app, bot_id)
    ]


def key(event: Any) -> tuple[Any, ...]:
    return type(event), event.timestamp, getattr(event, "reason", None)


class RacingApplication(OpenbellApplication):
    """Stores `race` (a command) just before the feed's next save of BOT's events."""

    race: Any = None
    lost: list[Any]

    def save(self, *objs: Any, **kwargs: Any) -> Any:
        if self.race is not None and any(getattr(o, "originator_id", None) == BOT for o in objs):
            race, self.race = self.race, None
            self.lost = [o for o in objs if getattr(o, "originator_id", None) == BOT]
            race()
        return super().save(*objs, **kwargs)


def test_a_command_racing_a_bar_drops_that_bars_events_of_its_bot_only(sqlite_url, tmp_path):
    reference = build_application(f"sqlite:///{tmp_path / 'reference'}.sqlite")
    add_bot(reference)
    add_bot(reference, OTHER)  # trades AAPL too: both bots' events go in the same saves
    feed(reference)
    app = RacingApplication(env=persistence_env(sqlite_url))
    try:
        add_bot(app)
        add_bot(app, OTHER)
        pause = lambda: app.run_command(BOT, "pause", T0)  # noqa: E731
        hook = at_bar(20, lambda bar: setattr(app, "race", pause))
        status = feed(app, publish=hook).status()
        assert status.conflicts == 1 and status.state is FeedState.FINISHED
        lost = {key(e) for e in app.lost}
        assert lost and not [e for e in stored(app) if key(e) in lost]
        bot = app.get_bot(BOT)  # the stored history still makes a consistent bot
        assert bot.status is BotStatus.PAUSED and bot.orders == {}
        # The other bot lost nothing (the simulator numbers orders across bots: ignore that).
        assert essence(app, OTHER) == essence(reference, OTHER)
    finally:
        app.close()
        reference.close()


class Sleeps:
    """The feed's sleeps, recorded instead of slept; `on_first` runs inside the first one."""

    def __init__(self, on_first: Any = None) -> None:
        self.asked: list[float] = []
        self.stopping_seen: list[bool] = []
        self._on_first = on_first

    def __call__(self, seconds: float, stopping: Any) -> None:
        self.asked.append(seconds)
        if self._on_first is not None and len(self.asked) == 1:
            self._on_first()
        self.stopping_seen.append(stopping())


def test_stop_ends_a_slow_feed_during_its_sleep(app):
    add_bot(app)
    sleeps = Sleeps(on_first=lambda: paper.stop())
    paper = PaperFeed(app, wave_bars(), SimulatedBroker, speed=60, sleep=sleeps)
    paper.run()
    status = paper.status()
    # A second per bar asked for; the stop came during the first and was seen there.
    assert sleeps.asked == [1.0] and sleeps.stopping_seen == [True]
    assert status.state is FeedState.STOPPED and status.bars_fed == 1
    assert status.finished_at is not None and app.get_bot(BOT).orders == {}


def test_speed_sleeps_market_time_over_speed_capped_per_gap(app):
    bars = wave_bars()[:3]
    bars.append(minute_bars("AAPL", DAY + timedelta(days=3), ["100"])[0])  # a weekend gap
    sleeps = Sleeps()
    PaperFeed(app, bars, SimulatedBroker, speed=600, max_sleep=0.3, sleep=sleeps).run()
    assert sleeps.asked == [0.1, 0.1, 0.3]


def test_the_wall_clock_sleep_returns_once_the_feed_is_stopping():
    calls = []
    wall_clock_sleep(60, lambda: calls.append(1) or len(calls) > 2)
    assert len(calls) == 3  # asked between slices, not slept out


def test_a_failing_feed_reports_its_error(app):
    def broken(clock: Any) -> Any:
        raise RuntimeError("no broker today")

    paper = PaperFeed(app, wave_bars(), broken)
    paper.run()
    status = paper.status()
    assert status.state is FeedState.FAILED and status.error == "RuntimeError: no broker today"


def test_the_store_watch_ignores_its_own_writes(app):
    add_bot(app)
    watch = StoreWatch(app.recorder, "domain.bot:Bot.")
    assert watch.changed() == {}
    bot = app.get_bot(BOT)
    bot.pause(T0)
    watch.saved(app.save(bot))
    assert watch.changed() == {}
    app.run_command(BOT, "resume", T0)
    assert watch.changed() == {BOT: {"domain.bot:Bot.Resumed"}}
    assert watch.changed() == {}
