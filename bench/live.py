"""Live trading latency: 100 bots x 5 symbols through alpaca-py against `openbell alpaca-sim`.

    .venv/bin/python bench/live.py [--bots 100] [--minutes 60] [--speed 120] [--json]

The simulator runs in its own process over generated bars (a session of history, then the
traded session) at `--speed` times real time. The live trader (`application/live.py`, wired to
the Alpaca adapters as `openbell live` wires it) runs in this process with its bots in a fresh
SQLite store. The simulator stamps, in wall-clock time on this machine, when each minute's bars
leave it and when each order arrives; an order's latency is its arrival minus the departure of
the bar its client order id names (entries, exits and flattening; protective orders follow a
fill, not a bar). CPU is this process's user + system time over the traded minutes (the trader,
alpaca-py's stream threads and the SQLite writes), and the simulator's, from /proc.
Target: p99 < 50 ms. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from application.bot_config import parse_bot_config  # noqa: E402
from application.service import bot_id_for  # noqa: E402
from domain.calendar import session_on  # noqa: E402
from infrastructure.alpaca.config import AlpacaConfig  # noqa: E402
from infrastructure.alpaca.live import build_live_trader, tune_interpreter  # noqa: E402
from infrastructure.bootstrap import build_application  # noqa: E402

SYMBOLS = ["AAPL", "AMZN", "MSFT", "NVDA", "SPY"]
DAY = date(2024, 11, 6)
INDICATOR_SETS: list[dict[str, Any]] = [
    {"RSI": {"period": 14, "oversold": 40, "overbought": 60}, "MACD": {}},
    {"SMA": {"period": 20}, "BBANDS": {"period": 20, "std": 2}},
    {"STOCH": {"k": 14, "d": 3, "smooth": 3, "oversold": 30, "overbought": 70}, "VOLUME_SMA": {}},
    {"EMA": {"period": 9}, "OBV": {}, "RSI": {"period": 7}},
]


def bot_config(n: int) -> dict[str, Any]:
    symbols = [SYMBOLS[(n + k) % len(SYMBOLS)] for k in range(2 + n % 3)]
    return {
        "name": f"bench-{n:03d}",
        "capital": 50000,
        "trading_frequency": 60,
        "symbols": symbols,
        "indicators": INDICATOR_SETS[n % len(INDICATOR_SETS)],
        "risk_management": {
            "stop_loss": 0.01,
            "take_profit": 0.02,
            "max_position_size": 0.1,
            "max_daily_loss": 0.05,
            "max_positions": 3,
        },
        "start_hour": 9, "start_minute": 30, "end_hour": 16, "end_minute": 0,
        "min_votes": 1,
    }  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_simulator(symbols: list[str], day: date) -> tuple[subprocess.Popen[bytes], str]:
    """`openbell alpaca-sim` in its own process (stepped clock, a session of history before
    `day`), once it answers; and its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    sim = subprocess.Popen(
        [sys.executable, "-m", "infrastructure.cli.main", "alpaca-sim", "--port", str(port),
         "--speed", "0", "--generate", ",".join(symbols), "--day", day.isoformat(),
         "--history-days", "1", "--seed", "7"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(200):
        try:
            requests.get(f"{url}/admin/state", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.05)
    return sim, url


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def text(r: dict[str, Any]) -> str:
    lat, machine = r["latency_ms"], r["machine"]
    return "\n".join(
        (
            f"live: {r['bots']} bots x {r['symbols']} symbols, {r['market_minutes']} market "
            f"minutes at {r['speed']:g}x in {r['wall_seconds']} s "
            f"on {machine['system']} ({machine['cpus']} cpus)",
            f"  bar leaves the simulator -> order arrives: p50 {lat['p50']} ms, "
            f"p90 {lat['p90']} ms, p99 {lat['p99']} ms, max {lat['max']} ms over "
            f"{r['orders_measured']} orders ({r['orders_total']} in all; target p99 < 50 ms)",
            f"  CPU: trader {r['trader_cpu_seconds']} s "
            f"({r['trader_cpu_percent_of_one_core']}% of one core), "
            f"simulator {r['simulator_cpu_seconds']} s; trader {r['bars']}",
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bots", type=int, default=100)
    parser.add_argument("--minutes", type=int, default=60, help="market minutes traded")
    parser.add_argument("--speed", type=float, default=120.0, help="market seconds per second")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    sim, url = start_simulator(SYMBOLS, DAY)
    stop = threading.Event()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            app = build_application(f"sqlite:///{tmp}/bench.sqlite")
            session = session_on(DAY)
            assert session is not None
            opened = session.open.astimezone(UTC)
            for n in range(args.bots):
                config = parse_bot_config(bot_config(n))
                bot_id = bot_id_for(config.name, "bench-live")
                app.create_bot(bot_id, config, opened)
                app.run_command(bot_id, "start", opened)
            tune_interpreter()  # as `openbell live` does
            trader = build_live_trader(app, AlpacaConfig.for_simulator(url), min_backoff=0.05)
            thread = threading.Thread(target=trader.run, args=(stop,), daemon=True)
            thread.start()
            while not trader.ready.wait(0.05):
                if not thread.is_alive():
                    raise SystemExit("the live trader did not start")
            while requests.get(f"{url}/admin/state", timeout=5).json()["stream_clients"] != {
                "data": 1,
                "trading": 1,
            }:
                time.sleep(0.02)
            before, sim_before, wall = (
                resource.getrusage(resource.RUSAGE_SELF),
                cpu_seconds(sim.pid),
                time.monotonic(),
            )
            requests.post(f"{url}/admin/clock", json={"speed": args.speed}, timeout=5)
            end = opened + timedelta(minutes=args.minutes)
            # The trader shares this process: sleep through the session instead of polling it.
            time.sleep(max(0.0, args.minutes * 60 / args.speed - 1))
            while (
                datetime.fromisoformat(requests.get(f"{url}/admin/state", timeout=5).json()["now"])
                < end
            ):
                time.sleep(0.05)
            requests.post(f"{url}/admin/clock", json={"speed": 0}, timeout=5)
            time.sleep(0.5)
            after, sim_after, elapsed = (
                resource.getrusage(resource.RUSAGE_SELF),
                cpu_seconds(sim.pid),
                time.monotonic() - wall,
            )
            stop.set()
            thread.join(30)
            timings = requests.get(f"{url}/admin/timings", timeout=5).json()
    finally:
        stop.set()
        sim.terminate()
        sim.wait(10)

    sent = {datetime.fromisoformat(k): v for k, v in timings["bars_sent"].items()}
    latencies = []
    for cid, arrived in timings["orders_received"].items():
        parts = cid.split("-")
        if len(parts) < 5 or parts[-1] == "protect":
            continue
        minute = datetime.strptime(parts[-2], "%Y%m%d%H%M").replace(tzinfo=UTC)
        if minute in sent:
            latencies.append((arrived - sent[minute]) * 1000)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    report = {
        "bots": args.bots,
        "symbols": len(SYMBOLS),
        "market_minutes": args.minutes,
        "speed": args.speed,
        "wall_seconds": round(elapsed, 2),
        "orders_measured": len(latencies),
        "orders_total": len(timings["orders_received"]),
        "latency_ms": {
            "p50": round(statistics.median(latencies), 2) if latencies else None,
            "p90": round(percentile(latencies, 0.90), 2) if latencies else None,
            "p99": round(percentile(latencies, 0.99), 2) if latencies else None,
            "max": round(max(latencies), 2) if latencies else None,
        },
        "trader_cpu_seconds": round(cpu, 2),
        "trader_cpu_percent_of_one_core": round(100 * cpu / elapsed, 1),
        "simulator_cpu_seconds": round(sim_after - sim_before, 2),
        "bars": trader.stats,
        "machine": {
            "system": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
    }
    print(json.dumps(report) if args.json else text(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
