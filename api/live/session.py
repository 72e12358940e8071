"""One `/ws` session: origin check, first-message authentication, then requests until it ends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any
from urllib.parse import urlsplit

from starlette.websockets import WebSocket, WebSocketDisconnect

from api.live.connection import Connection
from api.live.protocol import (
    Auth,
    Ping,
    Pong,
    ProtocolError,
    Subscribe,
    Unsubscribe,
    parse_message,
)
from api.live.tailer import Tailer
from api.services import Services

log = logging.getLogger("openbell.api.live")

AUTH_TIMEOUT = 5.0  # seconds a client has to send its auth message
HEARTBEAT_INTERVAL = 15.0  # seconds between the server's pings
UNAUTHENTICATED = 4401
FORBIDDEN_ORIGIN = 4403
MAX_TOKEN_CHARS = 256


def origin_allowed(websocket: WebSocket, ui_origin: str) -> bool:
    """No Origin (not a browser), the dashboard's origin, or the server's own host."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/")
    return origin == ui_origin or urlsplit(origin).netloc == websocket.headers.get("host")


async def run_session(websocket: WebSocket, services: Services, tailer: Tailer) -> None:
    if not origin_allowed(websocket, services.settings.ui_origin):
        await websocket.close(FORBIDDEN_ORIGIN, "origin not allowed")  # before accepting
        return
    await websocket.accept()
    token_id = await _authenticate(websocket, services)
    if token_id is None:
        return
    connection = Connection(websocket.send_text, tailer.log)
    unsubscribe = services.broadcaster.subscribe(connection.on_broadcast)
    try:
        await tailer.attach(connection)
        await connection.send({"type": "authenticated", "position": connection.processed})
        log.debug("live: token %s connected", token_id)
        ending = await _serve(websocket, connection)
    finally:  # synchronous: also runs when the session is cancelled
        unsubscribe()
        tailer.detach(connection)
    if ending is not None:
        log.info("live: closing token %s's connection: %s", token_id, ending[1])
        await _close(websocket, *ending)


async def _authenticate(websocket: WebSocket, services: Services) -> str | None:
    """The token id from a first `{"type": "auth", "token": …}`; else close 4401 and None."""
    try:
        async with asyncio.timeout(AUTH_TIMEOUT):
            message = await websocket.receive()
    except TimeoutError:
        await _close(websocket, UNAUTHENTICATED, "authentication timed out")
        return None
    if message["type"] == "websocket.disconnect":
        return None
    try:
        request = parse_message(message.get("text"))
    except ProtocolError:
        request = None
    if not isinstance(request, Auth):
        await _close(
            websocket, UNAUTHENTICATED, 'first message must be {"type":"auth","token":"..."}'
        )
        return None
    token_id = None
    if len(request.token) <= MAX_TOKEN_CHARS:
        token_id = await asyncio.to_thread(services.gate.run, services.tokens.verify, request.token)
    if token_id is None:
        log.info("live: refused a WebSocket with an invalid or revoked token")
        await _close(websocket, UNAUTHENTICATED, "invalid or revoked token")
    return token_id


async def _serve(websocket: WebSocket, connection: Connection) -> tuple[int, str] | None:
    """Until the client leaves (None) or the connection must be closed (code, reason)."""
    tasks: list[asyncio.Future[Any]] = [
        asyncio.create_task(_read_requests(websocket, connection)),
        asyncio.create_task(connection.pump()),
        asyncio.create_task(_heartbeat(connection)),
    ]
    try:
        await asyncio.wait([*tasks, connection.closed], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
    await asyncio.wait(tasks)
    for task in tasks:
        error = None if task.cancelled() else task.exception()
        if isinstance(error, WebSocketDisconnect):
            log.debug("live: the client went away (%s)", error.code)
        elif error is not None:
            log.warning("live: connection failed", exc_info=error)
    return connection.closed.result() if connection.closed.done() else None


async def _read_requests(websocket: WebSocket, connection: Connection) -> None:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            await _handle(connection, parse_message(message.get("text")))
        except ProtocolError as exc:
            await connection.send({"type": "error", "message": str(exc)})


async def _handle(connection: Connection, request: Any) -> None:
    match request:
        case Subscribe(topics, after):
            await connection.subscribe(topics, after)
        case Unsubscribe(names):
            await connection.unsubscribe(names)
        case Ping():
            await connection.send({"type": "pong"})
        case Pong():
            pass
        case Auth():
            raise ProtocolError("already authenticated")


async def _heartbeat(connection: Connection) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_INTERVAL)
        await connection.send({"type": "ping"})


async def _close(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):  # the client may be gone already
        await websocket.close(code, reason)
