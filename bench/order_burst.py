"""What a burst of orders costs through alpaca-py: the floor under bench/live.py's latency.

    .venv/bin/python bench/order_burst.py [--orders 80] [--rounds 10] [--workers 0,4,8] [--json]

`openbell alpaca-sim` runs in its own process (stepped clock, inside a session); this process
holds the live trader's order path as `openbell live` wires it: the `Outbox` in front of
`AlpacaBroker` (alpaca-py's `TradingClient` through the lean session, its `TradingStream` reading
trade updates). Each round queues `--orders` limit buys from as many bots, flushes them with the
given number of sender threads, and cancels them at the simulator afterwards. Per worker count:
the median time from the flush starting to the last order arriving at the simulator, and the CPU
per order of this process (sending, answers, the `new` trade updates) and of the simulator.
No engine, no store, no bars: what is left of a live minute once those are free.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from application.engine import SettableClock  # noqa: E402
from application.outbox import Outbox  # noqa: E402
from domain.orders import Intent, OrderRequest, OrderType, Side, client_order_id  # noqa: E402
from infrastructure.alpaca.broker import AlpacaBroker  # noqa: E402
from infrastructure.alpaca.clients import trading_client, trading_stream  # noqa: E402
from infrastructure.alpaca.config import AlpacaConfig  # noqa: E402

sys.path.insert(0, str(ROOT / "bench"))
from live import start_simulator  # noqa: E402

DAY, MINUTE = date(2024, 11, 6), datetime(2024, 11, 6, 14, 31, tzinfo=UTC)
KEYS = {"APCA-API-KEY-ID": "sim-key", "APCA-API-SECRET-KEY": "sim-secret"}


def cpu_seconds(pid: int) -> float:
    """CPU time of all of a process's threads, in ns steps (/proc's stat counts 10 ms ticks)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        total += int(stat.read_text().split()[0])
    return total / 1e9


def burst(orders: int, round_no: int) -> list[OrderRequest]:
    """One order from each of `orders` bots, ids unique to the round."""
    bar = MINUTE - timedelta(minutes=round_no + 1)  # a distinct bar per round: fresh ids
    return [
        OrderRequest(
            client_order_id(UUID(int=n + 1), "AAPL", bar, Intent.ENTRY),
            "AAPL",
            Side.BUY,
            1,
            OrderType.LIMIT,
            limit_price=Decimal("1.00"),  # rests: no fills, the funds check stays small
        )
        for n in range(orders)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=80)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--workers", default="0,4,8", help="sender threads to compare")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]

    sim, url = start_simulator(["AAPL"], DAY)
    runs: dict[int, list[tuple[float, float, float]]] = {w: [] for w in counts}
    try:
        requests.post(f"{url}/admin/clock", json={"to": MINUTE.isoformat()}, timeout=5)
        config = AlpacaConfig.for_simulator(url)
        clock = SettableClock(MINUTE)
        broker = AlpacaBroker(trading_client(config), clock, trading_stream(config))
        broker.start()
        while requests.get(f"{url}/admin/state", timeout=5).json()["stream_clients"]["trading"] < 1:
            time.sleep(0.02)
        outboxes = {w: Outbox(broker, clock, w) for w in counts}
        for round_no in range(args.rounds + 1):  # the first round warms up, not counted
            for w in counts:
                orders = burst(args.orders, round_no * len(counts) + counts.index(w))
                for order in orders:
                    outboxes[w].submit(order)
                cpu, sim_cpu, started = time.process_time(), cpu_seconds(sim.pid), time.time()
                outboxes[w].flush()
                time.sleep(0.05)  # the trade updates of the burst arrive and are read
                cpu, sim_cpu = time.process_time() - cpu, cpu_seconds(sim.pid) - sim_cpu
                arrived = requests.get(f"{url}/admin/timings", timeout=5).json()
                last = max(arrived["orders_received"][o.client_order_id] for o in orders)
                requests.delete(f"{url}/v2/orders", headers=KEYS, timeout=5)
                time.sleep(0.05)
                if round_no:
                    n = args.orders
                    runs[w].append(((last - started) * 1000, cpu * 1000 / n, sim_cpu * 1000 / n))
        broker.close()
        for outbox in outboxes.values():
            outbox.close()
    finally:
        sim.terminate()
        sim.wait(10)

    report: dict[str, Any] = {"orders": args.orders, "rounds": args.rounds, "workers": {}}
    for w, rows in runs.items():
        report["workers"][str(w)] = {
            "last_arrival_ms": round(statistics.median(r[0] for r in rows), 1),
            "trader_cpu_ms_per_order": round(statistics.median(r[1] for r in rows), 3),
            "simulator_cpu_ms_per_order": round(statistics.median(r[2] for r in rows), 3),
        }
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{args.orders} orders from {args.orders} bots, medians of {args.rounds} bursts:")
        for w, row in report["workers"].items():
            print(
                f"  {w:>2} sender threads: last order arrives {row['last_arrival_ms']} ms after "
                f"the flush starts; CPU per order: this process "
                f"{row['trader_cpu_ms_per_order']} ms, simulator "
                f"{row['simulator_cpu_ms_per_order']} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
