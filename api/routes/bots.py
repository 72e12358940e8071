"""Bots: commands (create, replace the config, archive, start/stop/pause/resume) and queries.

Each command answers with the bot's id and the store position of the last event it wrote, so a
client can pass it as `?after=` to a query and see its effect. Queries read the read models, but
the audit timeline and `state?at=` read the bot's events, as `openbell audit` does. Only commands
count against the token's rate limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query, status
from pydantic import BaseModel, Field

from api.consistency import QUERY_RESPONSES, ReadModelPosition
from api.deps import ApplicationDep, NewBotId, Now, ServicesDep, authenticate, limit_commands
from api.errors import responses
from api.offload import offloaded
from api.params import MOMENT_HELP, utc_moment
from api.reads import read
from api.schemas import BotState, BotView, EquityCurve, EquityPoint, TimelineItem, TimelinePage
from application.audit import state_summary, timeline
from application.bot_config import BotConfigInput
from application.service import BotNotFound, CommandResult, OpenbellApplication
from domain.bot import BotStatus
from projections import views

router = APIRouter(
    prefix="/api/bots",
    tags=["bots"],
    dependencies=[Depends(authenticate)],
    responses=responses(401, 422, 503),
)
# Commands: rate limited per token, with bodies (413) and limits (429).
COMMAND: list[Any] = [Depends(limit_commands)]
COMMAND_RESPONSES = responses(413, 429)

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


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    dependencies=COMMAND,
    responses=COMMAND_RESPONSES | responses(409),
)
@offloaded
def create_bot(
    config: BotConfigInput, application: ApplicationDep, now: Now, bot_id: NewBotId
) -> CommandResponse:
    """Create a bot from its config; it starts out `created` (not trading)."""
    return CommandResponse.of(application.create_bot(bot_id, config.to_domain(), now))


@router.put("/{bot_id}", dependencies=COMMAND, responses=COMMAND_RESPONSES | responses(404, 409))
@offloaded
def replace_bot_config(
    bot_id: BotId, config: BotConfigInput, application: ApplicationDep, now: Now
) -> CommandResponse:
    """Replace the bot's whole config (409 if archived or it would drop a held symbol)."""
    return CommandResponse.of(application.change_config(bot_id, config.to_domain(), now))


@router.delete("/{bot_id}", dependencies=COMMAND, responses=COMMAND_RESPONSES | responses(404, 409))
@offloaded
def archive_bot(bot_id: BotId, application: ApplicationDep, now: Now) -> CommandResponse:
    """Archive the bot, keeping its history (409 while running or holding positions)."""
    return _lifecycle(application, bot_id, "archive", now)


@router.post(
    "/{bot_id}/start", dependencies=COMMAND, responses=COMMAND_RESPONSES | responses(404, 409)
)
@offloaded
def start_bot(bot_id: BotId, application: ApplicationDep, now: Now) -> CommandResponse:
    """Start trading (from `created` or `stopped`)."""
    return _lifecycle(application, bot_id, "start", now)


@router.post(
    "/{bot_id}/stop", dependencies=COMMAND, responses=COMMAND_RESPONSES | responses(404, 409)
)
@offloaded
def stop_bot(bot_id: BotId, application: ApplicationDep, now: Now) -> CommandResponse:
    """Stop trading (from `created`, `running`, `paused` or `errored`)."""
    return _lifecycle(application, bot_id, "stop", now)


@router.post(
    "/{bot_id}/pause", dependencies=COMMAND, responses=COMMAND_RESPONSES | responses(404, 409)
)
@offloaded
def pause_bot(bot_id: BotId, application: ApplicationDep, now: Now) -> CommandResponse:
    """Pause a running bot: no new signals; its open positions are still managed."""
    return _lifecycle(application, bot_id, "pause", now)


@router.post(
    "/{bot_id}/resume", dependencies=COMMAND, responses=COMMAND_RESPONSES | responses(404, 409)
)
@offloaded
def resume_bot(bot_id: BotId, application: ApplicationDep, now: Now) -> CommandResponse:
    """Resume a paused bot."""
    return _lifecycle(application, bot_id, "resume", now)


# ---------------------------------------------------------------------------------- queries

MAX_EVENT_PAGE = 1000
READ_MODEL_RESPONSES = QUERY_RESPONSES | responses(404)


@router.get("", responses=QUERY_RESPONSES)
async def list_bots(
    services: ServicesDep,
    _: ReadModelPosition,
    only: Annotated[
        BotStatus | None, Query(alias="status", description="only bots with this status")
    ] = None,
) -> list[BotView]:
    """Every bot from the read models, oldest first, optionally only those with one status."""
    rows = await read(services, views.BOTS_SQL)
    return [services.bot_views.of(r) for r in rows if only is None or r["status"] == only]


@router.get("/{bot_id}", responses=READ_MODEL_RESPONSES)
async def get_bot(bot_id: BotId, services: ServicesDep, _: ReadModelPosition) -> BotView:
    """One bot from the read models: status, config, cash, equity at cost, P&L, last signal."""
    rows = await read(services, views.BOT_SQL, [str(bot_id)])
    if not rows:
        raise BotNotFound(f"no bot {bot_id}")
    return services.bot_views.of(rows[0])


@router.get("/{bot_id}/events", responses=responses(404))
@offloaded
def list_bot_events(
    bot_id: BotId,
    application: ApplicationDep,
    limit: Annotated[int, Query(ge=1, le=MAX_EVENT_PAGE, description="entries per page")] = 100,
    cursor: Annotated[
        int, Query(ge=0, le=2**53, description="`next_cursor` of the previous page (a version)")
    ] = 0,
) -> TimelinePage:
    """The bot's audit timeline from its events, oldest first, each explained (as `audit`)."""
    # Versions run 1, 2, 3...; an entry's text needs only the events before it.
    events = list(application.events.get(bot_id, lte=cursor + limit + 1))
    if not events:
        raise BotNotFound(f"no bot {bot_id}")
    later = [e for e in timeline(events) if e.version > cursor]
    page = [TimelineItem(version=e.version, at=e.at, type=e.kind, text=e.text) for e in later]
    more = len(page) > limit
    return TimelinePage(items=page[:limit], next_cursor=page[limit - 1].version if more else None)


@router.get("/{bot_id}/state", responses=responses(404))
@offloaded
def get_bot_state(
    bot_id: BotId,
    application: ApplicationDep,
    now: Now,
    at: Annotated[datetime | None, Query(description=f"{MOMENT_HELP}; default now")] = None,
) -> BotState:
    """The bot rebuilt from its events up to `at` (404 if it did not exist yet then)."""
    moment = now if at is None else utc_moment(at, "at")
    bot = application.bot_at(bot_id, moment)
    if bot is None:
        raise BotNotFound(f"bot {bot_id} did not exist yet at {moment.isoformat()}")
    return BotState.model_validate(state_summary(bot))


@router.get("/{bot_id}/equity", responses=READ_MODEL_RESPONSES)
@offloaded
def get_bot_equity(bot_id: BotId, services: ServicesDep, _: ReadModelPosition) -> EquityCurve:
    """The bot's realised equity curve: capital plus realised P&L after each round trip."""
    if views.get_bot(services.read_models, bot_id) is None:
        raise BotNotFound(f"no bot {bot_id}")
    points = views.equity_curve(services.read_models, bot_id)
    return EquityCurve(bot_id=bot_id, points=[EquityPoint.model_validate(p) for p in points])
