"""The order endpoints as a plain ASGI app in front of the FastAPI one.

Submitting, canceling and looking up orders are what a live trader's bursts hit: each minute a
hundred bots send tens of them at once. Routed through FastAPI they also crossed its error,
exception, body-limit and telemetry middleware and Starlette's router and Request/Response
objects; here they are matched on method and path and answered with two ASGI messages.
Everything else (lists, account, clock, calendar, bars, admin, WebSockets) goes to `inner`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from infrastructure.alpaca_sim.guard import answer, respond
from infrastructure.alpaca_sim.order_requests import OrderError
from infrastructure.alpaca_sim.orders import SimOrder
from infrastructure.alpaca_sim.server import SimServer

ORDERS = "/v2/orders"
BY_CLIENT_ID = "/v2/orders:by_client_order_id"
Handler = Callable[[Scope, Receive, Send], Awaitable[None]]


class OrderEndpoints:
    """POST /v2/orders, GET and DELETE /v2/orders/{id}, GET /v2/orders:by_client_order_id."""

    def __init__(self, inner: ASGIApp, sim: SimServer) -> None:
        self.inner, self.sim = inner, sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = self._handler(scope) if scope["type"] == "http" else None
        if handler is None:
            return await self.inner(scope, receive, send)
        await handler(scope, receive, send)

    def _handler(self, scope: Scope) -> Handler | None:
        path, method = scope["path"], scope["method"]
        if path == ORDERS:
            return self._submit if method == "POST" else None
        if path == BY_CLIENT_ID:
            return self._by_client_id if method == "GET" else None
        if path.startswith(ORDERS + "/") and "/" not in path[len(ORDERS) + 1 :]:
            return {"GET": self._get, "DELETE": self._cancel}.get(method)
        return None

    async def _submit(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = orjson.loads(await _body(receive))
        except orjson.JSONDecodeError:
            return await answer(send, 400, 40010000, "request body format is invalid")
        if not isinstance(body, dict):
            return await answer(send, 422, 40010001, "the order must be a JSON object")
        try:
            order = self.sim.submit(body)
        except OrderError as exc:
            return await answer(send, exc.status, exc.code, exc.message)
        await _order(send, order)

    async def _by_client_id(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = parse_qs(scope["query_string"].decode("latin-1"))
        wanted = query.get("client_order_id", [""])[0]
        if not wanted:
            return await answer(send, 422, 40010001, "client_order_id is required")
        await _order_or_404(send, self.sim.exchange.by_client.get(wanted))

    async def _get(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _order_or_404(send, self._find(scope))

    async def _cancel(self, scope: Scope, receive: Receive, send: Send) -> None:
        order = self._find(scope)
        if order is None:
            return await answer(send, 404, 40410000, "order not found")
        self.sim.catch_up()  # the minute the clock is in has opened: fills see its bar
        now = self.sim.clock.now()
        if self.sim.faults.take("fill_on_cancel"):
            self.sim.exchange.fill_now(order, now)  # then refused, as Alpaca refuses a filled one
        try:
            self.sim.exchange.cancel(order, now)
        except OrderError as exc:
            return await answer(send, exc.status, exc.code, exc.message)
        await respond(send, 204)

    def _find(self, scope: Scope) -> SimOrder | None:
        try:
            return self.sim.exchange.find(UUID(scope["path"][len(ORDERS) + 1 :]))
        except ValueError:
            return None


async def _body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Any = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _order(send: Send, order: SimOrder) -> None:
    await respond(send, 200, orjson.dumps(order.to_json()))


async def _order_or_404(send: Send, order: SimOrder | None) -> None:
    if order is None:
        return await answer(send, 404, 40410000, "order not found")
    await _order(send, order)
