"""The CLI's command handlers: parse arguments, call the application, print."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from uuid import UUID

import orjson

from application.audit import local_time, state_summary, timeline
from application.bot_config import InvalidBotConfig, parse_bot_config
from application.replay import ReplayResult
from application.replay import replay as run_replay
from application.service import BotAlreadyExists
from domain.config import BotConfig
from domain.units import NEW_YORK
from infrastructure.bars_io import load_bars
from infrastructure.bootstrap import build_application
from infrastructure.cli.output import ProgressBar, print_json
from infrastructure.heap import frozen_heap, quick_gil_handover
from infrastructure.sim_broker import SimulatedBroker, SimulatorCosts

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"


class CommandError(ValueError):
    """Bad command-line input, reported as one line with a non-zero exit."""


def replay(args: argparse.Namespace) -> int:
    paths = [Path(p) for p in args.bars]
    configs = [load_config(Path(p)) for p in args.config]
    costs = SimulatorCosts(
        commission_per_share=_decimal(args.commission_per_share, "--commission-per-share"),
        commission_min=_decimal(args.commission_min, "--commission-min"),
        slippage_bps=_decimal(args.slippage_bps, "--slippage-bps"),
    )
    bars = load_bars(paths)
    app = build_application(args.database_url)
    # The bars live as long as the replay: no GC pass walks them again.
    with frozen_heap(), quick_gil_handover():
        result = run_replay(
            app,
            bars,
            configs,
            lambda clock: SimulatedBroker(clock, costs),
            dataset_id(paths),
            ProgressBar(len(bars), "replay"),
        )
    _print_replay(result, args.json)
    return 0


def load_config(path: Path) -> BotConfig:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise CommandError(f"config {path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CommandError(f"config {path}: not valid JSON ({exc})") from None
    try:
        return parse_bot_config(data)
    except InvalidBotConfig as exc:
        raise CommandError(f"config {path}: {exc}") from None


def dataset_id(paths: list[Path]) -> str:
    """Content hash of the bars files, so the same data gives the same bot ids in any store."""
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def _decimal(text: str, flag: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise CommandError(f"{flag}: {text!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise CommandError(f"{flag}: must be a non-negative number, got {text}")
    return value


def _print_replay(result: ReplayResult, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "bots": [
                    {
                        "id": b.id,
                        "name": b.name,
                        "digest": b.digest,
                        "events": b.events,
                        "trades": b.trades,
                        "realized_pnl": b.realized_pnl,
                        "fees": b.fees,
                        "final_equity": b.final_equity,
                        "return_pct": b.return_pct,
                        "max_drawdown": b.max_drawdown,
                        "max_drawdown_pct": b.max_drawdown_pct,
                        "open_positions": b.open_positions,
                    }
                    for b in result.bots
                ],
                "bars": result.bars,
                "seconds": round(result.seconds, 4),
                "bars_per_second": round(result.bars_per_second, 1),
            }
        )
        return
    for b in result.bots:
        print(f"bot {b.name} ({b.id})")
        print(f"  trades           {b.trades}")
        print(f"  realised P&L     {b.realized_pnl:.2f} (fees {b.fees:.2f})")
        print(f"  final equity     {b.final_equity} ({b.return_pct:+}%)")
        print(f"  max drawdown     {b.max_drawdown} ({b.max_drawdown_pct}%)")
        print(f"  events written   {b.events}")
        print(f"  digest           {b.digest}")
    print(f"{result.bars} bars in {result.seconds:.3f} s: {result.bars_per_second:,.0f} bars/s")


def audit(args: argparse.Namespace) -> int:
    app = build_application(args.database_url)
    bot_id = parse_bot_id(args.bot_id)
    if args.at:
        at = parse_moment(args.at)
        bot = app.bot_at(bot_id, at)
        if bot is None:
            raise CommandError(f"bot {bot_id} did not exist yet at {at.isoformat()}")
        state = state_summary(bot)
        if args.json:
            print_json(state)
        else:
            _print_state(state)
        return 0
    entries = timeline(app.bot_events(bot_id))
    if args.json:
        print_json(
            [
                {"version": e.version, "at": e.at.isoformat(), "type": e.kind, "text": e.text}
                for e in entries
            ]
        )
    else:
        for e in entries:
            print(f"{e.version:>6}  {local_time(e.at)}  {e.kind:<22} {e.text}")
    return 0


def _print_state(state: dict[str, object]) -> None:
    print(f"bot {state['name']} ({state['id']}) as of {state['as_of']}, version {state['version']}")
    for key in ("status", "cash", "reserved", "realized_pnl", "fees", "trades", "halted_on"):
        print(f"  {key:<14} {state[key]}")
    positions = state["positions"]
    assert isinstance(positions, list)
    print(f"  positions      {len(positions)}")
    for p in positions:
        print(f"    {p['symbol']:<6} {p['qty']:>8} @ {p['avg_price']} (cost {p['cost']})")


def parse_bot_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a bot id (a UUID; see `openbell bots list`)") from None


def parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"--at {text!r} is not an ISO-8601 timestamp") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=NEW_YORK)


def list_bots(args: argparse.Namespace) -> int:
    app = build_application(args.database_url)
    bots = app.list_bots()
    if args.json:
        print_json(
            [
                {
                    "id": b.id,
                    "name": b.name,
                    "status": b.status,
                    "created_at": b.created_at.isoformat(),
                }
                for b in bots
            ]
        )
        return 0
    if not bots:
        print("no bots yet: try `openbell demo` or `openbell replay`")
    for b in bots:
        print(f"{b.id}  {b.status:<8}  {local_time(b.created_at)}  {b.name}")
    return 0


def events(args: argparse.Namespace) -> int:
    app = build_application(args.database_url)
    bot_id = parse_bot_id(args.bot_id)
    app.bot_events(bot_id)  # raises BotNotFound with a clear message
    for stored in app.recorder.select_events(bot_id):
        record = {
            "originator_id": str(stored.originator_id),
            "originator_version": stored.originator_version,
            "topic": stored.topic,
            "state": orjson.loads(stored.state),
        }
        print(orjson.dumps(record).decode())
    return 0


DEMO_STORE = Path("var/demo.sqlite")


def demo(args: argparse.Namespace) -> int:
    """Replay the bundled sample through the sample bots and show how to audit them.

    Without a store given (flag or OPENBELL_DATABASE_URL) it uses a fresh var/demo.sqlite.
    """
    database_url = args.database_url or os.environ.get("OPENBELL_DATABASE_URL")
    if database_url is None:
        DEMO_STORE.unlink(missing_ok=True)
        database_url = f"sqlite:///{DEMO_STORE}"
    app = build_application(database_url)
    bars_path = SAMPLE_DIR / "bars.csv"
    configs = [load_config(p) for p in sorted((SAMPLE_DIR / "bots").glob("*.json"))]
    bars = load_bars([bars_path])
    costs = SimulatorCosts(commission_per_share=Decimal("0.005"), commission_min=Decimal("1"))
    try:
        result = run_replay(
            app,
            bars,
            configs,
            lambda clock: SimulatedBroker(clock, costs),
            dataset_id([bars_path]),
            ProgressBar(len(bars), "demo replay"),
        )
    except BotAlreadyExists:
        print(f"The sample is already replayed into {database_url}; its bots:")
        list_bots(argparse.Namespace(database_url=database_url, json=False))
        return 0
    _print_replay(result, as_json=False)
    first = result.bots[0]
    print()
    print(f"Store: {database_url}")
    print(f"Audit a bot:   .venv/bin/openbell --database-url {database_url} audit {first.id}")
    print(
        f"State at 10am: .venv/bin/openbell --database-url {database_url} audit {first.id} "
        "--at 2024-11-01T10:00"
    )
    return 0
