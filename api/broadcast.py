"""In-process publish/subscribe for messages that are not stored events (bars, backtest progress).

Publishers may be threads (the paper feed, backtest workers); subscribers are WebSocket
connections on the event loop. Each message gets a sequence number per topic.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from typing import Any

Message = dict[str, Any]
Listener = Callable[[str, Message], None]


class Broadcaster:
    """Thread-safe fan-out; a listener must not block (hand the message to its own queue)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: dict[int, Listener] = {}
        self._ids = itertools.count(1)
        self._sequence: dict[str, int] = {}

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register `listener`; returns the function that unsubscribes it."""
        with self._lock:
            key = next(self._ids)
            self._listeners[key] = listener

        def unsubscribe() -> None:
            with self._lock:
                self._listeners.pop(key, None)

        return unsubscribe

    def publish(self, topic: str, payload: Message) -> int:
        """Send `payload` to every listener under `topic`; returns its sequence number."""
        with self._lock:
            sequence = self._sequence.get(topic, 0) + 1
            self._sequence[topic] = sequence
            listeners = list(self._listeners.values())
        message = {"topic": topic, "seq": sequence, **payload}
        for listener in listeners:
            listener(topic, message)
        return sequence
