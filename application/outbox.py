"""Orders wait in an outbox until the events that decided them are stored.

Live trading must store an order's intent before the order leaves: if the process dies after
the store and before the send, the restart finds an order the broker never received and
withdraws it; the other way round, the broker would hold an order no stored event explains.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from application.ports import Broker, BrokerUpdate, Clock, UpdateKind
from domain.bars import Bar
from domain.orders import OrderRequest, bot_hex_of

WITHDRAWN = "withdrawn before it was sent"
Request = tuple[str, OrderRequest | str]


class Outbox:
    """The Broker port in front of a real broker: submissions and cancels leave on `flush()`."""

    def __init__(self, inner: Broker, clock: Clock, workers: int = 8) -> None:
        self.inner, self._clock = inner, clock
        self._queue: list[Request] = []
        self._ready: list[BrokerUpdate] = []
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="outbox") if workers else None

    def submit(self, request: OrderRequest) -> None:
        self._queue.append(("submit", request))

    def cancel(self, client_order_id: str) -> None:
        for i, (_, item) in enumerate(self._queue):
            if isinstance(item, OrderRequest) and item.client_order_id == client_order_id:
                # Never sent: nothing to cancel at the broker.
                del self._queue[i]
                now = self._clock.now()
                self._ready.append(
                    BrokerUpdate(UpdateKind.CANCELED, client_order_id, now, reason=WITHDRAWN)
                )
                return
        self._queue.append(("cancel", client_order_id))

    def estimate_fee(self, qty: int, price: Decimal) -> Decimal:
        return self.inner.estimate_fee(qty, price)

    def observe(self, bar: Bar) -> None:
        self.inner.observe(bar)

    def poll_updates(self) -> list[BrokerUpdate]:
        mine, self._ready = self._ready, []
        return mine + self.inner.poll_updates()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def flush(self) -> int:
        """Send what is queued (call after the events are stored); how many requests left."""
        queue, self._queue = self._queue, []
        # Each bot's requests in order (a cancel before the sell that replaces it); bots at once.
        by_bot: dict[str, list[Request]] = {}
        for kind, item in queue:
            cid = item.client_order_id if isinstance(item, OrderRequest) else item
            by_bot.setdefault(bot_hex_of(cid), []).append((kind, item))
        if self._pool is None or len(by_bot) < 2:
            for requests in by_bot.values():
                self._send(requests)
        else:
            for done in [self._pool.submit(self._send, r) for r in by_bot.values()]:
                done.result()
        return len(queue)

    def _send(self, requests: list[Request]) -> None:
        for _, item in requests:
            if isinstance(item, OrderRequest):
                self.inner.submit(item)
            else:
                self.inner.cancel(item)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
