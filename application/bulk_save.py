"""One transaction fed while it is being written: a big save's records go to the store in batches
from a writer thread, so the database works on one batch while the caller maps the next.

The store's recorder must offer `insert_event_batches` (infrastructure's SQLite and PostgreSQL
recorders do); it inserts each batch as it arrives and commits once, after the last: all or
nothing, as `insert_events` is.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from types import TracebackType
from typing import Protocol, runtime_checkable

from eventsourcing.persistence import StoredEvent

_DONE = object()
_ABANDONED = object()


@runtime_checkable
class BatchRecorder(Protocol):
    def insert_event_batches(
        self, batches: Iterable[Sequence[StoredEvent]], operation: str = ...
    ) -> list[int]: ...


class SaveAbandoned(RuntimeError):
    """The caller failed while feeding the save: the transaction is rolled back."""


class BatchWriter:
    """`with BatchWriter(recorder, "saving ...") as writer: writer.put(records)`; the records are
    committed when the block ends without an error, and rolled back otherwise."""

    def __init__(self, recorder: BatchRecorder, operation: str) -> None:
        self._recorder, self._operation = recorder, operation
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name="batch-writer", daemon=True)
        self.notification_ids: list[int] = []

    def __enter__(self) -> BatchWriter:
        self._thread.start()
        return self

    def put(self, records: Sequence[StoredEvent]) -> None:
        if self._error is not None:  # the store already failed: stop feeding it
            raise self._error
        self._queue.put(records)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._queue.put(_DONE if error is None else _ABANDONED)
        self._thread.join()
        if error is None and self._error is not None:
            raise self._error

    def _batches(self) -> Iterator[Sequence[StoredEvent]]:
        while (item := self._queue.get()) is not _DONE:
            if item is _ABANDONED:
                raise SaveAbandoned(f"{self._operation}: abandoned by its caller")
            assert isinstance(item, Sequence)
            yield item

    def _write(self) -> None:
        try:
            self.notification_ids = self._recorder.insert_event_batches(
                self._batches(), self._operation
            )
        except BaseException as exc:  # handed to the caller's thread
            self._error = exc
