"""`openbell token ...` (API tokens) and `openbell serve` (the HTTP API)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from ipaddress import ip_address

from infrastructure.cli.commands import CommandError
from infrastructure.cli.output import print_json
from infrastructure.heap import freeze_heap
from infrastructure.settings import Settings, with_password
from infrastructure.tokens import TokenStore
from projections.db import ReadModelDatabase


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `token create|list|revoke` and `serve` to the `openbell` parser."""
    token = subparsers.add_parser("token", help="API tokens for the HTTP API")
    token_sub = token.add_subparsers(dest="token_command", required=True)

    create = token_sub.add_parser("create", help="create a token (shown once)")
    create.add_argument("--name", default="", help="a label, e.g. who or what uses it")
    create.set_defaults(handler=create_token)

    listing = token_sub.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(handler=list_tokens)

    revoke = token_sub.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id", metavar="ID")
    revoke.set_defaults(handler=revoke_token)

    serve_parser = subparsers.add_parser("serve", help="run the HTTP API")
    serve_parser.add_argument("--host", help="address to bind (default: OPENBELL_HOST, 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, help="port (default: OPENBELL_PORT, 8000)")
    serve_parser.set_defaults(handler=serve)


@contextmanager
def _token_store(database_url: str | None) -> Iterator[TokenStore]:
    settings = Settings()
    db = ReadModelDatabase(
        with_password(database_url or settings.database_url, settings.database_password),
        settings.session_limits(),
    )
    try:
        store = TokenStore(db)
        store.ensure_table()
        yield store
    finally:
        db.close()


def create_token(args: argparse.Namespace) -> int:
    with _token_store(args.database_url) as store:
        token_id, token = store.create(args.name)
    print(token)
    print(
        f"openbell: token {token_id} created; copy it now, it cannot be shown again "
        "(only its hash is stored)",
        file=sys.stderr,
    )
    return 0


def list_tokens(args: argparse.Namespace) -> int:
    with _token_store(args.database_url) as store:
        tokens = store.list()
    if args.json:
        print_json(
            [
                {"id": t.id, "name": t.name, "created_at": t.created_at, "revoked_at": t.revoked_at}
                for t in tokens
            ]
        )
        return 0
    if not tokens:
        print("no tokens yet: try `openbell token create --name NAME`")
    for t in tokens:
        state = "active" if t.active else f"revoked {t.revoked_at}"
        print(f"{t.id}  {t.created_at}  {state:<8}  {t.name}")
    return 0


def revoke_token(args: argparse.Namespace) -> int:
    with _token_store(args.database_url) as store:
        if not store.revoke(args.token_id):
            raise CommandError(f"no token {args.token_id}")
    print(f"token {args.token_id} revoked")
    return 0


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from infrastructure.cli.http_app import create_app

    settings = Settings()
    host = args.host or settings.host
    port = args.port or settings.port
    if not _is_loopback(host):
        print(
            f"openbell: warning: serving on {host}, reachable from other machines; "
            "put TLS in front of it",
            file=sys.stderr,
        )
    app = create_app(args.database_url, settings)
    _settle_heap()
    uvicorn.run(app, host=host, port=port, server_header=False, proxy_headers=False)
    return 0


def _settle_heap() -> None:
    """What starting made lives as long as the server (bench/README.md: the p99 it saves)."""
    freeze_heap()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
