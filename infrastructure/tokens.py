"""API tokens: random bearer secrets of which only a sha256 hash is stored.

The plaintext (``ob_`` + 32 random bytes, URL-safe) is shown once by `create` and never kept.
A token is looked up by its hash, so checking one compares digests, never the secret itself.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from projections.db import ReadModelDatabase

TOKEN_PREFIX = "ob_"
_MAX_TOKEN_LENGTH = 128

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    revoked_at TEXT
)
"""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token as listed: never its hash or plaintext."""

    id: str
    name: str
    created_at: str
    revoked_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TokenStore:
    """The `api_tokens` table in the read-model database (the event store's database)."""

    def __init__(self, db: ReadModelDatabase, clock: Callable[[], datetime] = _utc_now) -> None:
        self._db = db
        self._clock = clock

    def ensure_table(self) -> None:
        with self._db.transaction() as tx:
            tx.execute(_CREATE_TABLE)

    def create(self, name: str = "") -> tuple[str, str]:
        """A new token: (its id, the plaintext token, which is not stored and cannot be shown
        again)."""
        token_id = secrets.token_hex(6)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._db.transaction() as tx:
            tx.execute(
                "INSERT INTO api_tokens (id, name, token_hash, created_at, revoked_at)"
                " VALUES (?, ?, ?, ?, NULL)",
                (token_id, name, hash_token(token), self._now()),
            )
        return token_id, token

    def verify(self, token: str) -> str | None:
        """The id of the active token `token` is, or None (unknown, malformed or revoked)."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > _MAX_TOKEN_LENGTH:
            return None
        digest = hash_token(token)
        rows = self._db.query(
            "SELECT id, token_hash FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
            (digest,),
        )
        if rows and hmac.compare_digest(str(rows[0]["token_hash"]), digest):
            return str(rows[0]["id"])
        return None

    def revoke(self, token_id: str) -> bool:
        """Revoke a token (kept for the record); False when there is no token with that id."""
        with self._db.transaction() as tx:
            rows = tx.execute("SELECT revoked_at FROM api_tokens WHERE id = ?", (token_id,))
            if not rows:
                return False
            if rows[0]["revoked_at"] is None:
                tx.execute(
                    "UPDATE api_tokens SET revoked_at = ? WHERE id = ?", (self._now(), token_id)
                )
            return True

    def list(self) -> builtins.list[TokenInfo]:
        rows = self._db.query(
            "SELECT id, name, created_at, revoked_at FROM api_tokens ORDER BY created_at, id"
        )
        return [
            TokenInfo(str(r["id"]), str(r["name"]), str(r["created_at"]), r["revoked_at"])
            for r in rows
        ]

    def _now(self) -> str:
        return self._clock().isoformat()
