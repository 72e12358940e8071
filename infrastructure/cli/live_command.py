"""`openbell live`: the store's running bots trade through Alpaca (paper unless told otherwise)."""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from datetime import datetime
from typing import Any
from uuid import UUID

from infrastructure.alpaca.config import AlpacaConfig, AlpacaConfigError
from infrastructure.alpaca.live import build_live_trader, tune_interpreter
from infrastructure.bootstrap import build_application
from infrastructure.cli.commands import CommandError
from infrastructure.settings import Settings


def register(subparsers: Any) -> None:
    live = subparsers.add_parser(
        "live", help="trade the store's running bots through Alpaca (paper by default)"
    )
    live.add_argument("--bots", nargs="+", metavar="BOT_ID", help="only these bots (default all)")
    live.add_argument(
        "--until", metavar="TIMESTAMP", help="stop once market time reaches this (ISO-8601, UTC)"
    )
    live.add_argument(
        "--reconnect-backoff", type=float, default=1.0, help="first WebSocket reconnect wait (s)"
    )
    live.set_defaults(handler=live_command)


def live_command(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = Settings()
    try:
        config = AlpacaConfig.from_settings(settings)
        bots = [UUID(b) for b in args.bots] if args.bots else None
        until = datetime.fromisoformat(args.until) if args.until else None
    except (AlpacaConfigError, ValueError) as exc:
        raise CommandError(str(exc)) from None
    if until is not None and until.tzinfo is None:
        raise CommandError("--until needs a timezone (e.g. 2024-11-01T17:00:00+00:00)")
    app = build_application(args.database_url, settings)
    tune_interpreter()
    trader = build_live_trader(app, config, bots=bots, min_backoff=args.reconnect_backoff)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    mode = "paper" if config.paper else "LIVE (real money)"
    print(f"openbell live: {mode} trading through {config.trading_url or 'Alpaca'}", flush=True)
    trader.run(stop, until)
    print(f"openbell live: stopped; {trader.stats}", flush=True)
    return 0
