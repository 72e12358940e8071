"""The API's application keeps bots in memory between commands (eventsourcing's aggregate
cache, fast-forwarded): a command must still see every event another process stored since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError

from domain.bot import BotStatusConflict
from infrastructure.bootstrap import build_application
from tests.builders import config

T0 = datetime(2024, 3, 4, 15, 0, tzinfo=UTC)


def test_a_cached_bot_catches_up_with_another_writer(store_url):
    cached = build_application(store_url, cached_bots=16)
    other = build_application(store_url)  # e.g. `openbell live`, or a second API server
    bot_id = uuid4()
    cached.create_bot(bot_id, config(capital=10000), T0)
    assert cached.get_bot(bot_id).version == 1  # now in the cache

    other.change_config(bot_id, config(capital=20000), T0 + timedelta(seconds=1))
    other.run_command(bot_id, "start", T0 + timedelta(seconds=2))

    bot = cached.get_bot(bot_id)
    assert (bot.version, bot.status.value, bot.config.capital) == (3, "running", 20000)
    with pytest.raises(BotStatusConflict):  # it knows the bot runs: no second start
        cached.run_command(bot_id, "start", T0 + timedelta(seconds=3))
    result = cached.run_command(bot_id, "stop", T0 + timedelta(seconds=3))
    assert result.position is not None
    assert [type(e).__name__ for e in other.bot_events(bot_id)][-1] == "Stopped"
    assert other.get_bot(bot_id).version == cached.get_bot(bot_id).version == 4


def test_a_failed_command_leaves_the_cached_bot_untouched(store_url):
    cached = build_application(store_url, cached_bots=16)
    other = build_application(store_url)
    bot_id = uuid4()
    cached.create_bot(bot_id, config(), T0)
    stale = cached.get_bot(bot_id)  # a copy: changing it does not change the cache
    other.run_command(bot_id, "start", T0 + timedelta(seconds=1))
    stale.start(T0 + timedelta(seconds=2))
    with pytest.raises(IntegrityError):  # version 2 is taken: optimistic concurrency holds
        cached.save(stale)
    bot = cached.get_bot(bot_id)
    assert (bot.version, bot.status.value) == (2, "running")
