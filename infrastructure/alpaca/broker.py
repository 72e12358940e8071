"""The Broker port over Alpaca's trading REST API and its trade-updates stream.

- Every order carries the engine's deterministic `client_order_id`. When a submission fails in a
  way that leaves its outcome unknown (429, 5xx, timeout, connection error), the order is looked
  up by that id before anything is sent again; a 422 "client_order_id must be unique" means an
  earlier attempt got through, and that order is adopted. A decision never becomes two orders.
- What the broker says comes from two sources: the REST answers (submit, cancel, lookups) and the
  trade_updates stream. Both go through one ledger per order (`ledger`) that reports each change
  once (accepted once, fills by cumulative quantity, one terminal state), whichever arrives first.
  An OCO is one order to the engine: its stop-loss leg's updates (known by the leg's id, learned
  from the parent's `legs`) count as the parent's, and the parent's "canceled" when the leg
  triggers is no cancel of the bot's order (see `ledger`).
- A cancel is reported only once Alpaca confirms it: its answer 204 means the cancel was asked
  for and the order may still fill. The stream's update or a lookup tells how the order ended
  (looked up right after the answer, then again on each bar of its symbol until it has ended);
  an order that filled before the cancel reached it is reported FILLED, never CANCELED.
- Fills wait for the engine to observe the bar of the minute they happened in (`observe`), and
  are stamped with that bar's time: the engine then sees them exactly where replay's simulator
  would produce them, so live decisions follow the same path as a replay of the same bars.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrderByIdRequest, GetOrdersRequest
from alpaca.trading.stream import TradingStream
from tenacity import RetryError, Retrying, retry_if_result

from application.live_ports import BrokerOrder
from application.ports import BrokerUpdate, Clock, UpdateKind
from domain.bars import BAR_LENGTH, Bar
from domain.orders import OrderRequest
from infrastructure.alpaca.ledger import CANCELED_BY_BOT, Ledger
from infrastructure.alpaca.orders import (
    OrderSnapshot,
    broker_order_of,
    decimal_of,
    parse_moment,
    to_alpaca,
)
from infrastructure.alpaca.retrying import retrying

log = logging.getLogger("openbell.alpaca.broker")
T = TypeVar("T")
# Lookups right after a cancel's 204 before the order is left to later bars' lookups: Alpaca
# usually ends a canceled order within moments, and the engine waits meanwhile.
CONFIRM_LOOKUPS = 3
# Stream updates of orders no ledger knows, kept in case they are legs of an OCO whose parent's
# snapshot (which names its legs) has not been read yet; the oldest are dropped beyond this.
STRAYS_KEPT = 1000


class BrokerUnavailable(RuntimeError):
    """Alpaca did not answer after every retry; the order's fate is unknown (never resubmitted)."""


@dataclass(slots=True)
class _Watch:
    """An order whose end only a lookup can tell (a cancel asked for, an OCO's legs unknown)."""

    symbol: str
    resend_cancel: bool = False  # the cancel request got no answer: ask again


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
        self._ledgers: dict[str, Ledger] = {}
        self._leg_of: dict[str, str] = {}  # an OCO leg's broker id: its parent's client id
        self._strays: dict[str, tuple[OrderSnapshot, datetime | None]] = {}  # by broker id
        self._watched: dict[str, _Watch] = {}  # by client id
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
            self._ledgers.setdefault(cid, Ledger(request.symbol))
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
        self._absorb(OrderSnapshot.of_model(order))

    def cancel(self, client_order_id: str) -> None:
        """Ask Alpaca to cancel; CANCELED (or FILLED) is reported once Alpaca shows the end."""
        cid = client_order_id
        with self._lock:
            ledger = self._ledgers.get(cid)
            self._unknown.pop(cid, None)
            if ledger is None or ledger.done:
                return
            ledger.cancel_asked = True  # the stream's "canceled" may beat the REST answer
        if self._request_cancel(cid, ledger):
            self._confirm_end(cid, ledger)

    def _request_cancel(self, cid: str, ledger: Ledger) -> bool:
        """Send the cancel; whether its answer leaves the order's end to be looked up."""
        try:
            broker_id = ledger.broker_id
            if not broker_id:
                found = self._find(cid)
                if found is None:  # it never reached Alpaca: nothing can fill
                    self._terminal(cid, UpdateKind.CANCELED, CANCELED_BY_BOT)
                    return False
                self._absorb(found)
                if ledger.done:
                    return False
                broker_id = found.id
            self._call(lambda: self._client.cancel_order_by_id(broker_id))
        except APIError as exc:
            if exc.status_code not in (404, 422):
                log.warning("cancel of %s refused: %s", cid, _message(exc))
                with self._lock:
                    ledger.cancel_asked = False
                return False
            # Not cancelable (any more): it filled or ended; the lookup tells which.
        except BrokerUnavailable:
            log.warning("cancel of %s: no answer; asked again on the next bar", cid)
            with self._lock:
                self._watched[cid] = _Watch(ledger.symbol, resend_cancel=True)
            return False
        return True

    def _confirm_end(self, cid: str, ledger: Ledger) -> None:
        """Look the order up until it shows its end; if it does not yet, on later bars."""
        still_open = retry_if_result(lambda there: bool(there) and not ledger.done)
        lookups = retrying(CONFIRM_LOOKUPS, self._backoff, log, retry=still_open)
        # An error or a lookup that finds it still open leaves it to later bars' lookups.
        with contextlib.suppress(APIError, BrokerUnavailable, RetryError):
            lookups(lambda: not ledger.done and self._look_up_end(cid))
        with self._lock:
            if not ledger.done:
                self._watched.setdefault(cid, _Watch(ledger.symbol))

    def _look_up_end(self, cid: str) -> bool:
        """Absorb what Alpaca shows of the order; False when it has no such order (then
        nothing can fill it: canceled)."""
        found = self._find(cid)
        if found is None:
            self._terminal(cid, UpdateKind.CANCELED, CANCELED_BY_BOT)
            return False
        self._absorb(found)
        return True

    def observe(self, bar: Bar) -> None:
        """The engine reached `bar`: fills from its minute or earlier become visible."""
        if self._unknown:
            self._look_again(bar.symbol)
        if self._watched:
            self._watch_ends(bar.symbol)
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

    def _watch_ends(self, symbol: str) -> None:
        """Orders whose end is awaited: send an unanswered cancel again, and look them up."""
        with self._lock:
            mine = [(c, w) for c, w in self._watched.items() if w.symbol == symbol]
        for cid, watch in mine:
            ledger = self._ledgers.get(cid)
            if ledger is not None and not ledger.done and watch.resend_cancel:
                watch.resend_cancel = False
                if not self._request_cancel(cid, ledger):
                    continue
            if ledger is not None and not ledger.done:
                try:
                    self._look_up_end(cid)
                except (APIError, BrokerUnavailable):
                    continue
            with self._lock:
                if ledger is None or ledger.done:
                    self._watched.pop(cid, None)

    # ---- the account (start-up reconciliation) ---------------------------------------------

    def track(self, client_order_id: str, symbol: str, filled_qty: int, accepted: bool) -> None:
        """An order the bot's events know: later reports carry only what goes beyond them."""
        with self._lock:
            ledger = self._ledgers.setdefault(client_order_id, Ledger(symbol))
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

    def release_current(self) -> None:
        """Report what happened in the minute in progress once the engine has every symbol's
        bar before it, stamped with that minute's start.

        Replay's broker fills an entry at a bar's open and the bot protects it there, inside
        that bar; holding the fill until the bar is observed would send the protection a bar
        later. Called between bars, this puts the report exactly where replay has it: after
        the previous minute's bars, before this minute's. A symbol whose bars the engine does
        not follow (only a stopped or errored bot's orders rest there) has its reports now.
        """
        with self._lock:
            caught_up = min(self._observed.values(), default=None)
            for symbol in sorted(self._held):  # replay's broker meets the bars in this order
                held = self._held[symbol]
                if symbol not in self._observed:
                    self._ready += [u for _, u in held]
                    held.clear()
                if caught_up is None or self._observed.get(symbol) != caught_up or not held:
                    continue
                ends = caught_up + BAR_LENGTH
                self._ready += [_restamp(u, caught_up) for at, u in held if at < ends]
                self._held[symbol] = [(at, u) for at, u in held if at >= ends]

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
            # Nested: an OCO's leg comes inside its parent, not as an order of its own.
            request = GetOrdersRequest(
                status=QueryOrderStatus.ALL, after=after, limit=500, direction="asc", nested=True
            )
            page: list[Any] = self._call(partial(self._client.get_orders, request))  # type: ignore[arg-type]
            for order in page:
                found[str(order.id)] = broker_order_of(OrderSnapshot.of_model(order))
            if len(page) < 500:
                return list(found.values())
            after = max(o.submitted_at or o.created_at for o in page)

    def positions(self) -> dict[str, int]:
        rows: list[Any] = self._call(self._client.get_all_positions)  # type: ignore[arg-type]
        return {str(p.symbol): int(decimal_of(p.qty)) for p in rows if int(decimal_of(p.qty))}

    # ---- reliability -----------------------------------------------------------------------

    def _submit_once(self, request: OrderRequest) -> Any:
        """Submit; on an unknown outcome look the id up first, and resubmit only if absent.

        Each round after the first looks up what the round before left unknown, then submits
        again; the last round only looks up (the order is then left to later bars' lookups).
        """
        cid, payload = request.client_order_id, to_alpaca(request)
        for attempt in self._retrying(self._attempts + 1):
            with attempt:
                round_ = attempt.retry_state.attempt_number
                if round_ > 1 and (found := self._find(cid)) is not None:
                    self.stats["adopted"] += 1
                    return found
                if round_ > self._attempts:
                    break
                return self._send(cid, payload)
        raise BrokerUnavailable(f"no answer for {cid} after {self._attempts} attempts")

    def _send(self, cid: str, payload: Any) -> Any:
        try:
            return self._client.submit_order(payload)
        except APIError as exc:
            if exc.status_code == 422 and "client_order_id" in _message(exc):
                self.stats["adopted"] += 1
                return self._client_lookup(cid)  # an earlier attempt (or run) placed it
            raise

    def _find(self, cid: str) -> OrderSnapshot | None:
        """The order with this client id, or None when Alpaca certainly does not have it.

        An OCO comes with its legs: looked up again by id, nested, if the answer left them out.
        """
        try:
            found = OrderSnapshot.of_model(self._client_lookup(cid))
        except APIError as exc:
            if exc.status_code == 404:
                return None
            raise
        if found.is_oco and not found.legs:
            self.stats["lookups"] += 1
            nested = GetOrderByIdRequest(nested=True)
            order = self._call(lambda: self._client.get_order_by_id(found.id, nested))
            found = OrderSnapshot.of_model(order)
        return found

    def _client_lookup(self, cid: str) -> Any:
        self.stats["lookups"] += 1
        return self._call(lambda: self._client.get_order_by_client_id(cid))

    def _call(self, action: Callable[[], T]) -> T:
        """Retry an idempotent request (lookups, cancels) through 429s, 5xx and timeouts."""
        try:
            return self._retrying(self._attempts)(action)
        except RetryError as exc:
            raise BrokerUnavailable(f"no answer after {self._attempts} attempts") from exc

    def _retrying(self, attempts: int) -> Retrying:
        return retrying(attempts, self._backoff, log, on_retry=self._count_retry)

    def _count_retry(self) -> None:
        self.stats["retries"] += 1

    # ---- the ledger ------------------------------------------------------------------------

    async def _on_trade_update(self, update: Any) -> None:
        if isinstance(update, dict):  # the stream's raw message (see `trading_stream`)
            data = update.get("data") or {}
            order, at = OrderSnapshot.of(data["order"]), parse_moment(data.get("timestamp"))
        else:  # alpaca-py's TradeUpdate model
            order, at = OrderSnapshot.of_model(update.order), update.timestamp
        # Every event's order shows the order's state then: what it adds is reported.
        self._absorb(order, event_time=at, streamed=True)

    def _absorb(
        self, order: OrderSnapshot, event_time: datetime | None = None, streamed: bool = False
    ) -> None:
        """Report what an order snapshot shows beyond what its ledger already reported."""
        now = self._clock.now()
        with self._lock:
            cid = self._leg_of.get(order.id, order.client_order_id)
            ledger = self._ledgers.get(cid)
            if ledger is None:
                if streamed:  # a leg not learned yet, or an order this broker never placed
                    self._keep_stray(order, event_time)
                    return
                ledger = self._ledgers[cid] = Ledger(order.symbol)
            if ledger.done:
                return
            legs = ledger.learn(order, own=order.client_order_id == cid)
            for leg in legs:
                self._leg_of[leg] = cid
            strays = [self._strays.pop(leg) for leg in legs if leg in self._strays]
            if ledger.accepts(order):
                self._ready.append(BrokerUpdate(UpdateKind.ACCEPTED, cid, now, ledger.broker_id))
            for fill in ledger.new_fills():
                at = fill.at or event_time or now
                update = BrokerUpdate(
                    UpdateKind.FILLED, cid, at, fill.member_id, fill.qty, fill.price
                )
                self._release_or_hold(ledger.symbol, at, update)
            if (ending := ledger.ending()) is not None:
                end = BrokerUpdate(ending.kind, cid, now, ledger.broker_id, reason=ending.reason)
                self._report_end(ledger.symbol, end)
            elif ledger.unresolved:
                self._watched.setdefault(cid, _Watch(ledger.symbol))
        for stray, moment in strays:
            self._absorb(stray, moment, streamed=True)

    def _keep_stray(self, order: OrderSnapshot, at: datetime | None) -> None:
        self._strays.pop(order.id, None)  # the newest snapshot, last in line
        self._strays[order.id] = (order, at)
        if len(self._strays) > STRAYS_KEPT:
            del self._strays[next(iter(self._strays))]

    def _release_or_hold(self, symbol: str, at: datetime, update: BrokerUpdate) -> None:
        seen = self._observed.get(symbol)
        if not self._hold or (seen is not None and at < seen):
            self._ready.append(update)
        else:
            self._held.setdefault(symbol, []).append((at, update))

    def _report_end(self, symbol: str, end: BrokerUpdate) -> None:
        """An order's end reaches the engine after its fills: behind them if they are held."""
        mine = [
            at for at, u in self._held.get(symbol, ()) if u.client_order_id == end.client_order_id
        ]
        if mine:
            self._held[symbol].append((max(mine), end))
        else:
            self._ready.append(end)

    def _terminal(self, cid: str, kind: UpdateKind, reason: str) -> None:
        """The order ended without a snapshot to show it (refused, or never placed)."""
        with self._lock:
            ledger = self._ledgers.get(cid)
            if ledger is None or ledger.done:
                return
            ledger.done = True
            self._ready.append(
                BrokerUpdate(kind, cid, self._clock.now(), ledger.broker_id, reason=reason)
            )


def _restamp(update: BrokerUpdate, at: datetime) -> BrokerUpdate:
    return BrokerUpdate(update.kind, update.client_order_id, at, update.broker_order_id,
                        update.qty, update.price, update.fee, update.reason)  # fmt: skip


def _message(exc: APIError) -> str:
    try:
        return str(exc.message)
    except (ValueError, KeyError, TypeError):
        return str(exc)
