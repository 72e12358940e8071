"""Tokens verified in the last second, so a busy client costs no database read per request.

Only successful checks are kept, by the token's sha256 (never the token itself); a revoked token
stops working within `ttl` seconds, the price of not asking the database on every request.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable

DEFAULT_TTL = 1.0
MAX_ENTRIES = 4096


class TokenCache:
    def __init__(
        self,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self.ttl = ttl
        self._clock = clock
        self._max_entries = max_entries
        self._entries: dict[str, tuple[str, float]] = {}  # digest -> (token id, valid until)
        self._lock = threading.Lock()

    def get(self, token: str) -> str | None:
        """The token's id if it was verified less than `ttl` seconds ago."""
        digest = _digest(token)
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            if entry[1] <= self._clock():
                del self._entries[digest]
                return None
            return entry[0]

    def put(self, token: str, token_id: str) -> None:
        with self._lock:
            if len(self._entries) >= self._max_entries:
                self._entries.clear()  # rare: many distinct live tokens; start over
            self._entries[_digest(token)] = (token_id, self._clock() + self.ttl)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
