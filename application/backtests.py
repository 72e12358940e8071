"""Backtests: replays the API queues and one worker thread runs, each into a store of its own.

`submit` checks a request against its dataset before accepting it, records it as queued and hands
it to the worker, which replays it (publishing progress on the topic ``backtest:<id>``), catches
up the backtest's read models and records the summary, or the reason it failed.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any
from uuid import UUID

from application.backtest_records import (
    BacktestBusy,
    BacktestInputError,
    BacktestNotFound,
    BacktestRecord,
    BacktestRequest,
    BacktestStatus,
    BacktestsUnavailable,
    BrokerFactory,
    Datasets,
    Publish,
    Registry,
    Workspace,
    Workspaces,
    select_bars,
    slice_id,
    summarize,
)
from application.replay import ReplayInputError, replay
from application.service import BotAlreadyExists

log = logging.getLogger(__name__)

INTERRUPTED = "interrupted: the server stopped before the backtest finished; submit it again"
Worker = Callable[[threading.Event], None]


class _Interrupted(Exception):
    """The server is stopping: abandon the replay (it stores nothing until its end)."""


class Backtests:
    """Accepts backtests and runs them one at a time, in submission order."""

    def __init__(
        self,
        *,
        registry: Registry,
        datasets: Datasets,
        workspaces: Workspaces,
        broker_for: BrokerFactory,
        publish: Publish,
        clock: Callable[[], datetime],
        new_id: Callable[[], UUID],
        start_worker: Callable[[str, Worker], None],
        max_queued: int = 20,
    ) -> None:
        self._registry, self._datasets, self._workspaces = registry, datasets, workspaces
        self._broker_for, self._publish, self._clock, self._new_id = (
            broker_for,
            publish,
            clock,
            new_id,
        )
        self._start_worker, self._max_queued = start_worker, max_queued
        self._queue: queue.Queue[tuple[UUID, BacktestRequest]] = queue.Queue()
        self._lock = threading.Lock()
        self._started = False

    def recover(self) -> int:
        """Fail the backtests a previous process left queued or running; returns how many."""
        stale = self._registry.unfinished()
        for record in stale:
            self._registry.save(
                replace(
                    record,
                    status=BacktestStatus.FAILED,
                    finished_at=self._clock(),
                    error=INTERRUPTED,
                )
            )
        return len(stale)

    def submit(self, request: BacktestRequest) -> BacktestRecord:
        """Check the request against its dataset, then queue it (BacktestInputError if it
        cannot run)."""
        if self._queue.qsize() >= self._max_queued:
            raise BacktestsUnavailable(f"{self._max_queued} backtests are queued; try again later")
        configs = [c.to_domain() for c in request.configs]
        dataset = self._datasets.load(request.dataset)
        bars = select_bars(request, configs, dataset)
        backtest_id = self._new_id()
        record = BacktestRecord(
            id=backtest_id,
            status=BacktestStatus.QUEUED,
            created_at=self._clock(),
            dataset=dataset.name,
            configs=[c.model_dump(mode="json", exclude_none=True) for c in request.configs],
            options=request.options(),
            bars=len(bars),
            store_url=self._workspaces.url(backtest_id),
        )
        self._registry.add(record)
        self._queue.put((backtest_id, request))
        self._announce(record)
        self._ensure_worker()
        return record

    def get(self, backtest_id: UUID) -> BacktestRecord:
        record = self._registry.get(backtest_id)
        if record is None:
            raise BacktestNotFound(f"no backtest {backtest_id}")
        return record

    def delete(self, backtest_id: UUID) -> None:
        """Forget a finished or failed backtest and remove its store (BacktestBusy before)."""
        # The worker only touches queued and running backtests, which are refused here.
        record = self.get(backtest_id)
        if record.status in (BacktestStatus.QUEUED, BacktestStatus.RUNNING):
            raise BacktestBusy(f"backtest {backtest_id} is {record.status}; wait until it ends")
        self._workspaces.drop(backtest_id)
        self._registry.delete(backtest_id)

    def recent(self, limit: int = 50) -> list[BacktestRecord]:
        return self._registry.recent(limit)

    def work(self, stop: threading.Event) -> None:
        """The worker loop: run queued backtests until `stop`, then fail what is left queued."""
        while not stop.is_set():
            try:
                backtest_id, request = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._run(backtest_id, request, stop)
            except Exception:  # the registry itself failed: keep serving the queue
                log.exception("backtest %s could not be recorded", backtest_id)
        while True:
            try:
                backtest_id, _ = self._queue.get_nowait()
            except queue.Empty:
                return
            if (record := self._registry.get(backtest_id)) is not None:
                self._finish(record, error=INTERRUPTED)

    def _ensure_worker(self) -> None:
        with self._lock:
            if not self._started:
                self._started = True
                self._start_worker("backtests", self.work)

    def _run(self, backtest_id: UUID, request: BacktestRequest, stop: threading.Event) -> None:
        queued = self._registry.get(backtest_id)
        if queued is None:
            return
        record = replace(queued, status=BacktestStatus.RUNNING, started_at=self._clock())
        self._registry.save(record)
        self._announce(record)
        workspace: Workspace | None = None
        try:
            configs = [c.to_domain() for c in request.configs]
            dataset = self._datasets.load(request.dataset)
            bars = select_bars(request, configs, dataset)  # the file may have changed meanwhile
            record = replace(record, bars=len(bars))

            def progress(count: int) -> None:
                nonlocal record
                if stop.is_set():
                    raise _Interrupted
                record = replace(record, progress=count)
                self._registry.save(record)
                self._announce(record)

            workspace = self._workspaces.open(backtest_id)
            dataset_id = slice_id(dataset, bars)
            result = replay(
                workspace.application,
                bars,
                configs,
                self._broker_for(request.costs),
                dataset_id,
                progress,
            )
            workspace.catch_up()
        except _Interrupted:
            self._finish(record, error=INTERRUPTED)
        except (BacktestInputError, ReplayInputError, BotAlreadyExists) as exc:
            self._finish(record, error=str(exc))
        except Exception as exc:
            log.exception("backtest %s failed", backtest_id)
            self._finish(record, error=f"internal error ({type(exc).__name__}); see the server log")
        else:
            self._finish(
                replace(record, progress=result.bars), result=summarize(result, dataset_id)
            )
        finally:
            if workspace is not None:
                workspace.close()

    def _finish(
        self,
        record: BacktestRecord,
        result: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        status = BacktestStatus.FAILED if error is not None else BacktestStatus.FINISHED
        record = replace(
            record, status=status, finished_at=self._clock(), result=result, error=error
        )
        self._registry.save(record)
        self._announce(record)

    def _announce(self, record: BacktestRecord) -> None:
        payload: dict[str, Any] = {
            "id": str(record.id),
            "status": record.status.value,
            "bars_done": record.progress,
            "bars_total": record.bars,
        }
        if record.result is not None:
            payload["summary"] = record.result
        if record.error is not None:
            payload["error"] = record.error
        try:
            self._publish(f"backtest:{record.id}", payload)
        except Exception:  # a broken listener must not fail the backtest
            log.exception("publishing progress of backtest %s failed", record.id)
