"""API latency under load and projection throughput, on PostgreSQL.

Seeds 100 bots through the HTTP API and 1,000,000 trades into the trades read model (plain SQL:
the latency of reading them is what is measured), then a second process sends a concurrent mix of
bot CRUD and filtered trade-page requests to a real `openbell serve` for a fixed time and reports
p50/p99 per request kind: once as fast as the server answers (saturation), once paced at `--rate`
requests a second (latency counted from each request's scheduled start). Separately it replays
bars into a fresh schema and times the projections' catch-up (events/s).
Run: `.venv/bin/python bench/api.py [--seconds 15] [--rate 50] [--json]`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASE_URL = os.environ.get("OPENBELL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SYMBOLS = ["AAPL", "MSFT", "SPY", "NVDA", "AMZN", "GOOG", "META", "TSLA", "AMD", "NFLX"]
TARGET_P99_MS = 20.0


def bot_config(i: int, capital: int = 100_000) -> dict[str, Any]:
    return {
        "name": f"bench-{i:03d}",
        "capital": capital,
        "symbols": SYMBOLS[i % 10 : i % 10 + 1] or ["AAPL"],
        "indicators": {"RSI": {"period": 14}, "MACD": {}},
        "risk_management": {"stop_loss": 0.01, "take_profit": 0.02, "max_position_size": 0.2},
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(url: str, port: int) -> subprocess.Popen[bytes]:
    env = os.environ | {"OPENBELL_COMMAND_RATE_LIMIT": "100000000"}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/openbell"), "--database-url", url, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("error: the API server did not come up")


def seed_trades(conninfo: str, schema: str, bot_ids: list[str], count: int) -> float:
    started = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        conn.execute(
            """
            INSERT INTO rm_trades (id, bot_id, symbol, type, quantity, price, timestamp,
                                   indicators_snapshot, profit_loss, order_id, fee)
            SELECT g,
                   (%(bots)s::text[])[1 + g %% 100],
                   (%(symbols)s::text[])[1 + (g / 100) %% 10],
                   CASE WHEN g %% 2 = 0 THEN 'buy' ELSE 'sell' END,
                   1 + g %% 50,
                   to_char(100 + (g %% 5000) / 100.0, 'FM999990.00'),
                   to_char(timestamp '2024-01-02 14:30:00' + g * interval '1 second',
                           'YYYY-MM-DD"T"HH24:MI:SS.US+00:00'),
                   '{"indicators": {}, "rule": "seeded", "side": "buy", '
                   '"bar_time": "2024-01-02T14:30:00+00:00"}',
                   CASE WHEN g %% 2 = 1 THEN to_char((g %% 200) - 100, 'FM9990.00') END,
                   'ob-seed-' || g,
                   '0.00'
            FROM generate_series(1, %(count)s) AS g
            """,
            {"bots": bot_ids, "symbols": SYMBOLS, "count": count},
        )
        # Settled, as a table of that size would be: no autovacuum or checkpoint flushing the
        # seed's writes in the middle of the measured load.
        conn.execute("VACUUM ANALYZE rm_trades")
        conn.execute("CHECKPOINT")
    return time.perf_counter() - started


def load(
    base: str, token: str, bot_ids: list[str], seconds: float, threads: int, rate: float = 0
) -> None:
    """The second process: `threads` clients sending the request mix for `seconds`; JSON out.

    rate 0: each client sends its next request as soon as the last is answered (saturation).
    rate R: the clients together start R requests a second on a fixed schedule, and latency counts
    from the scheduled start, so a slow answer also delays the ones queued behind it.
    """
    interval = threads / rate if rate > 0 else 0.0
    samples: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(seed: int) -> None:
        rng = random.Random(seed)
        # The standard library's client: about a tenth of httpx's CPU per request, so the load
        # generator takes less of the two cores it shares with the server.
        http = LeanClient(base, {"Authorization": f"Bearer {token}"})
        due = time.perf_counter() + interval * seed / threads
        while time.monotonic() < stop_at:
            if interval:
                time.sleep(max(0.0, due - time.perf_counter()))
            i = rng.randrange(len(bot_ids))
            bot = bot_ids[i]
            kind = rng.choice(
                [
                    "get_bot",
                    "list_bots",
                    "update_bot",
                    "start_stop",
                    "trades_page",
                    "trades_page",
                    "trades_page",
                ]
            )
            began = due if interval else time.perf_counter()
            due += interval
            if kind == "get_bot":
                status = http.send("GET", f"/api/bots/{bot}")
            elif kind == "list_bots":
                status = http.send("GET", "/api/bots")
            elif kind == "update_bot":
                cfg = bot_config(i, capital=100_000 + rng.randrange(1, 1000))
                status = http.send("PUT", f"/api/bots/{bot}", cfg)
            elif kind == "start_stop":
                status = http.send("POST", f"/api/bots/{bot}/start")
                if status == 409:
                    status = http.send("POST", f"/api/bots/{bot}/stop")
            else:
                query = urlencode(
                    {"bot_id": bot, "symbol": SYMBOLS[rng.randrange(10)], "sort": "-timestamp"}
                )
                status = http.send("GET", f"/api/trades?{query}&limit=50")
            elapsed = (time.perf_counter() - began) * 1000
            with lock:
                if status >= 400 and status != 409:
                    errors[f"{kind} {status}"] = errors.get(f"{kind} {status}", 0) + 1
                samples.setdefault(kind, []).append(elapsed)
        http.close()

    workers = [threading.Thread(target=client, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(json.dumps({"samples": samples, "errors": errors}))


class LeanClient:
    """One keep-alive HTTP/1.1 connection: send a request, read the whole answer, its status."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        parts = urlsplit(base)
        self._address = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._headers = headers
        self._connection = http.client.HTTPConnection(*self._address, timeout=10)

    def send(self, method: str, path: str, body: Any = None) -> int:
        headers = dict(self._headers)
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            self._connection.request(method, path, payload, headers)
            response = self._connection.getresponse()
            response.read()
        except (http.client.HTTPException, OSError):
            self._connection.close()  # a broken keep-alive: the next request reconnects
            return 599
        return response.status

    def close(self) -> None:
        self._connection.close()


def run_load(
    base: str, token: str, bot_ids: list[str], seconds: float, threads: int, rate: float
) -> dict[str, Any]:
    """One load run from a second process: request counts, errors and latency per kind."""
    load_args = [str(seconds), str(threads), str(rate)]
    worker = subprocess.run(
        [sys.executable, __file__, "--worker", base, token, ",".join(bot_ids), *load_args],
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=True,
    )
    outcome = json.loads(worker.stdout)
    total = sum(len(v) for v in outcome["samples"].values())
    return {
        "load": {
            "seconds": seconds,
            "threads": threads,
            "rate": rate,
            "requests": total,
            "requests_per_second": round(total / seconds, 1),
            "errors": outcome["errors"],
        },
        "latency": {
            kind: {
                "requests": len(v),
                "p50_ms": round(percentile(v, 0.5), 2),
                "p99_ms": round(percentile(v, 0.99), 2),
                "mean_ms": round(statistics.fmean(v), 2),
            }
            for kind, v in sorted(outcome["samples"].items())
        },
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def projection_throughput(conninfo: str) -> dict[str, Any]:
    from application.bot_config import parse_bot_config
    from application.replay import replay
    from infrastructure.bars_io import load_bars, write_bars_csv
    from infrastructure.bootstrap import build_application
    from infrastructure.sample_data import generate_bars, sessions_between
    from infrastructure.sim_broker import SimulatedBroker
    from projections.db import ReadModelDatabase
    from projections.runner import ProjectionRunner

    schema = f"bench_proj_{os.getpid()}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{conninfo}?schema={schema}"
    try:
        days = sessions_between(date(2023, 1, 3), date(2023, 1, 13))
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "bars.csv"
            write_bars_csv(generate_bars(["AAPL", "MSFT"], days, 11), path)
            bars = load_bars([path])
        configs = [
            parse_bot_config(
                bot_config(i) | {"symbols": ["AAPL", "MSFT"], "end_hour": 16, "min_votes": 1}
            )
            for i in range(3)
        ]
        app = build_application(url)
        replay(app, bars, configs, SimulatedBroker, "bench-api")
        events = app.recorder.max_notification_id() or 0
        db = ReadModelDatabase(url)
        runner = ProjectionRunner(app, db)
        started = time.perf_counter()
        updates = runner.catch_up()
        seconds = time.perf_counter() - started
        db.close()
        app.close()
        return {
            "events": events,
            "projection_updates": updates,
            "seconds": round(seconds, 3),
            "events_per_second": round(events / seconds),
            "bars": len(bars),
        }
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="load duration")
    parser.add_argument("--threads", type=int, default=8, help="concurrent clients")
    parser.add_argument(
        "--rate", type=float, default=50.0, help="requests/s of the paced run (default 50)"
    )
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    conninfo = BASE_URL.split("?")[0]
    schema = f"bench_api_{os.getpid()}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    url = f"{conninfo}?schema={schema}"
    port = free_port()
    server = start_server(url, port)
    base = f"http://127.0.0.1:{port}"
    report: dict[str, Any] = {
        "machine": {
            "system": platform.platform(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
        },
    }
    try:
        from infrastructure.tokens import TokenStore
        from projections.db import ReadModelDatabase

        db = ReadModelDatabase(url)
        _, token = TokenStore(db).create("bench")
        db.close()
        headers = {"Authorization": f"Bearer {token}"}
        create_ms, bot_ids = [], []
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            for i in range(100):
                began = time.perf_counter()
                r = http.post("/api/bots", json=bot_config(i))
                create_ms.append((time.perf_counter() - began) * 1000)
                r.raise_for_status()
                bot_ids.append(r.json()["bot_id"])
            http.get("/api/bots", params={"after": r.json()["position"]}).raise_for_status()
        seed_seconds = seed_trades(conninfo, schema, bot_ids, args.trades)
        report |= {
            "bots": 100,
            "trades": args.trades,
            "seed_seconds": round(seed_seconds, 1),
            "create_bot": {
                "p50_ms": round(percentile(create_ms, 0.5), 2),
                "p99_ms": round(percentile(create_ms, 0.99), 2),
            },
            "runs": [
                run_load(base, token, bot_ids, args.seconds, args.threads, 0.0),
                run_load(base, token, bot_ids, args.seconds, args.threads, args.rate),
            ],
            "target_p99_ms": TARGET_P99_MS,
        }
    finally:
        server.terminate()
        server.wait(timeout=30)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
    report["projections"] = projection_throughput(conninfo)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print("Openbell API benchmark (PostgreSQL)")
    print(
        f"  machine       {report['machine']['system']}, {report['machine']['cpus']} CPUs, "
        f"Python {report['machine']['python']}"
    )
    print(
        f"  data          100 bots (HTTP), {args.trades:,} trades (seeded in "
        f"{report['seed_seconds']} s)"
    )
    print(
        f"  create bot    p50 {report['create_bot']['p50_ms']} ms, "
        f"p99 {report['create_bot']['p99_ms']} ms (unloaded)"
    )
    for run in report["runs"]:
        ld = run["load"]
        pace = f"paced at {ld['rate']:g} req/s" if ld["rate"] else "as fast as answered"
        print(
            f"  load          {ld['threads']} clients in a second process, {pace}, "
            f"{ld['seconds']} s: {ld['requests']:,} requests, {ld['requests_per_second']} req/s, "
            f"errors {ld['errors']}"
        )
        for kind, row in run["latency"].items():
            met = "met" if row["p99_ms"] < TARGET_P99_MS else "NOT met"
            print(
                f"    {kind:<11} p50 {row['p50_ms']:>7} ms  p99 {row['p99_ms']:>7} ms  "
                f"({row['requests']:,} requests; p99 < {TARGET_P99_MS:g} ms {met})"
            )
    pr = report["projections"]
    print(
        f"  projections   {pr['events']:,} events from {pr['bars']:,} bars caught up in "
        f"{pr['seconds']} s: {pr['events_per_second']:,} events/s"
    )
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        base, token, bots, seconds, threads, rate = sys.argv[2:8]
        load(base, token, bots.split(","), float(seconds), int(threads), float(rate))
        sys.exit(0)
    sys.exit(main())
