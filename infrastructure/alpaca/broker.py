"""The Broker port over Alpaca's trading REST API and its trade-updates stream.

- Every order carries the engine's deterministic `client_order_id`. When a submission fails in a
  way that leaves its outcome unknown (429, 5xx, timeout, connection error), the order is looked
  up by that id before anything is sent again; a 422 "client_order_id must be unique" means an
  earlier attempt got through, and that order is adopted. A decision never becomes two orders.
- What the broker says comes from two sources: the REST answers (submit, cancel, lookups) and the
  trade_updates stream. Both go through one ledger per order that reports each change once
  (accepted once, fills by cumulative quantity, one terminal state), whichever arrives first.
- Fills wait for the engine to observe the bar of the minute they happened in (`observe`), and
  are stamped with that bar's time: the engine then sees them exactly where replay's simulator
  would produce them, so live decisions follow the same path as a replay of the same bars.
"""

from __future__ import annotations

import logging
import threading
import time as timer
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrdersRequest
from alpaca.trading.stream import TradingStream

from application.live_ports import BrokerOrder
from application.ports import BrokerUpdate, Clock, UpdateKind
from domain.bars import BAR_LENGTH, Bar
from domain.orders import OrderRequest
from infrastructure.alpaca.orders import (
    RawOrder,
    broker_order_of,
    decimal_of,
    moment_of,
    parse_moment,
    to_alpaca,
)

log = logging.getLogger("openbell.alpaca.broker")
T = TypeVar("T")
CANCELED_BY_BOT = "canceled by the bot"
TERMINAL = {"filled", "canceled", "expired", "rejected", "done_for_day", "replaced", "stopped"}


class BrokerUnavailable(RuntimeError):
    """Alpaca did not answer after every retry; the order's fate is unknown (never resubmitted)."""


@dataclass(slots=True)
class _Ledger:
    """What has been reported to the engine about one order."""

    symbol: str
    broker_id: str = ""
    accepted: bool = False
    filled: int = 0
    done: bool = False
    cancel_asked: bool = False


class AlpacaBroker:
    """Broker port for paper and live trading; `start()` opens the trade-updates stream."""

    def __init__(
        self,
        client: TradingClient,
        clock: Clock,
        stream: TradingStream | None = None,
        *,
        attempts: int = 6,
        backoff: float = 0.05,
        hold_fills_for_bars: bool = True,
        name: str = "alpaca",
    ) -> None:
        self.name = name
        self._client, self._clock, self._stream = client, clock, stream
        self._attempts, self._backoff = attempts, backoff
        self._hold = hold_fills_for_bars
        self._lock = threading.Lock()
        self._ledgers: dict[str, _Ledger] = {}
        self._ready: list[BrokerUpdate] = []
        self._held: dict[str, list[tuple[datetime, BrokerUpdate]]] = {}
        self._observed: dict[str, datetime] = {}  # per symbol: close of the last bar observed
        self._thread: threading.Thread | None = None
        self._unknown: dict[str, OrderRequest] = {}  # submissions whose outcome is unknown
        self.stats = {"submits": 0, "retries": 0, "lookups": 0, "adopted": 0}

    # ---- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        if self._stream is None or self._thread is not None:
            return
        self._stream.subscribe_trade_updates(self._on_trade_update)
        self._thread = threading.Thread(target=self._stream.run, name="alpaca-trades", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._stream is not None and self._thread is not None:
            try:
                self._stream.stop()
            except Exception:  # the loop may already be gone
                log.debug("trade stream stop failed", exc_info=True)
            self._thread.join(timeout=0.5)

    # ---- the Broker port -------------------------------------------------------------------

    def estimate_fee(self, qty: int, price: Decimal) -> Decimal:
        return Decimal(0)  # Alpaca charges no commission on US equities

    def submit(self, request: OrderRequest) -> None:
        cid = request.client_order_id
        with self._lock:
            self._ledgers.setdefault(cid, _Ledger(request.symbol))
        self.stats["submits"] += 1
        try:
            order = self._submit_once(request)
        except APIError as exc:
            self._terminal(cid, UpdateKind.REJECTED, _message(exc))
            return
        except BrokerUnavailable:
            # Placed or not, nobody knows: the stream will tell, or the next bar looks it up.
            log.warning("order %s: no answer from the broker; looked up again later", cid)
            with self._lock:
                self._unknown[cid] = request
            return
        self._absorb(order)

    def cancel(self, client_order_id: str) -> None:
        with self._lock:
            ledger = self._ledgers.get(client_order_id)
            self._unknown.pop(client_order_id, None)
        if ledger is None or ledger.done:
            return
        ledger.cancel_asked = True  # the stream's "canceled" may beat the REST answer
        try:
            broker_id = ledger.broker_id
            if not broker_id:
                found = self._find(client_order_id)
                if found is None:
                    self._terminal(client_order_id, UpdateKind.CANCELED, CANCELED_BY_BOT)
                    return
                broker_id = str(found.id)
            self._call(lambda: self._client.cancel_order_by_id(broker_id))
        except APIError as exc:
            if exc.status_code not in (404, 422):
                log.warning("cancel of %s refused: %s", client_order_id, _message(exc))
                return
            # Not cancelable any more: it filled or ended; learn how from the order itself.
            if (found := self._find(client_order_id)) is not None:
                self._absorb(found)
            return
        except BrokerUnavailable:
            log.warning(
                "cancel of %s: no answer; the stream or a later cancel will tell", client_order_id
            )
            return
        self._terminal(client_order_id, UpdateKind.CANCELED, CANCELED_BY_BOT)

    def observe(self, bar: Bar) -> None:
        """The engine reached `bar`: fills from its minute or earlier become visible."""
        if self._unknown:
            self._look_again(bar.symbol)
        closes = bar.timestamp + BAR_LENGTH
        with self._lock:
            self._observed[bar.symbol] = closes
            held = self._held.get(bar.symbol)
            if not held:
                return
            now = self._clock.now()
            due = [u for at, u in held if at < closes]
            self._held[bar.symbol] = [(at, u) for at, u in held if at >= closes]
            self._ready += [_restamp(u, now) for u in due]

    def poll_updates(self) -> list[BrokerUpdate]:
        with self._lock:
            ready, self._ready = self._ready, []
        return ready

    def _look_again(self, symbol: str) -> None:
        """Orders whose submission got no answer: adopt them if placed, else send them again."""
        with self._lock:
            mine = [r for r in self._unknown.values() if r.symbol == symbol]
        for request in mine:
            cid = request.client_order_id
            try:
                found = self._find(cid)
            except (APIError, BrokerUnavailable):
                continue
            with self._lock:
                self._unknown.pop(cid, None)
            if found is not None:
                self._absorb(found)
            else:
                self.submit(request)  # certainly not placed: looked up before resubmitting

    # ---- the account (start-up reconciliation) ---------------------------------------------

    def track(self, client_order_id: str, symbol: str, filled_qty: int, accepted: bool) -> None:
        """An order the bot's events know: later reports carry only what goes beyond them."""
        with self._lock:
            ledger = self._ledgers.setdefault(client_order_id, _Ledger(symbol))
            ledger.filled = max(ledger.filled, filled_qty)
            ledger.accepted = ledger.accepted or accepted

    def refresh(self, client_order_id: str) -> BrokerOrder | None:
        """Look the order up and report what changed; None when the broker does not have it."""
        found = self._find(client_order_id)
        if found is None:
            with self._lock:
                # Forgotten, not closed: the bot withdraws it, and the same decision taken
                # again (same client id) must be reported afresh once it is placed.
                self._ledgers.pop(client_order_id, None)
            return None
        self._absorb(found)
        return broker_order_of(found)

    def release_until(self, moment: datetime) -> None:
        """Fills that happened by `moment` are reported now, without waiting for a bar."""
        with self._lock:
            for symbol, held in self._held.items():
                due = [u for at, u in held if at <= moment]
                self._held[symbol] = [(at, u) for at, u in held if at > moment]
                self._ready += due

    def orders_since(self, after: datetime) -> list[BrokerOrder]:
        found: dict[str, BrokerOrder] = {}
        while True:
            request = GetOrdersRequest(
                status=QueryOrderStatus.ALL, after=after, limit=500, direction="asc"
            )
            page: list[Any] = self._call(partial(self._client.get_orders, request))  # type: ignore[arg-type]
            for order in page:
                found[str(order.id)] = broker_order_of(order)
            if len(page) < 500:
                return list(found.values())
            after = max(o.submitted_at or o.created_at for o in page)

    def positions(self) -> dict[str, int]:
        rows: list[Any] = self._call(self._client.get_all_positions)  # type: ignore[arg-type]
        return {str(p.symbol): int(decimal_of(p.qty)) for p in rows if int(decimal_of(p.qty))}

    # ---- reliability -----------------------------------------------------------------------

    def _submit_once(self, request: OrderRequest) -> Any:
        """Submit; on an unknown outcome look the id up first, and resubmit only if absent."""
        cid, payload = request.client_order_id, to_alpaca(request)
        for attempt in range(self._attempts):
            try:
                return self._client.submit_order(payload)
            except APIError as exc:
                if exc.status_code == 422 and "client_order_id" in _message(exc):
                    self.stats["adopted"] += 1
                    return self._lookup(cid)  # an earlier attempt (or run) placed it
                if not _transient(exc):
                    raise
            except requests.RequestException:
                pass
            self.stats["retries"] += 1
            timer.sleep(self._backoff * 2**attempt)
            found = self._find(cid)
            if found is not None:
                self.stats["adopted"] += 1
                return found
        raise BrokerUnavailable(f"no answer for {cid} after {self._attempts} attempts")

    def _find(self, cid: str) -> Any | None:
        """The order with this client id, or None when Alpaca certainly does not have it."""
        try:
            return self._lookup(cid)
        except APIError as exc:
            if exc.status_code == 404:
                return None
            raise

    def _lookup(self, cid: str) -> Any:
        self.stats["lookups"] += 1
        return self._call(lambda: self._client.get_order_by_client_id(cid))

    def _call(self, action: Callable[[], T]) -> T:
        """Retry an idempotent request (lookups, cancels) through 429s, 5xx and timeouts."""
        for attempt in range(self._attempts):
            try:
                return action()
            except APIError as exc:
                if not _transient(exc):
                    raise
            except requests.RequestException:
                pass
            self.stats["retries"] += 1
            timer.sleep(self._backoff * 2**attempt)
        raise BrokerUnavailable(f"no answer after {self._attempts} attempts")

    # ---- the ledger ------------------------------------------------------------------------

    async def _on_trade_update(self, update: Any) -> None:
        if isinstance(update, dict):  # the stream's raw message (see `trading_stream`)
            data = update.get("data") or {}
            event, order = str(data.get("event")), RawOrder.of(data["order"])
            at = parse_moment(data.get("timestamp"))
        else:  # alpaca-py's TradeUpdate model
            event, order = str(getattr(update.event, "value", update.event)), update.order
            at = update.timestamp
        if event in ("new", "accepted", "pending_new", "fill", "partial_fill"):
            self._absorb(order, event_time=at)
        elif event in ("canceled", "expired", "rejected", "done_for_day"):
            kind = UpdateKind.REJECTED if event == "rejected" else UpdateKind.CANCELED
            self._terminal(order.client_order_id, kind, event)

    def _absorb(self, order: Any, event_time: datetime | None = None) -> None:
        """Report what an order snapshot shows beyond what the ledger already reported."""
        cid, status = order.client_order_id, str(getattr(order.status, "value", order.status))
        now = self._clock.now()
        with self._lock:
            ledger = self._ledgers.setdefault(cid, _Ledger(str(order.symbol)))
            ledger.broker_id = str(order.id)
            if ledger.done:
                return
            if not ledger.accepted and status not in ("rejected", "pending_new"):
                ledger.accepted = True
                self._ready.append(BrokerUpdate(UpdateKind.ACCEPTED, cid, now, str(order.id)))
            filled = int(decimal_of(order.filled_qty))
            if filled > ledger.filled:
                price = decimal_of(order.filled_avg_price)
                at = moment_of(order, "filled_at") or event_time or now
                fill = BrokerUpdate(
                    UpdateKind.FILLED, cid, at, str(order.id), filled - ledger.filled, price
                )
                ledger.filled = filled
                self._release_or_hold(ledger.symbol, at, fill)
        if status in TERMINAL - {"filled"}:
            kind = UpdateKind.REJECTED if status == "rejected" else UpdateKind.CANCELED
            self._terminal(cid, kind, status)
        elif status == "filled":
            with self._lock:
                ledger.done = True

    def _release_or_hold(self, symbol: str, at: datetime, update: BrokerUpdate) -> None:
        seen = self._observed.get(symbol)
        if not self._hold or (seen is not None and at < seen):
            self._ready.append(update)
        else:
            self._held.setdefault(symbol, []).append((at, update))

    def _terminal(self, cid: str, kind: UpdateKind, reason: str) -> None:
        with self._lock:
            ledger = self._ledgers.get(cid)
            if ledger is None or ledger.done:
                return
            ledger.done = True
            if kind is UpdateKind.CANCELED and ledger.cancel_asked:
                reason = CANCELED_BY_BOT
            self._ready.append(
                BrokerUpdate(kind, cid, self._clock.now(), ledger.broker_id, reason=reason)
            )


def _restamp(update: BrokerUpdate, at: datetime) -> BrokerUpdate:
    return BrokerUpdate(update.kind, update.client_order_id, at, update.broker_order_id,
                        update.qty, update.price, update.fee, update.reason)  # fmt: skip


def _transient(exc: APIError) -> bool:
    status = exc.status_code
    return status is None or status == 429 or status >= 500


def _message(exc: APIError) -> str:
    try:
        return str(exc.message)
    except (ValueError, KeyError, TypeError):
        return str(exc)
