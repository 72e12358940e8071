"""Replay throughput: Openbell's event-sourced replay against backtesting.py on the same bars.

    .venv/bin/python bench/replay.py [--bars 100000] [--symbols 1] [--repeat 3]
        [--database-url postgresql://USER@HOST:PORT/DB] [--json]

Measurements on N synthetic one-minute bars of one or more symbols:

* load: `load_bars` reading (and validating) the bars from a CSV file;
* Openbell: `application.replay.replay` with one bot (RSI + MACD + SMA + BBANDS) on every symbol
  and the simulated broker, including saving every event to a fresh SQLite file and, with
  --database-url, to a fresh schema of that PostgreSQL database, side by side, with each run's
  peak RSS;
* backtesting.py: `Backtest.run` of a classic SMA(10)/SMA(30) crossover on the same bars (one
  Backtest per symbol).

Each is repeated --repeat times; the report gives the median (and the range). The Openbell
runs must all produce the same event digest, on every store, else the script exits with status 1.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from application.bot_config import parse_bot_config
from application.replay import replay
from domain.bars import BAR_LENGTH, Bar
from domain.calendar import LAST_YEAR, session_on
from domain.config import BotConfig
from infrastructure.bars_io import load_bars, write_bars_csv
from infrastructure.bootstrap import build_application
from infrastructure.heap import frozen_heap, quick_gil_handover
from infrastructure.sample_data import generate_bars, sessions_between
from infrastructure.sim_broker import SimulatedBroker

TARGET_BARS_PER_SECOND = 100_000
SYMBOLS = ("AAPL", "MSFT", "SPY", "NVDA", "AMZN")
SYMBOL = SYMBOLS[0]
FIRST_DAY = date(2023, 1, 3)
SEED = 7
START_PRICE = Decimal("190.00")

BOT_CONFIG: dict[str, Any] = {
    "name": "bench",
    "capital": 100_000,
    "trading_frequency": 60,
    "symbols": [SYMBOL],
    "indicators": {
        "RSI": {"period": 14},
        "MACD": {"fast": 12, "slow": 26, "signal": 9},
        "SMA": {"period": 50},
        "BBANDS": {"period": 20, "std": 2},
    },
    "risk_management": {
        "stop_loss": 0.005,
        "take_profit": 0.01,
        "max_position_size": 0.5,
        "max_positions": 1,
    },
    "start_hour": 9,
    "start_minute": 30,
    "end_hour": 16,
    "end_minute": 0,
    "min_votes": 2,
}


# ------------------------------------------------------------------------------ data


def session_days(bars: int) -> list[date]:
    """The first session days from FIRST_DAY that hold at least `bars` one-minute bars."""
    span = bars // 390 * 365 // 252 + 30
    while True:
        end = FIRST_DAY + timedelta(days=span)
        if end.year > LAST_YEAR:
            end = date(LAST_YEAR, 12, 31)
        days, total = [], 0
        for day in sessions_between(FIRST_DAY, end):
            session = session_on(day)
            assert session is not None
            days.append(day)
            total += (session.close - session.open) // BAR_LENGTH
            if total >= bars:
                return days
        if end.year == LAST_YEAR:
            raise SystemExit(f"error: the calendar holds only {total} bars from {FIRST_DAY}")
        span *= 2


def make_bars(count: int, symbols: Sequence[str] = (SYMBOL,)) -> tuple[list[Bar], int]:
    """Exactly `count` bars of `symbols` in time order, and the number of sessions they span."""
    days = session_days(-(-count // len(symbols)))
    bars = generate_bars(symbols, days, SEED, dict.fromkeys(symbols, START_PRICE))
    bars.sort(key=lambda b: (b.timestamp, b.symbol))
    return bars[:count], len(days)


def to_frame(bars: Sequence[Bar]) -> pd.DataFrame:
    """The bars as backtesting.py wants them: float OHLCV columns on a DatetimeIndex."""
    return pd.DataFrame(
        {
            "Open": [float(b.open) for b in bars],
            "High": [float(b.high) for b in bars],
            "Low": [float(b.low) for b in bars],
            "Close": [float(b.close) for b in bars],
            "Volume": [float(b.volume) for b in bars],
        },
        index=pd.DatetimeIndex([b.timestamp for b in bars], name="Time"),
    )


# ------------------------------------------------------------------------- measuring


@dataclass(frozen=True, slots=True)
class Rate:
    """Bars per second over repeated runs of the same work."""

    bars: int
    seconds: list[float]

    @property
    def rates(self) -> list[float]:
        return [self.bars / s if s > 0 else float("inf") for s in self.seconds]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)

    def to_dict(self) -> dict[str, Any]:
        rates = self.rates
        return {
            "median": round(self.median),
            "min": round(min(rates)),
            "max": round(max(rates)),
            "seconds": [round(s, 4) for s in self.seconds],
        }


def timed[T](work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


def bench_load(bars: Sequence[Bar], directory: Path, repeat: int) -> tuple[Rate, list[Bar]]:
    """Time load_bars; the loaded bars (as `openbell replay` gets them) feed the replay runs."""
    path = directory / "bars.csv"
    write_bars_csv(bars, path)
    seconds = []
    loaded: list[Bar] = []
    for _ in range(repeat):
        loaded, elapsed = timed(lambda: load_bars([path]))
        if loaded != list(bars):
            raise SystemExit("error: load_bars did not return the bars that were written")
        seconds.append(elapsed)
    return Rate(len(bars), seconds), loaded


@dataclass(frozen=True, slots=True)
class Store:
    """Where a run's events go: a fresh SQLite file in `base` (a directory), or a fresh schema
    of the PostgreSQL database at `base` (a URL), dropped after the run."""

    name: str
    base: str

    @property
    def postgres(self) -> bool:
        return self.base.startswith("postgres")

    @contextmanager
    def fresh(self, label: str) -> Iterator[str]:
        if not self.postgres:
            yield f"sqlite:///{self.base}/{label}/bench.sqlite"
            return
        import psycopg

        schema = f"bench_replay_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.base, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        try:
            yield f"{self.base}?schema={schema}"
        finally:
            with psycopg.connect(self.base, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


def reset_peak_rss() -> bool:
    """Start the kernel's peak-RSS count afresh (Linux), so each run reports its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """This process's peak RSS since the last reset (else since it started), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


@dataclass(frozen=True, slots=True)
class OpenbellRun:
    store: str
    rate: Rate
    digests: list[str]
    events: int
    trades: int
    return_pct: Decimal
    peak_rss_mb: list[float]


def bench_openbell(
    bars: Sequence[Bar], config: BotConfig, stores: Sequence[Store], label: str, repeat: int
) -> list[OpenbellRun]:
    """Each store's runs, taken in turn (SQLite, PostgreSQL, SQLite, ...): a machine whose
    load drifts weighs on both alike."""
    results: dict[str, list[tuple[float, str, float]]] = {s.name: [] for s in stores}
    summary: dict[str, tuple[int, int, Decimal]] = {}
    for run in range(repeat):
        for store in stores:
            with store.fresh(f"{label}-{run}") as url:
                app = build_application(url)
                try:
                    reset_peak_rss()
                    with frozen_heap(), quick_gil_handover():  # as `openbell replay` runs it
                        result, elapsed = timed(
                            lambda app=app: replay(app, bars, [config], SimulatedBroker, "bench")
                        )
                    peak = peak_rss_mb()
                finally:
                    app.close()
            if result.bars != len(bars):
                raise SystemExit(f"error: replay ran {result.bars} bars, expected {len(bars)}")
            bot = result.bots[0]
            results[store.name].append((elapsed, bot.digest, peak))
            summary[store.name] = (bot.events, bot.trades, bot.return_pct)
    return [
        OpenbellRun(
            name,
            Rate(len(bars), [r[0] for r in runs]),
            [r[1] for r in runs],
            *summary[name],
            [r[2] for r in runs],
        )
        for name, runs in results.items()
    ]


@dataclass(frozen=True, slots=True)
class PeerRun:
    version: str
    rate: Rate
    trades: int
    return_pct: float


def bench_backtesting(frames: Sequence[pd.DataFrame], repeat: int) -> PeerRun:
    """SMA(10)/SMA(30) crossover with backtesting.py, one Backtest per symbol's frame (its
    progress bar off: best case); a run's time is the sum over the symbols."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # read by tqdm when backtesting imports it
    import backtesting
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover

    class SmaCross(Strategy):
        fast = 10
        slow = 30

        def init(self) -> None:
            close = pd.Series(self.data.Close)
            self.sma_fast = self.I(lambda: close.rolling(self.fast).mean().to_numpy())
            self.sma_slow = self.I(lambda: close.rolling(self.slow).mean().to_numpy())

        def next(self) -> None:
            if crossover(self.sma_fast, self.sma_slow):
                self.buy()
            elif crossover(self.sma_slow, self.sma_fast):
                self.sell()

    seconds = []
    trades, return_pct = 0, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(repeat):
            total, trades, return_pct = 0.0, 0, 0.0
            for frame in frames:
                test = Backtest(
                    frame,
                    SmaCross,
                    cash=100_000,
                    commission=0,
                    exclusive_orders=True,
                    finalize_trades=True,
                )
                stats, elapsed = timed(test.run)
                total += elapsed
                trades += int(stats["# Trades"])
                return_pct += float(stats["Return [%]"]) / len(frames)
            seconds.append(total)
    bars = sum(len(frame) for frame in frames)
    return PeerRun(backtesting.__version__, Rate(bars, seconds), trades, return_pct)


# ---------------------------------------------------------------------------- report


def cpu_model() -> str | None:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Hardware", "Processor") and value.strip():
            return value.strip()
    return None


def machine() -> dict[str, Any]:
    uname = platform.uname()
    return {
        "system": f"{uname.system} {uname.release}",
        "machine": uname.machine,
        "processor": platform.processor() or None,
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
    }


def run_report(openbell: OpenbellRun, peer: PeerRun) -> dict[str, Any]:
    median = openbell.rate.median
    return {
        "store": openbell.store,
        "bars_per_second": openbell.rate.to_dict(),
        "peak_rss_mib": round(max(openbell.peak_rss_mb), 1),
        "events": openbell.events,
        "trades": openbell.trades,
        "return_pct": str(openbell.return_pct),
        "digest": openbell.digests[0],
        "digests_match": len(set(openbell.digests)) == 1,
        "digests": openbell.digests,
        "ratio_to_backtesting_py": round(median / peer.rate.median, 3),
        "target_met": median >= TARGET_BARS_PER_SECOND,
    }


def build_report(
    count: int,
    symbols: Sequence[str],
    sessions: int,
    repeat: int,
    load: Rate,
    full: Sequence[OpenbellRun],
    opening: Sequence[OpenbellRun],
    peer: PeerRun,
) -> dict[str, Any]:
    return {
        "machine": machine(),
        "bars": count,
        "symbols": list(symbols),
        "sessions": sessions,
        "repeat": repeat,
        "openbell_load": {"bars_per_second": load.to_dict()},
        "openbell_replay": [run_report(run, peer) for run in full],
        "openbell_replay_opening_window": [run_report(run, peer) for run in opening],
        "opening_window": "09:30-12:00 (the default)",
        "backtesting_py": {
            "version": peer.version,
            "bars_per_second": peer.rate.to_dict(),
            "trades": peer.trades,
            "return_pct": round(peer.return_pct, 2),
        },
        "target_bars_per_second": TARGET_BARS_PER_SECOND,
    }


def print_text(report: dict[str, Any]) -> None:
    m = report["machine"]
    load = report["openbell_load"]["bars_per_second"]
    bt = report["backtesting_py"]
    btr = bt["bars_per_second"]

    def row(label: str, *values: object) -> None:
        print(f"  {label:<30} " + "".join(f"{v!s:<46}" for v in values).rstrip())

    def rate(r: dict[str, Any]) -> str:
        return f"{r['median']:>9,} bars/s (min {r['min']:,}, max {r['max']:,})"

    print("Openbell replay benchmark")
    row("machine", f"{m['system']} {m['machine']}, {m['cpu_count']} CPUs")
    row("cpu", m["cpu_model"] or m["processor"] or "unknown")
    row("python", m["python"])
    symbols = ", ".join(report["symbols"])
    row("bars", f"{report['bars']:,} x 1 min {symbols} ({report['sessions']} sessions)")
    row("repetitions", report["repeat"])
    row("load_bars (CSV)", rate(load))
    for title, key in (
        ("Openbell, full session", "openbell_replay"),
        ("Openbell, 09:30-12:00 window", "openbell_replay_opening_window"),
    ):
        runs = report[key]
        print()
        row(title, *(r["store"] for r in runs))
        row("  replay + persist", *(rate(r["bars_per_second"]) for r in runs))
        row(
            "  seconds per run",
            *(", ".join(f"{s:.2f}" for s in r["bars_per_second"]["seconds"]) for r in runs),
        )
        row("  peak RSS", *(f"{r['peak_rss_mib']:,.0f} MiB" for r in runs))
        row("  events written", *(f"{r['events']:,}" for r in runs))
        row("  trades", *(f"{r['trades']:,} (return {r['return_pct']}%)" for r in runs))
        row("  digest", *(r["digest"][:16] + "…" for r in runs))
        row("  same digest every run", *("yes" if r["digests_match"] else "NO" for r in runs))
        row("  / backtesting.py", *(f"{r['ratio_to_backtesting_py']:.2f}x" for r in runs))
        target = report["target_bars_per_second"]
        row(f"  >= {target:,} bars/s", *("met" if r["target_met"] else "NOT met" for r in runs))
    print()
    row(f"backtesting.py {bt['version']} SMA cross", rate(btr))
    row("  seconds per run", ", ".join(f"{s:.2f}" for s in btr["seconds"]))
    row("  trades", f"{bt['trades']:,}  (return {bt['return_pct']}%)")


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def symbol_count(text: str) -> int:
    value = positive(text)
    if value > len(SYMBOLS):
        raise argparse.ArgumentTypeError(f"at most {len(SYMBOLS)} symbols, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=positive, default=100_000, help="bars (default: 100000)")
    parser.add_argument(
        "--symbols", type=symbol_count, default=1, help="symbols the bars and the bot have (1-5)"
    )
    parser.add_argument("--repeat", type=positive, default=3, help="runs of each (default: 3)")
    parser.add_argument(
        "--database-url",
        metavar="postgresql://...",
        help="also replay into fresh schemas of this PostgreSQL database, beside SQLite",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    symbols = SYMBOLS[: args.symbols]
    config = parse_bot_config(BOT_CONFIG | {"symbols": list(symbols)})
    opening_config = parse_bot_config(BOT_CONFIG | {"symbols": list(symbols), "end_hour": 12})
    bars, sessions = make_bars(args.bars, symbols)
    frames = [to_frame([b for b in bars if b.symbol == symbol]) for symbol in symbols]
    with tempfile.TemporaryDirectory(prefix="openbell-bench-") as tmp:
        directory = Path(tmp)
        load, loaded = bench_load(bars, directory, args.repeat)
        del bars
        stores = [Store("SQLite", str(directory))]
        if args.database_url:
            stores.append(Store("PostgreSQL", args.database_url))
        full = bench_openbell(loaded, config, stores, "full", args.repeat)
        opening = bench_openbell(loaded, opening_config, stores, "open", args.repeat)
    peer = bench_backtesting(frames, args.repeat)

    report = build_report(len(loaded), symbols, sessions, args.repeat, load, full, opening, peer)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_text(report)
    for runs in (report["openbell_replay"], report["openbell_replay_opening_window"]):
        digests = {d for r in runs for d in r["digests"]}
        if len(digests) != 1:
            print("error: the replays did not all give the same digest", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
