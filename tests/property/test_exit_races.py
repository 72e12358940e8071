"""A bot's exits against a broker that answers late, in any order (hypothesis, stateful).

The broker here is the live one's shape: requests leave at once, answers (fills, partial fills,
cancel confirmations) come whenever the machine below chooses, and a resting order may fill
after its cancel was asked for. Whatever the interleaving, the bot never has more shares in
sell orders than it holds, the broker never sells more than the bot bought there, and once
every answer is in, the bot's position is the broker's and the sum of its own fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from application.engine import SettableClock, TradingEngine
from application.ports import BrokerUpdate, UpdateKind
from domain.bars import Bar
from domain.bot import Bot, BotStatus
from domain.orders import Intent, OrderRequest, OrderType, Side, client_order_id
from tests.builders import bar, config, et

DAY = et(date(2024, 11, 1), 9, 30)
SYMBOL = "AAPL"
PRICE = Decimal("100")


@dataclass
class Resting:
    request: OrderRequest
    filled: int = 0
    cancel_asked: bool = False

    @property
    def remaining(self) -> int:
        return self.request.qty - self.filled


class LateBroker:
    """Takes requests at once and answers only when told to."""

    def __init__(self, clock: SettableClock) -> None:
        self.clock = clock
        self.open: dict[str, Resting] = {}
        self.answers: list[BrokerUpdate] = []
        self.position = 0  # what the account holds, from the broker's own fills

    def submit(self, request: OrderRequest) -> None:
        self.open[request.client_order_id] = Resting(request)

    def cancel(self, client_order_id: str) -> None:
        if client_order_id in self.open:
            self.open[client_order_id].cancel_asked = True

    def estimate_fee(self, qty: int, price: Decimal) -> Decimal:
        return Decimal(0)

    def observe(self, bar: Bar) -> None:
        pass

    def poll_updates(self) -> list[BrokerUpdate]:
        answers, self.answers = self.answers, []
        return answers

    def fill(self, cid: str, qty: int) -> None:
        order = self.open[cid]
        qty = min(qty, order.remaining)
        order.filled += qty
        buying = order.request.side is Side.BUY
        self.position += qty if buying else -qty
        assert self.position >= 0, f"the broker sold {-self.position} shares the bot never had"
        now = self.clock.now()
        self.answers.append(BrokerUpdate(UpdateKind.FILLED, cid, now, "b", qty, PRICE))
        if not order.remaining:
            del self.open[cid]

    def confirm_cancel(self, cid: str) -> None:
        del self.open[cid]
        self.answers.append(BrokerUpdate(UpdateKind.CANCELED, cid, self.clock.now(), "b"))


class ExitRaces(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = SettableClock(DAY)
        self.broker = LateBroker(self.clock)
        self.engine = TradingEngine(self.broker, self.clock)
        cfg = config(risk_management={"stop_loss": 0.02, "take_profit": 0.04})
        bot = Bot.create(UUID(int=7), cfg, DAY)
        bot.start(DAY)
        self.runner = self.engine.add_bot(bot)
        self.bot = bot
        self.minute = 0

    def _bar(self) -> Bar:
        # Each decision on a bar of its own: client order ids are one per bar and intent.
        self.minute += 1
        moment = DAY + timedelta(minutes=self.minute)
        self.clock.set(moment)
        self.runner.marks[SYMBOL] = PRICE
        return bar(SYMBOL, moment, PRICE)

    def _deliver(self) -> None:
        self.engine.dispatch_updates()

    # ---- the bot decides (what BotRunner.on_bar would on a signal) --------------------------

    @precondition(lambda self: not self.bot.positions and not self.bot.orders)
    @rule(qty=st.integers(1, 50))
    def enter(self, qty: int) -> None:
        moment = self._bar().timestamp
        request = OrderRequest(
            client_order_id(self.bot.id, SYMBOL, moment, Intent.ENTRY),
            SYMBOL,
            Side.BUY,
            qty,
            OrderType.LIMIT,
            limit_price=PRICE,
        )
        self.bot.submit_order(self.clock.now(), request, Intent.ENTRY, PRICE * qty)
        self.broker.submit(request)

    @precondition(lambda self: SYMBOL in self.bot.positions)
    @rule(intent=st.sampled_from([Intent.EXIT, Intent.FLATTEN, Intent.HALT]))
    def exit(self, intent: Intent) -> None:
        market = self._bar()
        if intent is Intent.EXIT:
            self.runner._exit(market, intent)
        else:
            self.runner._flatten(market, intent, "the machine says so")

    # ---- the broker answers ------------------------------------------------------------------

    @precondition(lambda self: self.broker.open)
    @rule(data=st.data(), part=st.integers(1, 50))
    def fill(self, data: st.DataObject, part: int) -> None:
        cid = data.draw(st.sampled_from(sorted(self.broker.open)))
        self.broker.fill(cid, part)

    @precondition(lambda self: any(o.cancel_asked for o in self.broker.open.values()))
    @rule(data=st.data())
    def confirm_cancel(self, data: st.DataObject) -> None:
        asked = sorted(c for c, o in self.broker.open.items() if o.cancel_asked)
        self.broker.confirm_cancel(data.draw(st.sampled_from(asked)))

    @rule()
    def deliver(self) -> None:
        self._deliver()

    # ---- what must always hold ---------------------------------------------------------------

    @invariant()
    def never_more_in_sell_orders_than_held(self) -> None:
        assert self.bot.selling(SYMBOL) <= self.bot.position_qty(SYMBOL)

    @invariant()
    def the_bot_never_errs(self) -> None:
        assert self.bot.status is BotStatus.RUNNING

    @invariant()
    def position_is_the_sum_of_its_fills(self) -> None:
        net = 0
        for event in self.bot.pending_events:
            if isinstance(event, Bot.OrderFilled):
                net += event.qty if event.side is Side.BUY else -event.qty
        assert net == self.bot.position_qty(SYMBOL)

    @invariant()
    def once_answered_the_bot_holds_what_the_broker_holds(self) -> None:
        if not self.broker.answers:
            assert self.bot.position_qty(SYMBOL) == self.broker.position


ExitRaces.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestExitRaces = ExitRaces.TestCase


def test_an_exit_decided_while_the_stop_fills_sends_nothing_more():
    """The race that sold twice: the protective OCO fills in the bar the bot decides to exit."""
    machine = ExitRaces()
    machine.enter(10)
    entry = next(iter(machine.broker.open))
    machine.broker.fill(entry, 10)
    machine.deliver()  # the entry's fill: the bot protects the position
    [protect] = machine.broker.open
    assert protect.endswith("-protect")
    machine.exit(Intent.EXIT)  # asks for the protection's cancel, sends no sell yet
    assert list(machine.broker.open) == [protect]
    machine.broker.fill(protect, 10)  # the broker filled it before the cancel arrived
    machine.deliver()
    assert machine.broker.open == {} and machine.broker.position == 0
    assert machine.bot.positions == {} and machine.bot.pending_exits == {}
    fills = [e for e in machine.bot.pending_events if isinstance(e, Bot.OrderFilled)]
    assert [(f.side.value, f.qty) for f in fills] == [("buy", 10), ("sell", 10)]


def test_an_exit_after_a_partly_filled_stop_sells_only_the_rest():
    machine = ExitRaces()
    machine.enter(10)
    machine.broker.fill(next(iter(machine.broker.open)), 10)
    machine.deliver()
    [protect] = machine.broker.open
    machine.exit(Intent.FLATTEN)
    machine.broker.fill(protect, 4)
    machine.broker.confirm_cancel(protect)
    machine.deliver()
    [exit_order] = machine.broker.open.values()
    assert exit_order.request.qty == 6 and exit_order.request.client_order_id.endswith("-flatten")
    machine.broker.fill(exit_order.request.client_order_id, 6)
    machine.deliver()
    assert machine.bot.positions == {} and machine.broker.position == 0


def test_a_decision_taken_again_after_its_order_ended_gets_a_new_client_order_id():
    """E.g. a window-end flatten repeated on the same last bar after a restart, its first order
    refused: no client order id is submitted twice."""
    machine = ExitRaces()
    machine.enter(10)
    machine.broker.fill(next(iter(machine.broker.open)), 10)
    machine.deliver()
    [protect] = machine.broker.open
    machine.broker.confirm_cancel(protect)
    machine.deliver()
    market = machine._bar()
    for _ in range(3):
        machine.runner._exit(market, Intent.FLATTEN, "trading window ended")
        [sent] = machine.broker.open
        machine.broker.open.pop(sent)
        machine.broker.answers.append(
            BrokerUpdate(UpdateKind.REJECTED, sent, machine.clock.now(), reason="refused")
        )
        machine.deliver()
    submitted = [
        e.client_order_id
        for e in machine.bot.pending_events
        if isinstance(e, Bot.OrderSubmitted) and e.intent is Intent.FLATTEN
    ]
    first = client_order_id(machine.bot.id, SYMBOL, market.timestamp, Intent.FLATTEN)
    assert submitted == [first, f"{first}-2", f"{first}-3"]
