"""orjson storage of domain events, decoded back to their declared field types; no pickle anywhere.

Event state is encoded as compact JSON (Decimals as strings, datetimes ISO-8601 with offset, UUIDs
canonical). On the way back each field is rebuilt from the event class's type hints, so an event's
fields keep their types (Decimal, datetime, UUID, enums, dict[str, Decimal], ...).
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic

Convert = Callable[[Any], Any]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, tuple | frozenset | set):
        return list(value)
    raise TypeError(f"cannot store {type(value).__name__} in an event")


class OrjsonTranscoder(Transcoder):
    """Deterministic bytes: same state, same bytes (dict order is the dataclass field order)."""

    def encode(self, obj: Any) -> bytes:
        # orjson's result sits in an oversized buffer: kept by the thousand (a replay's batch)
        # they weigh on the allocator. The slice that drops the newline is a right-sized copy,
        # and the buffer is freed at once for the next call to reuse.
        return orjson.dumps(obj, default=_default, option=orjson.OPT_APPEND_NEWLINE)[:-1]

    def decode(self, data: bytes) -> Any:
        return orjson.loads(data)


def _identity(value: Any) -> Any:
    return value


@cache
def _converter(hint: Any) -> Convert:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [_converter(arg) for arg in typing.get_args(hint) if arg is not type(None)]
        if len(inner) != 1:
            return _identity
        only = inner[0]
        return lambda v: None if v is None else only(v)
    if origin is dict:
        _, value_hint = typing.get_args(hint)
        convert = _converter(value_hint)
        if convert is _identity:
            return _identity
        return lambda v: {k: convert(x) for k, x in v.items()}
    if origin is tuple:
        args = typing.get_args(hint)
        convert = _converter(args[0]) if args else _identity
        return lambda v: tuple(convert(x) for x in v)
    if hint is Decimal:
        return Decimal
    if hint is datetime:
        return datetime.fromisoformat
    if hint is date:
        return date.fromisoformat
    if hint is UUID:
        return UUID
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint
    return _identity


@cache
def _field_converters(cls: type) -> dict[str, Convert]:
    hints = typing.get_type_hints(cls)
    converters = {name: _converter(hint) for name, hint in hints.items()}
    return {name: c for name, c in converters.items() if c is not _identity}


@cache
def _storage_plan(cls: type) -> tuple[str, int, tuple[tuple[str, bool], ...]]:
    """(topic, class version, decimal fields) of an event class, worked out once per class.

    Decimal fields are (field, is a mapping), turned to text before encoding.
    """
    found = []
    for name, hint in typing.get_type_hints(cls).items():
        args = typing.get_args(hint)
        if hint is Decimal or (Decimal in args and typing.get_origin(hint) is not dict):
            found.append((name, False))
        elif typing.get_origin(hint) is dict and args[1:] == (Decimal,):
            found.append((name, True))
    return get_topic(cls), getattr(cls, "class_version", 1), tuple(found)


def _stored_event(originator_id: Any, version: int, topic: str, state: bytes) -> StoredEvent:
    # StoredEvent is a frozen dataclass: its __init__ sets each field by object.__setattr__.
    stored = object.__new__(StoredEvent)
    object.__setattr__(
        stored,
        "__dict__",
        {
            "originator_id": originator_id,
            "originator_version": version,
            "topic": topic,
            "state": state,
        },
    )
    return stored


class TypedMapper(Mapper[UUID]):
    """Maps events to stored events and back, restoring each field's declared type."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        # The library's version, with Decimals converted up front rather than through orjson's
        # per-value fallback, and each class's topic and fields looked up once: a replay
        # stores tens of thousands of events.
        topic, class_version, decimal_fields = _storage_plan(type(domain_event))
        state = domain_event.__dict__.copy()
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        if class_version > 1:
            state["class_version"] = class_version
        for name, is_mapping in decimal_fields:
            value = state[name]
            if is_mapping:
                state[name] = {k: str(v) for k, v in value.items()}
            elif value is not None:
                state[name] = str(value)
        encoded = self.transcoder.encode(state)
        if self.compressor:
            encoded = self.compressor.compress(encoded)
        if self.cipher:
            encoded = self.cipher.encrypt(encoded)
        return _stored_event(originator_id, originator_version, topic, encoded)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = resolve_topic(stored_event.topic)
        state: dict[str, Any] = self.transcoder.decode(stored_event.state)
        for name, convert in _field_converters(cls).items():
            if name in state:
                state[name] = convert(state[name])
        from_version = state.pop("class_version", 1)
        class_version = getattr(cls, "class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        state["originator_id"] = UUID(str(stored_event.originator_id))
        state["originator_version"] = stored_event.originator_version
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", state)
        return typing.cast(DomainEventProtocol[UUID], event)
