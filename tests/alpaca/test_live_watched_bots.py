"""Bots that stopped trading still have their orders at the broker seen through to the end."""

from __future__ import annotations

from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest

from domain.bot import Bot, BotStatus
from domain.orders import Intent
from infrastructure.alpaca.clients import trading_client
from infrastructure.bootstrap import build_application
from tests.alpaca.conftest import wait_for
from tests.alpaca.generated_session import start_bot
from tests.alpaca.live_support import Running


def test_a_bot_stopped_while_the_trader_was_down_has_its_orders_canceled_at_start(
    day_sim, tmp_path
):
    app = build_application(f"sqlite:///{tmp_path}/live.sqlite")
    bot_id = start_bot(app, "stopping", ["AAPL", "MSFT", "NVDA"])
    first = Running(app, day_sim)
    try:
        for _ in range(30):  # until it holds something with its protection resting
            first.step(1)
            if any(o.intent is Intent.PROTECT for o in app.get_bot(bot_id).orders.values()):
                break
    finally:
        first.close()
    resting = {c for c, o in app.get_bot(bot_id).orders.items() if o.intent is Intent.PROTECT}
    assert resting
    app.run_command(bot_id, "stop", app.get_bot(bot_id).modified_on)  # as the API would

    second = Running(app, day_sim)
    try:
        # Nothing trades any more (no bars come): the start-up alone cancels and records.
        wait_for(lambda: not app.get_bot(bot_id).orders, 10, "the cancels to be confirmed")
    finally:
        second.close()
    bot = app.get_bot(bot_id)
    assert bot.status is BotStatus.STOPPED and bot.positions
    at_broker = {o["client_order_id"]: o["status"] for o in day_sim.orders()}
    assert all(at_broker[c] == "canceled" for c in resting)
    canceled = [e for e in app.bot_events(bot_id) if isinstance(e, Bot.OrderCanceled)]
    assert {e.client_order_id for e in canceled} >= resting
    assert all(e.reason == "canceled by the bot" for e in canceled if e.client_order_id in resting)


def test_an_errored_bot_keeps_its_protection_and_its_fill_is_recorded(day_sim, tmp_path):
    """Put in error at start-up (an order with its id that none of its events sent), the bot
    trades no more, but its resting stop-loss/take-profit stays and its fill is recorded,
    though no bot follows that symbol's bars any more."""
    app = build_application(f"sqlite:///{tmp_path}/live.sqlite")
    tight = {"stop_loss": 0.002, "take_profit": 0.004, "max_position_size": 0.2}
    bot_id = start_bot(app, "erring", ["AAPL", "MSFT", "NVDA"], risk_management=tight)
    first = Running(app, day_sim)
    try:
        for _ in range(30):
            first.step(1)
            if any(o.intent is Intent.PROTECT for o in app.get_bot(bot_id).orders.values()):
                break
    finally:
        first.close()
    protect = next(o for o in app.get_bot(bot_id).orders.values() if o.intent is Intent.PROTECT)
    stranger = f"ob-{bot_id.hex}-{protect.symbol}-209901011200-entry"
    trading_client(day_sim.config).submit_order(
        MarketOrderRequest(
            symbol=protect.symbol, qty=1, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
            client_order_id=stranger,
        )
    )  # fmt: skip

    second = Running(app, day_sim)
    try:
        wait_for(lambda: app.get_bot(bot_id).status is BotStatus.ERRORED, 10, "the error")

        def ended_at_broker() -> bool:
            day_sim.step(1)
            order = next(
                o for o in day_sim.orders() if o["client_order_id"] == protect.client_order_id
            )
            return order["status"] in ("filled", "canceled", "expired")

        wait_for(ended_at_broker, 30, "the protection to fill or end")
        wait_for(
            lambda: protect.client_order_id not in app.get_bot(bot_id).orders, 10, "its record"
        )
    finally:
        second.close()
    bot = app.get_bot(bot_id)
    errored = [e for e in app.bot_events(bot_id) if isinstance(e, Bot.Errored)]
    assert stranger in errored[-1].reason
    assert [e for e in app.bot_events(bot_id) if isinstance(e, Bot.AlertRaised)]
    filled = sum(
        e.qty
        for e in app.bot_events(bot_id)
        if isinstance(e, Bot.OrderFilled) and e.client_order_id == protect.client_order_id
    )
    at_broker = next(o for o in day_sim.orders() if o["client_order_id"] == protect.client_order_id)
    legs = sum(int(leg["filled_qty"]) for leg in at_broker.get("legs") or [])
    assert filled == int(at_broker["filled_qty"]) + legs > 0  # these bars reach its target
    # The account: the bot's own position, plus the one share bought by hand.
    assert bot.position_qty(protect.symbol) + 1 == day_sim.positions().get(protect.symbol, 0)
