"""Wires the backtests application to files, stores, the registry and the simulated broker."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from uuid import UUID

from application.backtest_records import Publish
from application.backtests import Backtests, Worker
from application.engine import SettableClock
from application.ports import Broker
from infrastructure.backtest_registry import SqlBacktestRegistry
from infrastructure.backtest_stores import BacktestStores
from infrastructure.datasets import BarsDatasets
from infrastructure.settings import Settings
from infrastructure.sim_broker import SimulatedBroker, SimulatorCosts
from projections.db import ReadModelDatabase


@dataclass(frozen=True, slots=True)
class BacktestSetup:
    backtests: Backtests
    stores: BacktestStores


def simulated_brokers(costs: Mapping[str, Decimal]) -> Callable[[SettableClock], Broker]:
    """A SimulatedBroker factory charging `costs` (SimulatorCosts field names)."""
    simulator_costs = SimulatorCosts(**costs)
    return lambda clock: SimulatedBroker(clock, simulator_costs)


def build_backtests(
    main: ReadModelDatabase,
    settings: Settings,
    *,
    publish: Publish,
    clock: Callable[[], datetime],
    new_id: Callable[[], UUID],
    start_worker: Callable[[str, Worker], None],
) -> BacktestSetup:
    """Create the registry table and fail what a previous process left unfinished."""
    registry = SqlBacktestRegistry(main)
    registry.ensure_table()
    stores = BacktestStores(main, settings)
    backtests = Backtests(
        registry=registry,
        datasets=BarsDatasets(settings.bars_dataset),
        workspaces=stores,
        broker_for=simulated_brokers,
        publish=publish,
        clock=clock,
        new_id=new_id,
        start_worker=start_worker,
    )
    backtests.recover()
    return BacktestSetup(backtests, stores)
