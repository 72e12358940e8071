"""Deterministic synthetic one-minute bars for demos, tests and benchmarks.

    python -m infrastructure.sample_data --out data/sample/bars.csv \\
        --symbols AAPL,MSFT,SPY --start 2024-11-01 --end 2024-11-05 --seed 7

Prices follow a geometric random walk with mild mean reversion towards the starting
price, occasional jumps, an overnight gap between sessions and U-shaped intraday
volatility and volume (busy open, quiet midday, a rise into the close).

Determinism: each symbol draws from its own ``random.Random(f"{seed}:{symbol}")``, so a
symbol's bars depend only on the seed, the symbol, its start price and the sessions, not
on which other symbols are generated. Only ``Random.random()`` and IEEE-exact float
arithmetic (+ - * / and comparisons) feed the prices and volumes; no ``math.exp``,
``log`` or ``gauss``, whose last-bit results may differ between C libraries. The same
inputs therefore give the same bars byte for byte on any platform.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

from domain.bars import BAR_LENGTH, Bar
from domain.calendar import FIRST_YEAR, LAST_YEAR, Session, holiday_name, session_on
from domain.units import CENT
from infrastructure.bars_io import write_bars_csv

__all__ = ["DEFAULT_SYMBOLS", "generate_bars", "main", "sessions_between"]

DEFAULT_SYMBOLS = ("AAPL", "MSFT", "SPY")

_MIN_PRICE = 0.01

# Per-minute model parameters (fractions of price).
_MINUTE_VOL = 0.0007  # ~1.4% a day over 390 minutes
_REVERSION = 0.0015  # pull per minute towards the start price
_JUMP_PROBABILITY = 0.002
_JUMP_SIZE = 0.004
_OVERNIGHT_VOL = 0.006
_OPEN_MINUTES = 30  # the busy opening period
_CLOSE_MINUTES = 20  # the rise into the close


def sessions_between(start: date, end: date) -> list[date]:
    """The session days from `start` to `end`, both inclusive (empty if start > end)."""
    days = []
    day = start
    while day <= end:
        if session_on(day) is not None:
            days.append(day)
        day += timedelta(days=1)
    return days


def generate_bars(
    symbols: Sequence[str],
    days: Sequence[date],
    seed: int,
    start_prices: Mapping[str, Decimal] | None = None,
) -> list[Bar]:
    """One bar per minute of each regular session in `days`, for each symbol.

    Days that are not sessions are skipped; duplicates are ignored and the days are taken
    in calendar order. Early-close sessions end at 13:00 New York time. A symbol without
    a start price gets one drawn from its own random stream (between 20 and 500).
    Timestamps are UTC; the result is sorted by (timestamp, symbol).
    """
    if isinstance(symbols, str):
        raise TypeError("symbols must be a sequence of symbols, not a single string")
    if len(set(symbols)) != len(symbols):
        raise ValueError(f"duplicate symbols in {list(symbols)}")
    sessions = [s for s in map(session_on, sorted(set(days))) if s is not None]
    prices = dict(start_prices or {})
    for symbol, price in prices.items():
        if not price > 0:
            raise ValueError(f"start price for {symbol} must be positive, got {price}")
    bars: list[Bar] = []
    for symbol in symbols:
        bars.extend(_walk(symbol, sessions, seed, prices.get(symbol)))
    bars.sort(key=lambda bar: (bar.timestamp, bar.symbol))
    return bars


def _normal(rng: random.Random) -> float:
    """An approximately standard normal draw (Irwin-Hall: sum of 12 uniforms - 6)."""
    total = 0.0
    for _ in range(12):
        total += rng.random()
    return total - 6.0


def _cents(value: float) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_EVEN)


def _walk(symbol: str, sessions: Sequence[Session], seed: int, start: Decimal | None) -> list[Bar]:
    rng = random.Random(f"{seed}:{symbol}")
    anchor = float(start) if start is not None else 20.0 + rng.random() * 480.0
    price = anchor
    base_volume = 20_000.0 + rng.random() * 80_000.0  # shares per midday minute
    bars: list[Bar] = []
    previous_close: Decimal | None = None
    for index, session in enumerate(sessions):
        opened = session.open.astimezone(UTC)
        minutes = (session.close.astimezone(UTC) - opened) // BAR_LENGTH  # 390 or 210
        if index:  # overnight gap, also pulled towards the anchor
            price *= 1.0 + _OVERNIGHT_VOL * _normal(rng) - 0.05 * (price / anchor - 1.0)
            price = max(price, _MIN_PRICE)
            previous_close = None
        for minute in range(minutes):
            # u runs from -1 at the open to +1 at the last minute; even powers make Us.
            u = 2.0 * minute / (minutes - 1) - 1.0 if minutes > 1 else 0.0
            u2 = u * u
            sigma = _MINUTE_VOL * (0.6 + 0.9 * u2 * u2)
            move = sigma * _normal(rng) - _REVERSION * (price / anchor - 1.0)
            if rng.random() < _JUMP_PROBABILITY:
                move += _JUMP_SIZE * (1.0 + rng.random()) * (1.0 if rng.random() < 0.5 else -1.0)
            opening = price
            price = max(price * (1.0 + move), _MIN_PRICE)
            open_ = previous_close if previous_close is not None else _cents(opening)
            close = _cents(price)
            wick_high = max(opening, price) * (1.0 + sigma * 0.8 * rng.random())
            wick_low = min(opening, price) * (1.0 - sigma * 0.8 * rng.random())
            high = max(_cents(wick_high), open_, close)
            low = max(min(_cents(wick_low), open_, close), CENT)

            shape = 0.55 + 1.2 * u2 * u2 * u2  # smooth U over the whole session
            if minute < _OPEN_MINUTES:
                shape += 1.6 * (_OPEN_MINUTES - minute) / _OPEN_MINUTES
            if minutes - minute <= _CLOSE_MINUTES:
                shape += 1.5 * (_CLOSE_MINUTES - (minutes - 1 - minute)) / _CLOSE_MINUTES
            activity = 1.0 + 40.0 * abs(move)  # bigger moves trade more
            noise = max(0.25, 1.0 + 0.3 * _normal(rng))
            volume = int(base_volume * shape * activity * noise)

            bars.append(Bar(symbol, opened + minute * BAR_LENGTH, open_, high, low, close, volume))
            previous_close = close
    return bars


# ------------------------------------------------------------------------------ CLI


def _parse_date(text: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise argparse.ArgumentTypeError(
            f"{day} is outside the supported calendar years {FIRST_YEAR}-{LAST_YEAR}"
        )
    return day


def _parse_days(text: str) -> list[date]:
    return [_parse_date(part) for part in text.split(",") if part.strip()]


def _parse_symbols(text: str) -> list[str]:
    symbols = [part.strip() for part in text.split(",")]
    for symbol in symbols:
        if not symbol or not all(ch.isalnum() or ch in ".-/" for ch in symbol):
            raise argparse.ArgumentTypeError(f"bad symbol {symbol!r} in {text!r}")
    if len(set(symbols)) != len(symbols):
        raise argparse.ArgumentTypeError(f"duplicate symbols in {text!r}")
    return symbols


def _parse_prices(text: str) -> dict[str, Decimal]:
    prices: dict[str, Decimal] = {}
    for part in text.split(","):
        symbol, sep, value = part.partition("=")
        try:
            price = Decimal(value.strip())
        except ArithmeticError:
            price = Decimal(0)
        if not sep or not symbol.strip() or not price.is_finite() or price <= 0:
            raise argparse.ArgumentTypeError(
                f"bad start price {part!r}; expected SYMBOL=PRICE with a positive price"
            )
        prices[symbol.strip()] = price
    return prices


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m infrastructure.sample_data",
        description="Write deterministic synthetic one-minute bars as CSV.",
    )
    parser.add_argument("--out", required=True, type=Path, help="CSV file to write")
    parser.add_argument(
        "--symbols",
        type=_parse_symbols,
        default=list(DEFAULT_SYMBOLS),
        help="comma-separated symbols (default: %(default)s)",
    )
    parser.add_argument("--start", type=_parse_date, help="first day, YYYY-MM-DD")
    parser.add_argument("--end", type=_parse_date, help="last day, YYYY-MM-DD (inclusive)")
    parser.add_argument(
        "--days", type=_parse_days, help="comma-separated session days instead of --start/--end"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: %(default)s)")
    parser.add_argument(
        "--start-prices",
        type=_parse_prices,
        default={},
        metavar="SYM=PRICE,...",
        help="starting prices, e.g. AAPL=225,MSFT=410 (others are drawn from the seed)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status (argparse exits 2 on bad input)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.days is not None:
        if args.start is not None or args.end is not None:
            parser.error("give either --days or --start/--end, not both")
        if not args.days:
            parser.error("--days is empty")
        closed = [day for day in args.days if session_on(day) is None]
        if closed:
            reasons = ", ".join(f"{day} ({holiday_name(day) or 'weekend'})" for day in closed)
            parser.error(f"not trading sessions: {reasons}")
        days = sorted(set(args.days))
    else:
        if args.start is None or args.end is None:
            parser.error("give --start and --end, or --days")
        if args.start > args.end:
            parser.error(f"--start {args.start} is after --end {args.end}")
        days = sessions_between(args.start, args.end)
        if not days:
            parser.error(f"no trading sessions between {args.start} and {args.end}")
    unknown = sorted(set(args.start_prices) - set(args.symbols))
    if unknown:
        parser.error(f"--start-prices names symbols not in --symbols: {', '.join(unknown)}")

    bars = generate_bars(args.symbols, days, args.seed, args.start_prices)
    out: Path = args.out
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_bars_csv(bars, out)
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {len(bars)} bars for {len(args.symbols)} symbol(s) "
        f"over {len(days)} session(s) to {out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
