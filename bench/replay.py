"""Replay throughput: Openbell's event-sourced replay against backtesting.py on the same bars.

    .venv/bin/python bench/replay.py [--bars 100000] [--repeat 3] [--json]

Three measurements on one synthetic symbol of N one-minute bars:

* load: `load_bars` reading (and validating) the bars from a CSV file;
* Openbell: `application.replay.replay` with one bot (RSI + MACD + SMA + BBANDS) and the
  simulated broker, including saving every event to a fresh SQLite file;
* backtesting.py: `Backtest.run` of a classic SMA(10)/SMA(30) crossover on the same bars.

Each is repeated --repeat times; the report gives the median (and the range). The Openbell
runs must all produce the same event digest, else the script exits with status 1.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
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
from infrastructure.heap import frozen_heap
from infrastructure.sample_data import generate_bars, sessions_between
from infrastructure.sim_broker import SimulatedBroker

TARGET_BARS_PER_SECOND = 100_000
SYMBOL = "AAPL"
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


def make_bars(count: int) -> tuple[list[Bar], int]:
    """Exactly `count` bars for SYMBOL, and the number of sessions they come from."""
    days = session_days(count)
    bars = generate_bars([SYMBOL], days, SEED, {SYMBOL: START_PRICE})
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
class OpenbellRun:
    rate: Rate
    digests: list[str]
    events: int
    trades: int
    return_pct: Decimal


def bench_openbell(
    bars: Sequence[Bar], config: BotConfig, directory: Path, repeat: int
) -> OpenbellRun:
    seconds, digests = [], []
    events = trades = 0
    return_pct = Decimal(0)
    for run in range(repeat):
        app = build_application(f"sqlite:///{directory}/openbell-{run}/bench.sqlite")
        try:
            with frozen_heap():  # as `openbell replay` runs it
                result, elapsed = timed(
                    lambda app=app: replay(app, bars, [config], SimulatedBroker, "bench")
                )
        finally:
            app.close()
        if result.bars != len(bars):
            raise SystemExit(f"error: replay ran {result.bars} bars, expected {len(bars)}")
        bot = result.bots[0]
        seconds.append(elapsed)
        digests.append(bot.digest)
        events, trades, return_pct = bot.events, bot.trades, bot.return_pct
    return OpenbellRun(Rate(len(bars), seconds), digests, events, trades, return_pct)


@dataclass(frozen=True, slots=True)
class PeerRun:
    version: str
    rate: Rate
    trades: int
    return_pct: float


def bench_backtesting(frame: pd.DataFrame, repeat: int) -> PeerRun:
    """SMA(10)/SMA(30) crossover with backtesting.py, its progress bar off (best case)."""
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
            test = Backtest(
                frame,
                SmaCross,
                cash=100_000,
                commission=0,
                exclusive_orders=True,
                finalize_trades=True,
            )
            stats, elapsed = timed(test.run)
            seconds.append(elapsed)
            trades, return_pct = int(stats["# Trades"]), float(stats["Return [%]"])
    return PeerRun(backtesting.__version__, Rate(len(frame), seconds), trades, return_pct)


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


def build_report(
    count: int,
    sessions: int,
    repeat: int,
    load: Rate,
    openbell: OpenbellRun,
    peer: PeerRun,
) -> dict[str, Any]:
    median = openbell.rate.median
    return {
        "machine": machine(),
        "bars": count,
        "symbol": SYMBOL,
        "sessions": sessions,
        "repeat": repeat,
        "openbell_load": {"bars_per_second": load.to_dict()},
        "openbell_replay": {
            "bars_per_second": openbell.rate.to_dict(),
            "events": openbell.events,
            "trades": openbell.trades,
            "return_pct": str(openbell.return_pct),
            "digest": openbell.digests[0],
            "digests_match": len(set(openbell.digests)) == 1,
            "digests": openbell.digests,
        },
        "backtesting_py": {
            "version": peer.version,
            "bars_per_second": peer.rate.to_dict(),
            "trades": peer.trades,
            "return_pct": round(peer.return_pct, 2),
        },
        "ratio_openbell_to_backtesting_py": round(median / peer.rate.median, 3),
        "target_bars_per_second": TARGET_BARS_PER_SECOND,
        "target_met": median >= TARGET_BARS_PER_SECOND,
    }


def print_text(report: dict[str, Any]) -> None:
    m = report["machine"]
    load = report["openbell_load"]["bars_per_second"]
    ob = report["openbell_replay"]
    obr = ob["bars_per_second"]
    bt = report["backtesting_py"]
    btr = bt["bars_per_second"]

    def row(label: str, value: object) -> None:
        print(f"  {label:<30} {value}")

    def rate(r: dict[str, Any]) -> str:
        return f"{r['median']:>10,} bars/s median  (min {r['min']:,}, max {r['max']:,})"

    print("Openbell replay benchmark")
    row("machine", f"{m['system']} {m['machine']}, {m['cpu_count']} CPUs")
    row("cpu", m["cpu_model"] or m["processor"] or "unknown")
    row("python", m["python"])
    row("bars", f"{report['bars']:,} x 1 min {report['symbol']} ({report['sessions']} sessions)")
    row("repetitions", report["repeat"])
    print()
    row("load_bars (CSV)", rate(load))
    row("Openbell, full session", rate(obr))
    row("  seconds per run", ", ".join(f"{s:.2f}" for s in obr["seconds"]))
    row("  events written", f"{ob['events']:,}")
    row("  trades", f"{ob['trades']:,}  (return {ob['return_pct']}%)")
    row("  digest", ob["digest"])
    same = "yes" if ob["digests_match"] else "NO: " + ", ".join(ob["digests"])
    row("  same digest every run", same)
    row(f"backtesting.py {bt['version']} SMA cross", rate(btr))
    row("  seconds per run", ", ".join(f"{s:.2f}" for s in btr["seconds"]))
    row("  trades", f"{bt['trades']:,}  (return {bt['return_pct']}%)")
    opening = report["openbell_replay_opening_window"]
    row("Openbell, 09:30-12:00 window", rate(opening["bars_per_second"]))
    row("  events written", f"{opening['events']:,}")
    row("  trades", f"{opening['trades']:,}")
    print()
    target = report["target_bars_per_second"]
    row(
        "Openbell / backtesting.py",
        f"{report['ratio_openbell_to_backtesting_py']:.2f}x full session, "
        f"{opening['ratio_to_backtesting_py']:.2f}x opening window",
    )
    met = "met" if report["target_met"] else "NOT met"
    row(
        "target",
        f">= {target:,} bars/s replay + persist: full session {met}, "
        f"opening window {'met' if opening['target_met'] else 'NOT met'}",
    )


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bars", type=positive, default=100_000, help="bars (default: 100000)")
    parser.add_argument("--repeat", type=positive, default=3, help="runs of each (default: 3)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    config = parse_bot_config(BOT_CONFIG)
    opening_config = parse_bot_config(BOT_CONFIG | {"end_hour": 12})
    bars, sessions = make_bars(args.bars)
    frame = to_frame(bars)
    with tempfile.TemporaryDirectory(prefix="openbell-bench-") as tmp:
        directory = Path(tmp)
        load, loaded = bench_load(bars, directory, args.repeat)
        openbell = bench_openbell(loaded, config, directory / "full", args.repeat)
        opening = bench_openbell(loaded, opening_config, directory / "opening", args.repeat)
    peer = bench_backtesting(frame, args.repeat)

    report = build_report(len(bars), sessions, args.repeat, load, openbell, peer)
    report["openbell_replay_opening_window"] = {
        "window": "09:30-12:00 (the default)",
        "bars_per_second": opening.rate.to_dict(),
        "events": opening.events,
        "trades": opening.trades,
        "digests_match": len(set(opening.digests)) == 1,
        "ratio_to_backtesting_py": round(opening.rate.median / peer.rate.median, 3),
        "target_met": opening.rate.median >= TARGET_BARS_PER_SECOND,
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_text(report)
    replays = (report["openbell_replay"], report["openbell_replay_opening_window"])
    if not all(r["digests_match"] for r in replays):
        print("error: the replays did not all give the same digest", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
