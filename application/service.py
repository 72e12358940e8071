"""The Openbell application: bot commands that load -> call -> save, and event-level queries."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import StoredEvent

from application.bulk_save import BatchRecorder, BatchWriter
from application.event_log import notifications
from domain.bot import Bot
from domain.config import BotConfig

SAVE_BATCH = 4_096  # events mapped and handed to the store at a time
BOT_NAMESPACE = UUID("6f0e3c8e-2c43-5b7a-9d7e-0b3e11f0be11")
CREATED_TOPIC = "domain.bot:Bot.Created"


class BotNotFound(LookupError):
    """No bot with that id in this store."""


class BotAlreadyExists(ValueError):
    """A deterministic bot id that is already stored (e.g. the same replay into the same store)."""


LIFECYCLE_COMMANDS = ("start", "pause", "resume", "stop", "archive")


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What a command wrote: the bot and the position of its last event in the store."""

    bot_id: UUID
    position: int | None


@dataclass(frozen=True, slots=True)
class BotListing:
    id: UUID
    name: str
    status: str
    created_at: datetime


def _project(bot: Any, events: Iterable[Any]) -> Any:
    """eventsourcing's project_aggregate without its per-event `isinstance` of a runtime
    Protocol, which costs more than applying the event."""
    for event in events:
        bot = event.mutate(bot)
    return bot


def bot_id_for(name: str, discriminator: str) -> UUID:
    """Deterministic id: the same name and run discriminator give the same id in any store."""
    return uuid5(BOT_NAMESPACE, f"{name}\n{discriminator}")


class OpenbellApplication(Application[UUID]):
    """Stores Bot aggregates; the composition root's environment chooses the persistence."""

    name = "openbell"

    def create_bot(self, bot_id: UUID, config: BotConfig, at: datetime) -> CommandResult:
        return self._save(self.new_bot(bot_id, config, at))

    def change_config(self, bot_id: UUID, config: BotConfig, at: datetime) -> CommandResult:
        bot = self.get_bot(bot_id)
        bot.change_config(config, at)
        return self._save(bot)

    def run_command(self, bot_id: UUID, command: str, at: datetime) -> CommandResult:
        """start, pause, resume, stop or archive; BotStatusConflict when the status forbids it."""
        if command not in LIFECYCLE_COMMANDS:
            raise ValueError(f"unknown command {command!r}")
        bot = self.get_bot(bot_id)
        getattr(bot, command)(at)
        return self._save(bot)

    def _save(self, bot: Bot) -> CommandResult:
        recordings = self.save(bot)
        position = max((r.notification.id for r in recordings), default=None)
        return CommandResult(bot.id, position)

    def new_bot(self, bot_id: UUID, config: BotConfig, at: datetime) -> Bot:
        """A new bot whose events are saved by the caller (a replay saves all bots at once)."""
        self.ensure_new([bot_id])
        return Bot.create(bot_id, config, at)

    def ensure_new(self, bot_ids: Sequence[UUID]) -> None:
        stored = [str(i) for i in bot_ids if self._exists(i)]
        if stored:
            raise BotAlreadyExists(
                f"already stored: bot {', '.join(stored)} (the same replay into the same store); "
                "use a fresh store or change the config"
            )

    def get_bot(self, bot_id: UUID, version: int | None = None) -> Bot:
        try:
            bot: Any = self.repository.get(bot_id, version=version, projector_func=_project)
        except AggregateNotFoundError:
            raise BotNotFound(f"no bot {bot_id}") from None
        assert isinstance(bot, Bot)
        return bot

    def bot_events(self, bot_id: UUID) -> list[Bot.Event]:
        events = [cast(Bot.Event, e) for e in self.events.get(bot_id)]
        if not events:
            raise BotNotFound(f"no bot {bot_id}")
        return events

    def bot_at(self, bot_id: UUID, at: datetime) -> Bot | None:
        """The bot as its events had made it at `at` (None if it did not exist yet)."""
        version = None
        for event in self.bot_events(bot_id):
            if event.timestamp > at:
                break
            version = event.originator_version
        return None if version is None else self.get_bot(bot_id, version)

    def list_bots(self) -> list[BotListing]:
        listings = []
        for notification in notifications(self.recorder, topics=[CREATED_TOPIC]):
            bot = self.get_bot(UUID(str(notification.originator_id)))
            created = self.bot_events(bot.id)[0].timestamp
            listings.append(BotListing(bot.id, bot.config.name, bot.status.value, created))
        return listings

    def digest(self, bot_id: UUID) -> tuple[str, int]:
        """sha256 over the bot's stored events (id, version, topic, state bytes) and their count."""
        sha = hashlib.sha256()
        count = 0
        for stored in self.recorder.select_events(bot_id):
            _digest_update(sha, stored, str(stored.originator_id))
            count += 1
        if not count:
            raise BotNotFound(f"no bot {bot_id}")
        return sha.hexdigest(), count

    def save_new_bots(self, *bots: Bot) -> dict[UUID, tuple[str, int]]:
        """Store every event of bots never saved before in one transaction; each bot's digest
        (as `digest` gives it) taken from the records as written, with no read-back."""
        pending = [bot.collect_events() for bot in bots]
        if any(not events or events[0].originator_version != 1 for events in pending):
            raise ValueError("save_new_bots takes only new bots, each with all its events unsaved")
        recorder = self.recorder
        if not isinstance(recorder, BatchRecorder):  # e.g. the in-memory store
            batches = [self._stored(events) for events in pending]
            recorder.insert_events([record for batch in batches for record in batch])
            return {b.id: _digest(batch, str(b.id)) for b, batch in zip(bots, batches, strict=True)}
        digests: dict[UUID, tuple[str, int]] = {}
        total = sum(len(events) for events in pending)
        # The store writes one batch while the next is mapped and digested here.
        with BatchWriter(recorder, f"saving {total:,} events of {len(bots)} new bot(s)") as writer:
            for bot, events in zip(bots, pending, strict=True):
                sha, originator_id = hashlib.sha256(), str(bot.id)  # formatted once per bot
                for start in range(0, len(events), SAVE_BATCH):
                    batch = self._stored(events, start, start + SAVE_BATCH)
                    writer.put(batch)
                    for record in batch:  # in version order, as select_events returns them
                        _digest_update(sha, record, originator_id)
                digests[bot.id] = (sha.hexdigest(), len(events))
        return digests

    def _stored(
        self, events: list[Any], start: int = 0, stop: int | None = None
    ) -> list[StoredEvent]:
        """The records of `events[start:stop]`, each event let go once mapped: the heap does not
        hold both (a replay's tens of thousands), so the cyclic GC has half as much to walk."""
        to_stored_event = self.mapper.to_stored_event
        records = []
        for index in range(start, len(events) if stop is None else min(stop, len(events))):
            records.append(to_stored_event(events[index]))
            events[index] = None
        return records

    def _exists(self, bot_id: UUID) -> bool:
        return bool(self.recorder.select_events(bot_id, limit=1))


def _digest(records: Sequence[StoredEvent], originator_id: str) -> tuple[str, int]:
    sha = hashlib.sha256()
    for record in records:
        _digest_update(sha, record, originator_id)
    return sha.hexdigest(), len(records)


def _digest_update(sha: Any, stored: StoredEvent, originator_id: str) -> None:
    """Hash "id, version, topic, state" lines; `originator_id` is the stored id as text."""
    sha.update(f"{originator_id}\n{stored.originator_version}\n{stored.topic}\n".encode())
    sha.update(stored.state + b"\n")
