"""`openbell projections rebuild [NAME] | status | run`: the CQRS read models from the CLI."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from infrastructure.bootstrap import build_application
from infrastructure.cli.commands import CommandError
from infrastructure.cli.output import print_json
from infrastructure.settings import Settings
from projections.db import ReadModelDatabase
from projections.runner import ProjectionRunner, default_projections


def register(subparsers: Any) -> argparse.ArgumentParser:
    """Add `projections` and its subcommands to the CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "projections", help="CQRS read models: rebuild, status, run"
    )
    sub = parser.add_subparsers(dest="projections_command", required=True)
    names = ", ".join(p.name for p in default_projections())

    rebuild_parser = sub.add_parser("rebuild", help="drop a read model (or all) and replay it")
    rebuild_parser.add_argument("name", nargs="?", help=f"one of {names} (default: all)")
    rebuild_parser.add_argument("--json", action="store_true")
    rebuild_parser.set_defaults(handler=rebuild)

    status_parser = sub.add_parser("status", help="each read model's position and lag")
    status_parser.add_argument("--json", action="store_true")
    status_parser.set_defaults(handler=status)

    run_parser = sub.add_parser("run", help="bring every read model up to date once")
    run_parser.add_argument(
        "--batch-size",
        type=_positive,
        default=500,
        help="events per read-model transaction (default 500)",
    )
    run_parser.add_argument("--json", action="store_true")
    run_parser.set_defaults(handler=run)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1, not {text!r}")
    return value


def rebuild(args: argparse.Namespace) -> int:
    name = getattr(args, "name", None)
    known = [p.name for p in default_projections()]
    if name is not None and name not in known:
        raise CommandError(f"unknown projection {name!r}: choose from {', '.join(known)}")
    with _runner(args) as runner:
        applied, seconds = _timed(lambda: runner.rebuild(name))
        _report(args, "rebuilt " + (name or "all projections"), applied, seconds)
    return 0


def run(args: argparse.Namespace) -> int:
    with _runner(args) as runner:
        applied, seconds = _timed(lambda: runner.catch_up(args.batch_size))
        _report(args, "caught up", applied, seconds)
    return 0


def status(args: argparse.Namespace) -> int:
    with _runner(args) as runner:
        positions, lag = runner.positions(), runner.lag()
    rows = [{"projection": n, "position": p, "lag": lag[n]} for n, p in positions.items()]
    if getattr(args, "json", False):
        print_json(rows)
        return 0
    print(f"{'projection':<12} {'position':>10} {'lag':>8}")
    for row in rows:
        print(f"{row['projection']:<12} {row['position']:>10} {row['lag']:>8}")
    return 0


@contextmanager
def _runner(args: argparse.Namespace) -> Iterator[ProjectionRunner]:
    settings = Settings()
    url = args.database_url or settings.database_url
    app = build_application(url, settings)
    db = ReadModelDatabase(url, settings.session_limits())
    try:
        yield ProjectionRunner(app, db)
    finally:
        db.close()
        app.close()


def _timed(action: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    applied = action()
    return applied, time.perf_counter() - started


def _report(args: argparse.Namespace, what: str, applied: int, seconds: float) -> None:
    rate = applied / seconds if seconds > 0 else 0.0
    if getattr(args, "json", False):
        print_json(
            {"applied": applied, "seconds": round(seconds, 4), "events_per_second": round(rate, 1)}
        )
        return
    print(f"{what}: {applied} events applied in {seconds:.3f} s ({rate:,.0f} events/s)")
