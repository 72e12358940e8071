"""Helpers for live-trader tests: a store with the sample bots, and the books checked."""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

from application.bot_config import parse_bot_config
from application.live import LiveTrader
from application.service import OpenbellApplication, bot_id_for
from domain.bot import Bot
from infrastructure.alpaca.live import build_live_trader
from infrastructure.bootstrap import build_application
from tests.alpaca.conftest import Sim, wait_for

BOTS = Path(__file__).resolve().parents[2] / "data" / "sample" / "bots"
OPEN = datetime(2024, 10, 31, 13, 30, tzinfo=UTC)


def store_with_sample_bots(url: str) -> tuple[OpenbellApplication, list[UUID]]:
    app = build_application(url)
    ids = []
    for path in sorted(BOTS.glob("*.json")):
        config = parse_bot_config(json.loads(path.read_text()))
        bot_id = bot_id_for(config.name, "live-test")
        app.create_bot(bot_id, config, OPEN)
        app.run_command(bot_id, "start", OPEN)
        ids.append(bot_id)
    return app, ids


class Running:
    """A LiveTrader on a thread, stepped together with the simulator."""

    def __init__(self, app: OpenbellApplication, sim: Sim, **kwargs: Any) -> None:
        self.seen: list[Any] = []
        self.trader: LiveTrader = build_live_trader(
            app, sim.config, min_backoff=0.05, retry_backoff=0.01, on_bar=self.seen.append, **kwargs
        )
        self.sim, self.stop = sim, threading.Event()
        self.thread = threading.Thread(target=self.trader.run, args=(self.stop,), daemon=True)
        self.thread.start()
        wait_for(self.trader.ready.is_set, 10, "the trader to start")
        streams = {"data": 1, "trading": 1}
        wait_for(lambda: sim.state()["stream_clients"] == streams, 10, "the streams")

    def step(self, minutes: int, symbols: int = 3) -> None:
        for _ in range(minutes):
            before = self.trader.done_bars
            self.sim.step(1)
            wait_for(lambda b=before: self.trader.done_bars >= b + symbols, 10, "a bar")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def events_of(app: OpenbellApplication, ids: list[UUID]) -> list[Any]:
    return [e for bot_id in ids for e in app.bot_events(bot_id)]


def assert_books_match(app: OpenbellApplication, sim: Sim, ids: list[UUID]) -> dict[str, int]:
    """No order doubled, no fill lost, the bots' positions sum to the account's."""
    events = events_of(app, ids)
    submitted = Counter(e.client_order_id for e in events if isinstance(e, Bot.OrderSubmitted))
    assert max(submitted.values(), default=1) == 1, "a decision submitted twice"
    at_sim = {o["client_order_id"]: o for o in sim.orders()}
    assert set(at_sim) <= set(submitted), "an order at the broker that no event submitted"
    unsent = set(submitted) - set(at_sim)
    ended = {
        e.client_order_id: f"{type(e).__name__}: {e.reason}"
        for e in events
        if isinstance(e, Bot.OrderCanceled | Bot.OrderRejected)
    }
    # Unsent: withdrawn before sending, never received, or refused (e.g. qty still committed).
    assert unsent <= set(ended), f"orders neither sent nor ended: {unsent - set(ended)}"
    fills: Counter[str] = Counter()
    for e in events:
        if isinstance(e, Bot.OrderFilled):  # and partial fills
            fills[e.client_order_id] += e.qty
    for cid, order in at_sim.items():
        assert fills[cid] == int(order["filled_qty"]), f"fills of {cid}"
    bots = [app.get_bot(i) for i in ids]
    mine: Counter[str] = Counter()
    for bot in bots:
        for symbol, held in bot.positions.items():
            mine[symbol] += held.qty
    assert dict(+mine) == sim.positions()
    cash = {bot.config.name: bot.cash for bot in bots}
    assert all(c > Decimal(0) for c in cash.values())
    return dict(submitted)
