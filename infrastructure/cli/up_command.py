"""`openbell up`: the whole system on the embedded default, for `make run`.

Replays the bundled sample into the store (once), creates an API token, and serves the API
(with its read models and the paper feed) on the configured host and port.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from infrastructure.cli import api_commands, commands
from infrastructure.cli.live_demo import start_live_demo
from infrastructure.settings import Settings


def register(subparsers: Any) -> None:
    up = subparsers.add_parser("up", help="replay the sample, create a token and serve the API")
    up.add_argument("--host", help="interface to bind (default OPENBELL_HOST, 127.0.0.1)")
    up.add_argument("--port", type=int, help="port (default OPENBELL_PORT, 8000)")
    up.add_argument(
        "--live-demo",
        action="store_true",
        help="also run the Alpaca simulator (60x) and `openbell live` with sample bots",
    )
    up.set_defaults(handler=up_command)


def up_command(args: argparse.Namespace) -> int:
    settings = Settings()
    url = args.database_url or os.environ.get("OPENBELL_DATABASE_URL") or settings.database_url
    commands.demo(argparse.Namespace(database_url=url))
    print()
    api_commands.create_token(argparse.Namespace(database_url=url, name="openbell up"))
    host, port = args.host or settings.host, args.port or settings.port
    print(f"\nOpenbell is at http://{host}:{port}/  (API docs: http://{host}:{port}/docs)")
    print("Send the token above as 'Authorization: Bearer <token>'. Ctrl-C stops the server.")
    stop_demo = None
    if getattr(args, "live_demo", False):
        try:
            stop_demo = start_live_demo(url, Path("var/live-demo.log"))
        except Exception as exc:  # the demo is extra: the API still serves without it
            print(f"openbell: warning: the live demo did not start ({exc}); serving the API only")
    sys.stdout.flush()
    if stop_demo is not None:
        # uvicorn shuts down on SIGTERM, then raises the signal again: with the default handler
        # the process would end there, leaving the simulator and the trader running.
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        return api_commands.serve(argparse.Namespace(database_url=url, host=host, port=port))
    finally:
        if stop_demo is not None:
            stop_demo()


def _exit_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)
