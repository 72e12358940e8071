"""Reading the store's notification log in pages: one loop for every reader that walks it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from eventsourcing.persistence import ApplicationRecorder

PAGE = 500


def notifications(
    recorder: ApplicationRecorder,
    start: int = 1,
    stop: int | None = None,
    topics: Sequence[str] = (),
) -> Iterator[Any]:
    """Notifications with start <= id (<= stop), of `topics` (all when empty), in id order."""
    while stop is None or start <= stop:
        batch = recorder.select_notifications(start, PAGE, stop=stop, topics=topics)
        yield from batch
        if len(batch) < PAGE:
            return
        start = batch[-1].id + 1
