"""Client messages of the `/ws` protocol, parsed and validated (see api/routes/ws.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from api.live.topics import Topic, TopicError, parse_topic

MAX_MESSAGE_CHARS = 16_384
MAX_TOPICS = 64


class ProtocolError(ValueError):
    """A client message the server cannot act on; answered with an error message."""


@dataclass(frozen=True, slots=True)
class Subscribe:
    topics: list[Topic]
    after: int | None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    names: list[str]


@dataclass(frozen=True, slots=True)
class Ping:
    pass


@dataclass(frozen=True, slots=True)
class Pong:
    pass


@dataclass(frozen=True, slots=True)
class Auth:
    token: str


Request = Subscribe | Unsubscribe | Ping | Pong | Auth


def parse_message(text: str | None) -> Request:
    if text is None:
        raise ProtocolError("send JSON text frames, not binary")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ProtocolError(f"message longer than {MAX_MESSAGE_CHARS} characters")
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError("message is not valid JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError('message must be a JSON object with a "type"')
    kind = data.get("type")
    if kind == "subscribe":
        return Subscribe(_topics(data), _after(data.get("after")))
    if kind == "unsubscribe":
        return Unsubscribe([t.name for t in _topics(data)])
    if kind == "ping":
        return Ping()
    if kind == "pong":
        return Pong()
    if kind == "auth":
        token = data.get("token")
        if not isinstance(token, str) or not token:
            raise ProtocolError('auth needs a "token" string')
        return Auth(token)
    raise ProtocolError(
        f"unknown message type {str(kind)[:40]!r}; use subscribe, unsubscribe or ping"
    )


def _topics(data: dict[str, Any]) -> list[Topic]:
    """Parsed and de-duplicated; one bad name rejects the whole message."""
    names = data.get("topics")
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ProtocolError('"topics" must be a non-empty list of strings')
    if len(names) > MAX_TOPICS:
        raise ProtocolError(f"at most {MAX_TOPICS} topics per message")
    topics = [_topic(n) for n in names]
    return list({t.name: t for t in topics}.values())


def _topic(name: str) -> Topic:
    try:
        return parse_topic(name)
    except TopicError as exc:
        raise ProtocolError(str(exc)) from None


def _after(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError('"after" must be a position (an integer >= 0) or null')
    return value
