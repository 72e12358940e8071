"""The AlpacaBroker reports an OCO as one order and a cancel only once Alpaca shows it ended."""

from __future__ import annotations

from decimal import Decimal

import pytest

from application.engine import SettableClock
from application.ports import UpdateKind
from domain.orders import OrderRequest, OrderType, Side
from infrastructure.alpaca.broker import AlpacaBroker
from infrastructure.alpaca.clients import trading_client, trading_stream
from tests.alpaca.conftest import SCRIPT_OPEN, scripted_bars, wait_for

HELD = 147
QUIET = ("100", "101", "99.5", "100.5")  # between the stop and the take-profit
TO_THE_STOP = ("100.5", "101", "96", "96.5")
TO_THE_TARGET = ("100.5", "105", "100", "104.5")
EXIT = OrderRequest(
    "ob-x-ACME-exit", "ACME", Side.SELL, HELD, OrderType.OCO, Decimal("104"), Decimal("97")
)
RESTING = OrderRequest("ob-x-ACME-sell", "ACME", Side.SELL, 10, OrderType.LIMIT, Decimal("110"))


@pytest.fixture
def broker_for():
    """An AlpacaBroker on a simulator, with the trade-updates stream or on REST alone."""
    started: list[AlpacaBroker] = []

    def make(sim, streamed: bool = True) -> AlpacaBroker:
        stream = trading_stream(sim.config, min_backoff=0.05) if streamed else None
        broker = AlpacaBroker(
            trading_client(sim.config, timeout=0.5), SettableClock(SCRIPT_OPEN), stream,
            backoff=0.01,
        )  # fmt: skip
        broker.start()
        started.append(broker)
        if streamed:
            wait_for(lambda: sim.state()["stream_clients"]["trading"], what="the trading stream")
        return broker

    yield make
    for broker in started:
        broker.close()


def _kinds(updates) -> list[tuple[str, str, int]]:
    return [(u.kind.value, u.client_order_id, u.qty) for u in updates]


def _until(broker: AlpacaBroker, bar, kind: UpdateKind) -> list:
    """Observe `bar` until an update of `kind` comes out; every update polled meanwhile."""
    seen: list = []

    def arrived() -> bool:
        broker.observe(bar)
        seen.extend(broker.poll_updates())
        return any(u.kind is kind for u in seen)

    wait_for(arrived, what=f"a {kind.value} update")
    return seen


@pytest.mark.parametrize(
    ("minute", "price"), [(TO_THE_STOP, Decimal(97)), (TO_THE_TARGET, Decimal(104))]
)
def test_either_leg_of_an_oco_filling_is_one_fill_of_the_bots_order_and_no_cancel(
    holding_sim, broker_for, minute, price
):
    bars = scripted_bars("ACME", QUIET, minute)
    sim = holding_sim(bars, HELD)
    broker = broker_for(sim)
    broker.submit(EXIT)
    assert _kinds(broker.poll_updates()) == [("accepted", EXIT.client_order_id, 0)]

    sim.step(1)
    updates = _until(broker, bars[1], UpdateKind.FILLED)
    [fill] = updates
    assert (fill.kind, fill.client_order_id, fill.qty, fill.price) == (
        UpdateKind.FILLED, EXIT.client_order_id, HELD, price
    )  # fmt: skip
    sim.step(1)
    broker.observe(bars[1])
    assert broker.poll_updates() == []  # the other leg's cancel is no news to the engine

    found = broker.refresh(EXIT.client_order_id)  # as reconciliation reads it
    assert found is not None
    assert (found.status, found.filled_qty, found.filled_avg_price) == ("filled", HELD, price)
    assert broker.poll_updates() == []


def test_an_oco_filled_while_nobody_listened_is_learned_by_lookup(holding_sim, broker_for):
    bars = scripted_bars("ACME", QUIET, TO_THE_STOP)
    sim = holding_sim(bars, HELD)
    broker = broker_for(sim, streamed=False)
    broker.submit(EXIT)
    broker.poll_updates()
    sim.step(1)
    broker.refresh(EXIT.client_order_id)
    broker.observe(bars[1])
    assert _kinds(broker.poll_updates()) == [("filled", EXIT.client_order_id, HELD)]


@pytest.mark.parametrize("streamed", [True, False])
def test_a_cancel_is_reported_once_alpaca_shows_the_order_canceled(
    holding_sim, broker_for, streamed
):
    bars = scripted_bars("ACME", QUIET, QUIET)
    sim = holding_sim(bars, HELD)
    broker = broker_for(sim, streamed)
    broker.submit(EXIT)
    broker.poll_updates()
    lookups = broker.stats["lookups"]
    broker.cancel(EXIT.client_order_id)
    updates = _until(broker, bars[0], UpdateKind.CANCELED)
    assert _kinds(updates) == [("canceled", EXIT.client_order_id, 0)]
    assert updates[0].reason == "canceled by the bot"
    if not streamed:
        assert broker.stats["lookups"] > lookups  # the 204 alone proved nothing
    sim.step(1)
    broker.observe(bars[1])
    assert broker.poll_updates() == []


def test_a_cancel_whose_end_cannot_be_seen_yet_is_reported_later_not_at_once(
    holding_sim, broker_for
):
    bars = scripted_bars("ACME", QUIET, QUIET)
    sim = holding_sim(bars, HELD)
    broker = broker_for(sim, streamed=False)
    broker.submit(RESTING)
    broker.poll_updates()
    sim.faults(http_500=6, only="/v2/orders:by_client_order_id")  # every lookup fails
    broker.cancel(RESTING.client_order_id)  # answered 204
    assert broker.poll_updates() == []  # asked for, not confirmed
    broker.observe(bars[0])  # the next look succeeds
    assert _kinds(broker.poll_updates()) == [("canceled", RESTING.client_order_id, 0)]


def test_a_cancel_that_got_no_answer_is_sent_again_on_the_next_bar(holding_sim, broker_for):
    bars = scripted_bars("ACME", QUIET, QUIET)
    sim = holding_sim(bars, HELD)
    broker = broker_for(sim, streamed=False)
    broker.submit(RESTING)
    broker.poll_updates()
    sim.faults(http_500=6, only="/v2/orders/")  # the DELETE never gets through
    broker.cancel(RESTING.client_order_id)
    assert broker.poll_updates() == []
    assert (
        trading_client(sim.config).get_order_by_client_id(RESTING.client_order_id).status == "new"
    )
    broker.observe(bars[0])
    assert _kinds(broker.poll_updates()) == [("canceled", RESTING.client_order_id, 0)]


@pytest.mark.parametrize("streamed", [True, False])
@pytest.mark.parametrize(
    ("request_", "price"),
    [(RESTING, Decimal(110)), (EXIT, Decimal(QUIET[3]))],
    ids=["limit", "oco"],
)
def test_an_order_that_fills_as_its_cancel_arrives_is_reported_filled_never_canceled(
    holding_sim, broker_for, streamed, request_, price
):
    bars = scripted_bars("ACME", QUIET, QUIET)
    sim = holding_sim(bars, HELD)
    broker = broker_for(sim, streamed)
    broker.submit(request_)
    broker.poll_updates()
    sim.faults(fill_on_cancel=1)
    broker.cancel(request_.client_order_id)  # refused: it filled
    updates = _until(broker, bars[0], UpdateKind.FILLED)
    assert [(u.kind, u.qty, u.price) for u in updates] == [(UpdateKind.FILLED, request_.qty, price)]
    broker.cancel(request_.client_order_id)  # the bot asks again: nothing more to say
    sim.step(1)
    broker.observe(bars[1])
    assert broker.poll_updates() == []
