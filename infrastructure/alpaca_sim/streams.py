"""The two WebSockets: market data (`/v2/{feed}`, msgpack or JSON) and trade updates (`/stream`).

Each connection gets a bounded queue and a sender task, so one slow client never holds up the
clock or other clients. Messages follow Alpaca's protocol: market data answers
`[{"T": "success", "msg": "connected"}]`, then `auth` and `subscribe` actions, then sends bars as
`{"T": "b", "S", "o", "h", "l", "c", "v", "t", "n", "vw"}`; the trading stream takes
`authenticate` (or `auth`) and `listen`, and sends `{"stream": "trade_updates", "data": ...}`
in binary frames, as Alpaca's paper stream does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, MutableMapping
from datetime import datetime
from typing import Any

import msgpack
import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from domain.bars import Bar

log = logging.getLogger("openbell.alpaca_sim.streams")
QUEUE_LIMIT = 10_000


class Connection:
    """One WebSocket client: its queue, its sender task and what it asked for."""

    def __init__(self, socket: WebSocket, binary: bool = True) -> None:
        self.socket, self.binary = socket, binary
        self.queue: asyncio.Queue[Any] = asyncio.Queue(QUEUE_LIMIT)
        self.bars: set[str] = set()
        self.closed = False

    def send(self, message: Any) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("stream client too slow; dropping it")
            self.drop()

    def drop(self) -> None:
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)

    async def pump(self, encode: Callable[[Any, bool], bytes | str]) -> None:
        while (message := await self.queue.get()) is not None:
            data = encode(message, self.binary)
            if isinstance(data, bytes):
                await self.socket.send_bytes(data)
            else:
                await self.socket.send_text(data)
        with contextlib.suppress(Exception):
            await self.socket.close(code=1011, reason="connection dropped")


class StreamHub:
    """Who is connected to which stream; the server publishes through it."""

    def __init__(self, key: str, secret: str, blocked: Callable[[], bool]) -> None:
        self._key, self._secret, self._blocked = key, secret, blocked
        self.data: set[Connection] = set()
        self.trading: set[Connection] = set()

    # ---- publishing ------------------------------------------------------------------------

    def publish_bars(self, bars: list[Bar]) -> None:
        for conn in list(self.data):
            wanted = [bar_message(b) for b in bars if b.symbol in conn.bars or "*" in conn.bars]
            if wanted:
                conn.send(wanted)

    def publish_trade_update(self, data: dict[str, Any]) -> None:
        message = {"stream": "trade_updates", "data": data}
        for conn in list(self.trading):
            conn.send(message)

    def drop_all(self) -> int:
        dropped = list(self.data) + list(self.trading)
        for conn in dropped:
            conn.drop()
        return len(dropped)

    # ---- market data -----------------------------------------------------------------------

    async def serve_data(self, socket: WebSocket) -> None:
        await socket.accept()
        if self._blocked():
            await socket.close(code=1013, reason="stream outage (simulated)")
            return
        conn = Connection(socket)
        sender = asyncio.create_task(conn.pump(_encode_data))
        conn.send([{"T": "success", "msg": "connected"}])
        authorized = False
        try:
            while not conn.closed:
                raw = await socket.receive()
                if raw["type"] == "websocket.disconnect":
                    break
                conn.binary = raw.get("bytes") is not None
                message = _decode(raw)
                action = message.get("action")
                if action == "auth":
                    authorized = message.get("key") == self._key and (
                        message.get("secret") == self._secret
                    )
                    if not authorized:
                        conn.send([{"T": "error", "code": 402, "msg": "auth failed"}])
                        break
                    conn.send([{"T": "success", "msg": "authenticated"}])
                    self.data.add(conn)
                elif not authorized:
                    conn.send([{"T": "error", "code": 401, "msg": "not authenticated"}])
                elif action in ("subscribe", "unsubscribe"):
                    symbols = set(message.get("bars") or [])
                    conn.bars = (
                        conn.bars | symbols if action == "subscribe" else conn.bars - symbols
                    )
                    conn.send([_subscription(conn)])
                else:
                    conn.send([{"T": "error", "code": 400, "msg": "invalid syntax"}])
        except (WebSocketDisconnect, RuntimeError, ValueError):
            pass
        finally:
            self.data.discard(conn)
            conn.drop()
            await sender

    # ---- trade updates ---------------------------------------------------------------------

    async def serve_trading(self, socket: WebSocket) -> None:
        await socket.accept()
        if self._blocked():
            await socket.close(code=1013, reason="stream outage (simulated)")
            return
        conn = Connection(socket)
        sender = asyncio.create_task(conn.pump(_encode_trading))
        authorized = False
        try:
            while not conn.closed:
                raw = await socket.receive()
                if raw["type"] == "websocket.disconnect":
                    break
                message = _decode(raw)
                action, data = message.get("action"), message.get("data") or {}
                if action in ("auth", "authenticate"):
                    key = message.get("key") or data.get("key_id")
                    secret = message.get("secret") or data.get("secret_key")
                    authorized = key == self._key and secret == self._secret
                    status = "authorized" if authorized else "unauthorized"
                    conn.send(
                        {"stream": "authorization", "data": {"action": action, "status": status}}
                    )
                    if not authorized:
                        break
                elif action == "listen" and authorized:
                    streams = [s for s in data.get("streams", []) if s == "trade_updates"]
                    if streams:
                        self.trading.add(conn)
                    else:
                        self.trading.discard(conn)
                    conn.send({"stream": "listening", "data": {"streams": streams}})
                else:
                    conn.send({"stream": "error", "data": {"error_message": "invalid request"}})
        except (WebSocketDisconnect, RuntimeError, ValueError):
            pass
        finally:
            self.trading.discard(conn)
            conn.drop()
            await sender


def bar_message(bar: Bar) -> dict[str, Any]:
    return {
        "T": "b",
        "S": bar.symbol,
        "o": float(bar.open),
        "h": float(bar.high),
        "l": float(bar.low),
        "c": float(bar.close),
        "v": bar.volume,
        "t": bar.timestamp,
        "n": max(1, bar.volume // 100),
        "vw": float(round((bar.high + bar.low + bar.close) / 3, 4)),
    }


def _subscription(conn: Connection) -> dict[str, Any]:
    return {"T": "subscription", "trades": [], "quotes": [], "bars": sorted(conn.bars),
            "updatedBars": [], "dailyBars": [], "statuses": [], "lulds": [],
            "corrections": [], "cancelErrors": []}  # fmt: skip


def _decode(raw: MutableMapping[str, Any]) -> dict[str, Any]:
    if raw.get("bytes") is not None:
        data = raw["bytes"]
        try:
            message = msgpack.unpackb(data)
        except (ValueError, msgpack.UnpackException):
            message = json.loads(data)
    else:
        message = json.loads(raw.get("text") or "{}")
    if not isinstance(message, dict):
        raise ValueError("expected an object")
    return message


def _encode_data(message: Any, binary: bool) -> bytes | str:
    if binary:
        return msgpack.packb(message, default=_msgpack_default)  # type: ignore[no-any-return]
    return json.dumps(message, default=_json_default)


def _encode_trading(message: Any, binary: bool) -> bytes:
    # orjson: a trade update is encoded for every order event (several per order in a burst).
    # Datetimes still go through `_json_default` ("...Z"), as with json before.
    return orjson.dumps(message, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


def _msgpack_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return msgpack.Timestamp.from_datetime(value)
    raise TypeError(f"cannot pack {type(value).__name__}")


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)
