"""The retry policies (tenacity): what is tried again, how often, how long apart, and that an
order whose submission got no answer is looked up before it is ever sent again."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import requests
from alpaca.common.exceptions import APIError

from api.live.events import LiveEvent, Page
from api.live.tailer import Tailer
from domain.orders import OrderRequest, OrderType, Side
from infrastructure.alpaca.broker import AlpacaBroker, BrokerUnavailable
from infrastructure.alpaca.market_data import AlpacaBarFeed
from infrastructure.alpaca.retrying import transient
from projections.runner import MAX_BACKOFF, ProjectionRunner

CID = "ob-test-AAPL-202612080930-entry"
NOW = datetime(2026, 12, 8, 14, 30, tzinfo=UTC)


def api_error(status: int, message: str = "boom") -> APIError:
    response = SimpleNamespace(status_code=status)
    return APIError(
        f'{{"code": {status}, "message": "{message}"}}', SimpleNamespace(response=response)
    )


def order(status: str = "accepted") -> SimpleNamespace:
    return SimpleNamespace(
        id="b-1", client_order_id=CID, symbol="AAPL", side="buy", status=status, qty="1",
        filled_qty="0", filled_avg_price=None, order_class="simple", legs=None,
    )  # fmt: skip


class Client:
    """A TradingClient with scripted answers: an exception is raised, anything else returned."""

    def __init__(self, submits: Sequence[Any], lookups: Sequence[Any] = ()) -> None:
        self.submits, self.lookups = list(submits), list(lookups)
        self.calls: list[str] = []

    @staticmethod
    def _answer(script: list[Any]) -> Any:
        answer = script.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def submit_order(self, payload: Any) -> Any:
        self.calls.append("submit")
        return self._answer(self.submits)

    def get_order_by_client_id(self, cid: str) -> Any:
        self.calls.append("lookup")
        return self._answer(self.lookups)


class Clock:
    def now(self) -> datetime:
        return NOW


def broker(client: Client, attempts: int = 3) -> AlpacaBroker:
    return AlpacaBroker(client, Clock(), attempts=attempts, backoff=0.0001)  # type: ignore[arg-type]


def request() -> OrderRequest:
    return OrderRequest(CID, "AAPL", Side.BUY, 1, OrderType.MARKET)


def kinds(b: AlpacaBroker) -> list[str]:
    return [u.kind.value for u in b.poll_updates()]


@pytest.mark.parametrize(
    "failure",
    [
        api_error(429),
        api_error(503),
        requests.ConnectionError(),
        requests.Timeout(),
        api_error(500),
    ],
)
def test_an_unanswered_submission_is_looked_up_before_it_is_sent_again(failure):
    client = Client([failure, order()], lookups=[api_error(404)])
    b = broker(client)
    b.submit(request())
    assert client.calls == ["submit", "lookup", "submit"]
    assert b.stats["retries"] == 1 and kinds(b) == ["accepted"]


def test_a_submission_that_got_through_unanswered_is_adopted_not_sent_again():
    client = Client([requests.Timeout()], lookups=[order()])
    b = broker(client)
    b.submit(request())
    assert client.calls == ["submit", "lookup"]
    assert b.stats["adopted"] == 1 and kinds(b) == ["accepted"]


def test_a_duplicate_client_order_id_adopts_the_order_already_placed():
    client = Client([api_error(422, "client_order_id must be unique")], lookups=[order()])
    b = broker(client)
    b.submit(request())
    assert client.calls == ["submit", "lookup"] and b.stats["adopted"] == 1
    assert kinds(b) == ["accepted"]


def test_a_refused_order_is_not_tried_again():
    client = Client([api_error(403, "insufficient buying power")])
    b = broker(client)
    b.submit(request())
    assert client.calls == ["submit"] and b.stats["retries"] == 0
    assert kinds(b) == ["rejected"]


def test_every_submission_unanswered_leaves_the_order_to_later_lookups_after_a_last_one():
    client = Client([api_error(503)] * 3, lookups=[api_error(404)] * 3)
    b = broker(client, attempts=3)
    b.submit(request())
    assert client.calls == ["submit", "lookup"] * 3  # the last lookup before giving up
    assert b.stats["retries"] == 3 and kinds(b) == []
    with pytest.raises(BrokerUnavailable):  # and the lookups alone give up the same way
        broker(Client([], lookups=[api_error(502)] * 3), attempts=3)._client_lookup(CID)


def test_alpaca_failures_worth_another_try():
    assert transient(api_error(429)) and transient(api_error(500)) and transient(api_error(504))
    assert transient(requests.ConnectionError()) and transient(APIError("no response"))
    assert not transient(api_error(404)) and not transient(api_error(422))
    assert not transient(ValueError())


class History:
    def __init__(self, answers: Sequence[Any]) -> None:
        self.answers, self.calls = list(answers), 0

    def get_stock_bars(self, request: Any) -> Any:
        self.calls += 1
        return Client._answer(self.answers)


def feed(history: History) -> AlpacaBarFeed:
    stream = SimpleNamespace(subscribe_bars=lambda *a: None)
    return AlpacaBarFeed(stream, history, ["AAPL"], attempts=3, backoff=0.0001)  # type: ignore[arg-type]


def test_bars_are_fetched_again_through_transient_failures_and_given_up_after_the_attempts():
    start = datetime(2026, 12, 8, tzinfo=UTC)
    history = History([api_error(429), requests.Timeout(), SimpleNamespace(data={})])
    assert feed(history).history(start) == [] and history.calls == 3
    history = History([api_error(503)] * 3)
    with pytest.raises(ConnectionError):
        feed(history).history(start)
    assert history.calls == 3
    history = History([api_error(400)])
    with pytest.raises(APIError):
        feed(history).history(start)
    assert history.calls == 1


class RecordingStop(threading.Event):
    """A stop event that records each wait and is set once `waits` of them have happened."""

    def __init__(self, waits: int) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.limit = waits

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(float(timeout or 0))
        if len(self.waits) >= self.limit:
            self.set()
        return self.is_set()


def test_the_projection_runner_backs_off_exponentially_while_failing_and_starts_over_after():
    outcomes: list[Any] = [RuntimeError()] * 12 + [0, RuntimeError(), 0]
    runner = ProjectionRunner.__new__(ProjectionRunner)
    runner.catch_up = lambda batch_size=500: Client._answer(outcomes)  # type: ignore[method-assign]
    stop = RecordingStop(waits=15)
    runner.run_forever(stop, interval=0.1)
    doubling = [min(0.1 * 2**n, MAX_BACKOFF) for n in range(12)]
    assert stop.waits == pytest.approx([*doubling, 0.1, 0.1, 0.1])
    assert doubling[-1] == MAX_BACKOFF and not outcomes


class FailingLog:
    """A notification log whose first reads fail."""

    def __init__(self, failures: int) -> None:
        self.failures, self.reads = failures, 0

    def head(self) -> int:
        return 0

    def read(self, after: int, limit: int, **_: Any) -> Page:
        self.reads += 1
        if self.reads <= self.failures:
            raise OSError("database gone")
        events = [] if after else [LiveEvent(1, None, False, "}")]
        return Page(events, events[-1].position if events else None, False)


class Sink:
    def __init__(self) -> None:
        self.got: list[Sequence[LiveEvent]] = []

    def begin(self, position: int) -> None:
        pass

    def offer_events(self, events: Sequence[LiveEvent]) -> None:
        self.got.append(events)


async def a_tailer_through_failed_reads() -> None:
    log = FailingLog(failures=3)
    tailer, sink = Tailer(log, interval=0.001), Sink()  # type: ignore[arg-type]
    await tailer.attach(sink)
    async with asyncio.timeout(5):
        while not sink.got:
            await asyncio.sleep(0.001)
    tailer.detach(sink)
    async with asyncio.timeout(5):
        while tailer.running:
            await asyncio.sleep(0.001)
    assert log.reads >= 4 and tailer.position == 1


def test_the_live_tailer_reads_again_after_a_failure_and_stops_with_its_last_connection():
    asyncio.run(a_tailer_through_failed_reads())
