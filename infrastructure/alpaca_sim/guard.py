"""Keys and injected faults in front of every `/v2/` HTTP request, as a plain ASGI middleware.

A plain ASGI class rather than `app.middleware("http")`: Starlette's BaseHTTPMiddleware runs
every request through an extra task and a streamed response, which doubled the cost of the
order endpoints the latency bench hammers. Faults are counted per request, in arrival order.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any, Protocol

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

Message = MutableMapping[str, Any]


class _Sim(Protocol):
    @property
    def options(self) -> Any: ...

    @property
    def faults(self) -> Any: ...


class Guard:
    """401 without Alpaca's key headers; then 429s, 500s, held answers and delays on demand."""

    def __init__(self, app: ASGIApp, sim: _Sim) -> None:
        self.app, self.sim = app, sim
        self._keys = (sim.options.key.encode(), sim.options.secret.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/v2/"):
            return await self.app(scope, receive, send)
        key = secret = None
        for name, value in scope["headers"]:
            if name == b"apca-api-key-id":
                key = value
            elif name == b"apca-api-secret-key":
                secret = value
        if (key, secret) != self._keys:
            return await answer(send, 401, 40110000, "request is not authorized")
        faults = self.sim.faults
        if not path.startswith(faults.only):
            return await self.app(scope, receive, send)
        if faults.delay_ms:
            await asyncio.sleep(faults.delay_ms / 1000)
        if faults.take("http_429"):
            return await answer(send, 429, 42910000, "rate limit exceeded")
        if faults.take("http_500"):
            return await answer(send, 500, 50010000, "internal server error")
        lose_answer, hold_answer = faults.take("http_500_after"), faults.take("timeouts")
        if not (lose_answer or hold_answer):
            return await self.app(scope, receive, send)
        held: list[Message] = []

        async def keep(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, keep)  # the work is done either way
        if hold_answer:
            await asyncio.sleep(faults.timeout_ms / 1000)
        if lose_answer:
            return await answer(send, 500, 50010000, "internal server error")
        for message in held:
            await send(message)


async def answer(send: Send, status: int, code: int, message: str) -> None:
    """Alpaca's error body `{"code", "message"}` with `status`."""
    body = orjson.dumps({"code": code, "message": message})
    await respond(send, status, body)


async def respond(send: Send, status: int, body: bytes = b"") -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if body:
        headers.append((b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
