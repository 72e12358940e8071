"""Store calls in flight, so shutdown closes the stores only after the last one has returned.

Reads started with `asyncio.to_thread` keep running when the task awaiting them is cancelled; a
SQLite connection closed under such a read crashes the whole process, so close() waits for them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class StoreClosed(RuntimeError):
    """The server is shutting down: no new store calls."""


class StoreGate:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._active = 0
        self._closed = False

    @contextmanager
    def use(self) -> Iterator[None]:
        with self._changed:
            if self._closed:
                raise StoreClosed("the server is shutting down")
            self._active += 1
        try:
            yield
        finally:
            with self._changed:
                self._active -= 1
                self._changed.notify_all()

    def run[T](self, call: Callable[..., T], *args: object) -> T:
        with self.use():
            return call(*args)

    def close(self, timeout: float = 10.0) -> bool:
        """Refuse new calls and wait for those in flight; False if some are still running."""
        with self._changed:
            self._closed = True
            return self._changed.wait_for(lambda: self._active == 0, timeout)
