"""API tokens: shown once, stored only as a hash, verified and revoked in the shared database."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from infrastructure.tokens import TOKEN_PREFIX, TokenStore
from projections.db import ReadModelDatabase


@pytest.fixture
def db(store_url):
    database = ReadModelDatabase(store_url)
    yield database
    database.close()


@pytest.fixture
def tokens(db) -> TokenStore:
    store = TokenStore(db, clock=lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    store.ensure_table()
    store.ensure_table()  # idempotent
    return store


def test_a_created_token_verifies_to_its_id(tokens):
    token_id, token = tokens.create("dashboard")
    assert token.startswith(TOKEN_PREFIX) and len(token) > 40
    assert tokens.verify(token) == token_id


def test_only_the_hash_is_stored(tokens, db):
    token_id, token = tokens.create("ci")
    rows = db.query("SELECT * FROM api_tokens")
    assert rows == [
        {
            "id": token_id,
            "name": "ci",
            "token_hash": hashlib.sha256(token.encode()).hexdigest(),
            "created_at": "2026-01-02T03:04:05+00:00",
            "revoked_at": None,
        }
    ]
    assert token not in repr(rows)


@pytest.mark.parametrize("bad", ["", "ob_", "ob_wrong", "not-a-token", "ob_" + "x" * 500])
def test_unknown_or_malformed_tokens_fail(tokens, bad):
    tokens.create("one")
    assert tokens.verify(bad) is None


def test_revoked_tokens_fail_and_others_still_verify(tokens):
    revoked_id, revoked = tokens.create("old")
    kept_id, kept = tokens.create("new")
    assert tokens.revoke(revoked_id) is True
    assert tokens.revoke(revoked_id) is True  # again: still revoked, no error
    assert tokens.verify(revoked) is None
    assert tokens.verify(kept) == kept_id
    assert tokens.revoke("no-such-id") is False


def test_listing_shows_no_secrets(tokens):
    first_id, first = tokens.create("a")
    second_id, _ = tokens.create("b")
    tokens.revoke(first_id)
    listed = {t.id: t for t in tokens.list()}
    assert set(listed) == {first_id, second_id}
    assert not listed[first_id].active and listed[first_id].revoked_at
    assert listed[second_id].active and listed[second_id].name == "b"
    assert first not in repr(listed)
    assert "hash" not in repr(listed)


def test_tokens_are_shared_by_every_connection_to_the_database(tokens, store_url):
    token_id, token = tokens.create("shared")
    other = ReadModelDatabase(store_url)
    try:
        assert TokenStore(other).verify(token) == token_id
    finally:
        other.close()
