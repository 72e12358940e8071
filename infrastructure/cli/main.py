"""`openbell` command line: replay, audit, bots, events, demo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from application.bot_config import InvalidBotConfig
from application.replay import ReplayInputError
from application.service import BotAlreadyExists, BotNotFound
from infrastructure.bars_io import BarsFileError
from infrastructure.cli import (
    alpaca_sim_command,
    api_commands,
    commands,
    live_command,
    projections_commands,
    up_command,
)
from infrastructure.native import stale_modules
from infrastructure.settings import InvalidDatabaseUrl

USER_ERRORS = (
    BarsFileError,
    InvalidBotConfig,
    ReplayInputError,
    BotNotFound,
    BotAlreadyExists,
    InvalidDatabaseUrl,
    commands.CommandError,
)
# The database timed out, cancelled or dropped a call (a failed save stored nothing of itself).
STORE_ERRORS = (OperationalError, InterfaceError, psycopg.OperationalError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openbell", description=__doc__)
    parser.add_argument(
        "--database-url", help="event store URL (default: OPENBELL_DATABASE_URL or the SQLite file)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    replay = sub.add_parser("replay", help="replay historical 1-minute bars through bots")
    replay.add_argument("--bars", nargs="+", required=True, metavar="FILE", help="CSV or Parquet")
    replay.add_argument("--config", action="append", required=True, metavar="BOT.json")
    replay.add_argument("--json", action="store_true", help="print one JSON object")
    replay.add_argument("--commission-per-share", default="0", metavar="USD")
    replay.add_argument("--commission-min", default="0", metavar="USD")
    replay.add_argument("--slippage-bps", default="0", metavar="BPS")
    replay.set_defaults(handler=commands.replay)

    audit = sub.add_parser("audit", help="a bot's decision timeline, or its state at a moment")
    audit.add_argument("bot_id")
    audit.add_argument("--at", metavar="TIMESTAMP", help="ISO-8601; naive means New York time")
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(handler=commands.audit)

    bots = sub.add_parser("bots", help="bots in the store")
    bots_sub = bots.add_subparsers(dest="bots_command", required=True)
    listing = bots_sub.add_parser("list", help="list bots")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=commands.list_bots)

    events = sub.add_parser("events", help="a bot's raw stored events")
    events.add_argument("bot_id")
    events.add_argument("--json", action="store_true", help="JSON lines (the default output)")
    events.set_defaults(handler=commands.events)

    demo = sub.add_parser("demo", help="replay the bundled sample through the sample bots")
    demo.set_defaults(handler=commands.demo)

    projections_commands.register(sub)
    api_commands.register(sub)
    up_command.register(sub)
    alpaca_sim_command.register(sub)
    live_command.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if stale := stale_modules():
        print(
            f"openbell: warning: compiled {', '.join(stale)} is older than its source and runs "
            "the old code; run `make native`",
            file=sys.stderr,
        )
    try:
        return int(args.handler(args) or 0)
    except USER_ERRORS as exc:
        print(f"openbell: error: {exc}", file=sys.stderr)
        return 2
    except STORE_ERRORS as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"openbell: error: {args.command}: the database failed: {reason}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        sys.stderr.close()  # the reader (e.g. `head`) left; not an error of ours
        return 0
    except KeyboardInterrupt:
        print("openbell: interrupted; sessions already saved are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
