"""The client's own deadline on PostgreSQL statements: for when the server cannot end a wait.

statement_timeout ends a statement the server is running; a client and server each waiting for
the other (psycopg #685), or a server that stopped answering, are beyond it. One thread serves
every watched connection: past its deadline a connection's statement is cancelled, which the
waiting call then raises as QueryCanceled.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg

NEVER = float("inf")


class Watch:
    """One connection's deadline: each `with watch:` block (a statement) gets `seconds`."""

    def __init__(self, watchdog: Watchdog, conn: psycopg.Connection[Any], seconds: float) -> None:
        self.watchdog, self.conn, self.seconds = watchdog, conn, seconds
        self.due = NEVER

    def start(self) -> None:
        if self.seconds > 0:
            self.due = time.monotonic() + self.seconds
            self.watchdog.wake_by(self.due)

    def __enter__(self) -> None:
        self.start()

    def __exit__(self, *_: object) -> None:
        self.due = NEVER


class Watchdog:
    """One thread for all saves' client deadlines: it cancels the statement of a connection
    whose deadline passed (the client's own limit, for when the server cannot end a wait)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._watches: set[Watch] = set()
        self._thread: threading.Thread | None = None
        self._wakes_at = NEVER

    @contextlib.contextmanager
    def watching(self, conn: psycopg.Connection[Any], seconds: float) -> Iterator[Watch]:
        watch = Watch(self, conn, seconds)
        if seconds <= 0:
            yield watch
            return
        with self._changed:
            self._watches.add(watch)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="pg-deadline", daemon=True)
                self._thread.start()
        try:
            yield watch
        finally:
            with self._changed:
                self._watches.discard(watch)

    def wake_by(self, due: float) -> None:
        if due < self._wakes_at:  # else the thread wakes in time anyway (a read without the lock:
            with self._changed:  # at worst a needless notify)
                self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                expired = [w for w in self._watches if w.due <= now]
                for watch in expired:
                    watch.due = NEVER
                if not expired:
                    self._wakes_at = min((w.due for w in self._watches), default=NEVER)
                    wait = None if self._wakes_at == NEVER else self._wakes_at - now
                    self._changed.wait(wait)
                    self._wakes_at = NEVER
                    continue
            for watch in expired:  # outside the lock: cancelling is a network call
                with contextlib.suppress(psycopg.Error):
                    watch.conn.cancel_safe(timeout=5)


WATCHDOG = Watchdog()
