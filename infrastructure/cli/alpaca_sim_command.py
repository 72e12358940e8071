"""`openbell alpaca-sim`: a local Alpaca-compatible server over replayed or generated bars."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from domain.calendar import session_on
from infrastructure.alpaca_sim.runner import serve
from infrastructure.alpaca_sim.server import SimOptions
from infrastructure.bars_io import load_bars
from infrastructure.sample_data import generate_bars, sessions_between


def register(subparsers: Any) -> None:
    sim = subparsers.add_parser(
        "alpaca-sim", help="serve Alpaca's trading, data and stream APIs over replayed bars"
    )
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8765)
    sim.add_argument(
        "--speed", type=float, default=60.0, help="market seconds per real second (0: stepped)"
    )
    sim.add_argument("--seed", type=int, default=0, help="seed for ids and generated bars")
    sim.add_argument("--bars", nargs="+", metavar="FILE", help="CSV/Parquet bars to replay")
    sim.add_argument(
        "--generate",
        default="AAPL,MSFT,SPY",
        metavar="SYMBOLS",
        help="without --bars: symbols to generate one session of bars for",
    )
    sim.add_argument("--day", default="2024-11-01", help="the session generated bars cover")
    sim.add_argument(
        "--history-days",
        type=int,
        default=0,
        help="with generated bars: also N earlier sessions, already published at the start",
    )
    sim.add_argument("--key", default="sim-key", help="API key id the server accepts")
    sim.add_argument("--secret", default="sim-secret", help="API secret the server accepts")
    sim.add_argument("--cash", default="1000000", help="the account's starting cash")
    sim.add_argument(
        "--position",
        action="append",
        default=[],
        metavar="SYMBOL=QTY@PRICE",
        help="a holding the account starts with (repeatable)",
    )
    sim.set_defaults(handler=alpaca_sim)


def alpaca_sim(args: argparse.Namespace) -> int:
    start: datetime | None = None
    if args.bars:
        bars = load_bars([Path(p) for p in args.bars])
    else:
        day = date.fromisoformat(args.day)
        symbols = [s.strip().upper() for s in args.generate.split(",") if s.strip()]
        first = day - timedelta(days=max(0, args.history_days) * 2 + 7)
        days = sessions_between(first, day)[-(max(0, args.history_days) + 1) :]
        bars = generate_bars(symbols, days, args.seed)
        opening = session_on(day)
        if args.history_days > 0 and opening is not None:
            start = opening.open.astimezone(UTC)
    options = SimOptions(
        key=args.key,
        secret=args.secret,
        speed=args.speed,
        seed=args.seed,
        cash=Decimal(args.cash),
        start=start,
        positions=tuple(_position(text) for text in args.position),
    )
    base = f"http://{args.host}:{args.port}"
    print(
        f"Alpaca simulator: {len(bars)} bars from {bars[0].timestamp:%Y-%m-%d %H:%M}Z", flush=True
    )
    print(f"  OPENBELL_ALPACA_TRADING_URL={base}  OPENBELL_ALPACA_DATA_URL={base}")
    print(f"  OPENBELL_ALPACA_DATA_STREAM_URL=ws://{args.host}:{args.port}/v2/iex")
    print(f"  OPENBELL_ALPACA_TRADING_STREAM_URL=ws://{args.host}:{args.port}/stream")
    print("  admin: POST /admin/clock {advance|to|speed}, POST /admin/faults, GET /admin/state")
    serve(bars, options, args.host, args.port)
    return 0


def _position(text: str) -> tuple[str, int, Decimal]:
    symbol, _, rest = text.partition("=")
    qty, _, price = rest.partition("@")
    return symbol.strip().upper(), int(qty), Decimal(price or "0")
