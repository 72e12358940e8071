"""Which aggregates other writers changed in the event store since we last looked."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder, Recording

from application.event_log import notifications


class StoreWatch:
    """Follows the store's notification log, skipping the notifications we wrote ourselves.

    Cheap when nothing happened: one `max_notification_id()` per call. The log is read in id
    order, so ids must become visible in order; both recorders make sure of that (SQLite writes
    one transaction at a time, PostgreSQL locks the table while inserting).
    """

    def __init__(self, recorder: ApplicationRecorder, topic_prefix: str = "") -> None:
        self._recorder, self._prefix = recorder, topic_prefix
        self._seen = self._head()
        self._own: set[int] = set()

    def saved(self, recordings: Iterable[Recording[UUID]]) -> None:
        """Note our own writes, so they do not count as changes."""
        self._own.update(r.notification.id for r in recordings)

    def changed(self) -> dict[UUID, set[str]]:
        """The topics of the events others stored since the previous call, by aggregate id."""
        head = self._head()
        if head <= self._seen:
            return {}
        if all(i in self._own for i in range(self._seen + 1, head + 1)):
            self._own.difference_update(range(self._seen + 1, head + 1))
            self._seen = head  # only our own writes: nothing to read back
            return {}
        changed: dict[UUID, set[str]] = {}
        for n in notifications(self._recorder, self._seen + 1, stop=head):
            if n.id not in self._own and n.topic.startswith(self._prefix):
                changed.setdefault(UUID(str(n.originator_id)), set()).add(n.topic)
        self._own = {i for i in self._own if i > head}
        self._seen = head
        return changed

    def _head(self) -> int:
        return self._recorder.max_notification_id() or 0
