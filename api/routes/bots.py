"""Bot commands: create, replace the config, archive, and the lifecycle (start/stop/pause/resume).

Each answers with the bot's id and the store position of the last event it wrote, so a client can
wait for the read models to catch up to that position. Queries come from the read models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Path, status
from pydantic import BaseModel, Field

from api.deps import ApplicationDep, NewBotId, Now, limit_commands
from api.errors import responses
from application.bot_config import BotConfigInput
from application.service import CommandResult, OpenbellApplication

router = APIRouter(
    prefix="/api/bots",
    tags=["bots"],
    dependencies=[Depends(limit_commands)],
    responses=responses(401, 413, 422, 429),
)

BotId = Annotated[UUID, Path(description="the bot's id")]


class CommandResponse(BaseModel):
    bot_id: UUID
    position: int | None = Field(
        description="notification id of the last event the command stored; null if it changed "
        "nothing (e.g. an identical config)"
    )

    @classmethod
    def of(cls, result: CommandResult) -> CommandResponse:
        return cls(bot_id=result.bot_id, position=result.position)


def _lifecycle(
    application: OpenbellApplication, bot_id: UUID, command: str, now: datetime
) -> CommandResponse:
    return CommandResponse.of(application.run_command(bot_id, command, now))


@router.post("", status_code=status.HTTP_201_CREATED, responses=responses(409))
def create_bot(
    config: BotConfigInput, application: ApplicationDep, now: Now, bot_id: NewBotId
) -> CommandResponse:
    """Create a bot from its config; it starts out `created` (not trading)."""
    return CommandResponse.of(application.create_bot(bot_id, config.to_domain(), now))


@router.put("/{bot_id}", responses=responses(404, 409))
def replace_bot_config(
    bot_id: BotId, config: BotConfigInput, application: ApplicationDep, now: Now
) -> CommandResponse:
    """Replace the bot's whole config (409 if archived or it would drop a held symbol)."""
    return CommandResponse.of(application.change_config(bot_id, config.to_domain(), now))


@router.delete("/{bot_id}", responses=responses(404, 409))
def archive_bot(bot_id: BotId, application: ApplicationDep, now: Now) -> CommandResponse:
    """Archive the bot, keeping its history (409 while running or holding positions)."""
    return _lifecycle(application, bot_id, "archive", now)


@router.post("/{bot_id}/start", responses=responses(404, 409))
def start_bot(bot_id: BotId, application: ApplicationDep, now: Now) -> CommandResponse:
    """Start trading (from `created` or `stopped`)."""
    return _lifecycle(application, bot_id, "start", now)


@router.post("/{bot_id}/stop", responses=responses(404, 409))
def stop_bot(bot_id: BotId, application: ApplicationDep, now: Now) -> CommandResponse:
    """Stop trading (from `created`, `running`, `paused` or `errored`)."""
    return _lifecycle(application, bot_id, "stop", now)


@router.post("/{bot_id}/pause", responses=responses(404, 409))
def pause_bot(bot_id: BotId, application: ApplicationDep, now: Now) -> CommandResponse:
    """Pause a running bot: no new signals; its open positions are still managed."""
    return _lifecycle(application, bot_id, "pause", now)


@router.post("/{bot_id}/resume", responses=responses(404, 409))
def resume_bot(bot_id: BotId, application: ApplicationDep, now: Now) -> CommandResponse:
    """Resume a paused bot."""
    return _lifecycle(application, bot_id, "resume", now)
