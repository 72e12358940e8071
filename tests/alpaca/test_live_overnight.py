"""A window that ended while the trader was down: flattened at the next open, exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from domain.bot import Bot
from domain.calendar import Session, session_on
from domain.orders import Intent
from infrastructure.alpaca_sim.runner import RunningSim
from infrastructure.alpaca_sim.server import SimOptions
from infrastructure.bootstrap import build_application
from infrastructure.sample_data import generate_bars, sessions_between
from tests.alpaca.conftest import Sim
from tests.alpaca.generated_session import start_bot
from tests.alpaca.live_support import Running, assert_books_match

SYMBOLS = ["AAPL", "MSFT", "NVDA"]
D0, D1, D2 = sessions_between(date(2024, 11, 1), date(2024, 11, 7))[-3:]  # Tue, Wed, Thu


def _session(day: date) -> Session:
    session = session_on(day)
    assert session is not None
    return session


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """New York wall-clock time on `day`, in UTC."""
    return _session(day).open.replace(hour=hour, minute=minute).astimezone(UTC)


BARS = generate_bars(SYMBOLS, [D0, D1, D2], 11)
D2_OPEN = _session(D2).open.astimezone(UTC)


@pytest.fixture
def three_days() -> Iterator[Sim]:
    """D0 as history; the trader starts at 10:00 on D1; D2 is the morning after."""
    with RunningSim(BARS, SimOptions(start=_at(D1, 10))) as running:
        yield Sim(running)


def _move_to(sim: Sim, moment: datetime) -> None:
    sim.post("/admin/clock", {"to": moment.isoformat()})


def _hold_positions(app: Any, sim: Sim) -> tuple[Any, dict[str, int]]:
    """A 10:00-10:30 bot on D1 that holds something when the trader goes down at ~10:15."""
    bot_id = start_bot(
        app, "morning", SYMBOLS, start_hour=10, start_minute=0, end_hour=10, end_minute=30
    )
    first = Running(app, sim)
    try:
        for _ in range(20):
            first.step(1)
            if sim.positions():
                break
    finally:
        first.close()
    held = {s: p.qty for s, p in app.get_bot(bot_id).positions.items()}
    assert held and sim.positions() == held
    return bot_id, held


def _flattens(app: Any, bot_id: Any) -> list[Any]:
    return [
        e
        for e in app.bot_events(bot_id)
        if isinstance(e, Bot.OrderSubmitted) and e.intent is Intent.FLATTEN
    ]


def test_a_window_that_ended_overnight_is_flattened_once_and_fills_at_the_next_open(
    three_days, tmp_path
):
    app = build_application(f"sqlite:///{tmp_path}/live.sqlite")
    bot_id, held = _hold_positions(app, three_days)
    _move_to(three_days, _at(D1, 17))  # the window ended (and the day's orders expired)
    after_close = Running(app, three_days)
    after_close.close()
    flattens = _flattens(app, bot_id)
    assert {e.symbol: e.qty for e in flattens} == held
    queued = {o["client_order_id"]: o["status"] for o in three_days.orders()}
    assert {queued[e.client_order_id] for e in flattens} == {"accepted"}
    # Flattened, not protected again first: tonight's orders are the flattening sells alone.
    tonight = {
        o["client_order_id"]
        for o in three_days.orders()
        if datetime.fromisoformat(o["created_at"]) >= _at(D1, 17)
    }
    assert tonight == {e.client_order_id for e in flattens}
    assert app.get_bot(bot_id).positions.keys() == held.keys()  # nothing fills while closed

    _move_to(three_days, _at(D2, 8))  # restarted before the open: the queued orders stand
    morning = Running(app, three_days)
    try:
        _move_to(three_days, D2_OPEN)
        morning.step(1)  # the opening bars: the queued sells filled at their open
    finally:
        morning.close()

    assert _flattens(app, bot_id) == flattens  # decided and submitted once
    assert app.get_bot(bot_id).positions == {} and three_days.positions() == {}
    fills = [e for e in app.bot_events(bot_id) if isinstance(e, Bot.OrderFilled)]
    opening = {b.symbol: b.open for b in BARS if b.timestamp == D2_OPEN}
    flatten_ids = {e.client_order_id: e.symbol for e in flattens}
    at_open = [(f.symbol, f.price, f.timestamp) for f in fills if f.client_order_id in flatten_ids]
    assert sorted(at_open) == sorted((s, opening[s], D2_OPEN) for s in held)
    assert_books_match(app, three_days, [bot_id])


def test_a_position_held_overnight_is_flattened_when_the_trader_returns_in_the_next_window(
    three_days, tmp_path
):
    app = build_application(f"sqlite:///{tmp_path}/live.sqlite")
    bot_id, held = _hold_positions(app, three_days)
    _move_to(three_days, _at(D2, 10, 5))  # down from D1 10:15 to D2 10:05, inside D2's window
    back = Running(app, three_days)
    try:
        back.step(1)
    finally:
        back.close()
    flattens = _flattens(app, bot_id)
    assert {e.symbol for e in flattens} == set(held)
    signals = [e for e in app.bot_events(bot_id) if isinstance(e, Bot.SignalGenerated)]
    assert any(f"window ended while the trader was down on {D1}" in e.rule for e in signals)
    assert not set(held) & set(app.get_bot(bot_id).positions)
    assert_books_match(app, three_days, [bot_id])
