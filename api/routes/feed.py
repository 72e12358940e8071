"""Paper trading: replay the bars dataset to the running bots as if it were the market now.

The feed trades every bot that is running or paused, takes in bots started (or paused,
stopped, reconfigured) while it runs, stores each bar's events as it goes and publishes each
bar on the `bars:<SYMBOL>` topic. One feed at a time per API process.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.deps import Authenticated, CommandToken, ServicesDep
from api.errors import responses
from api.feed_control import FeedControl
from api.offload import offloaded
from application.paper_feed import FeedStatus
from domain.units import NEW_YORK

router = APIRouter(prefix="/api/market/replay", tags=["market"], responses=responses(401))

_control_lock = threading.Lock()


async def get_feed_control(request: Request, services: ServicesDep) -> FeedControl:
    with _control_lock:
        control: FeedControl | None = getattr(request.app.state, "paper_feed", None)
        if control is None:
            control = request.app.state.paper_feed = FeedControl(services)
    return control


Control = Annotated[FeedControl, Depends(get_feed_control)]


class ReplayRequest(BaseModel):
    """Which bars of the dataset to feed, and how fast; naive times mean New York time."""

    model_config = ConfigDict(extra="forbid")

    speed: float = Field(
        default=0,
        ge=0,
        allow_inf_nan=False,
        description="times real time (60: a minute a second); 0: no waiting",
    )
    start: datetime | None = Field(default=None, description="first bar time (inclusive)")
    end: datetime | None = Field(default=None, description="last bar time (exclusive)")
    symbols: list[str] | None = Field(default=None, min_length=1, description="default: all")

    @model_validator(mode="after")
    def _range(self) -> ReplayRequest:
        self.start, self.end = _aware(self.start), _aware(self.end)
        if self.start and self.end and self.start >= self.end:
            raise ValueError("start must be before end")
        return self


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    local = moment if moment.tzinfo is not None else moment.replace(tzinfo=NEW_YORK)
    try:
        return local.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"moment out of range: {moment.isoformat()}") from None


class FeedStatusResponse(BaseModel):
    state: Literal["idle", "running", "finished", "stopped", "failed"]
    bars_fed: int = 0
    bars_total: int = 0
    current_bar_time: datetime | None = Field(default=None, description="the last bar fed")
    started_at: datetime | None = None
    finished_at: datetime | None = None
    speed: float | None = None
    bots: int = Field(default=0, description="bots trading in the feed")
    conflicts: int = Field(default=0, description="bars whose events a command's write displaced")
    error: str | None = None

    @classmethod
    def of(cls, feed: FeedStatus | None) -> FeedStatusResponse:
        if feed is None:
            return cls(state="idle")
        return cls(
            state=feed.state.value,
            bars_fed=feed.bars_fed,
            bars_total=feed.bars_total,
            current_bar_time=feed.current_bar_time,
            started_at=feed.started_at,
            finished_at=feed.finished_at,
            speed=feed.speed,
            bots=feed.bots,
            conflicts=feed.conflicts,
            error=feed.error,
        )


@router.post("", status_code=status.HTTP_202_ACCEPTED, responses=responses(409, 413, 422, 429, 503))
@offloaded
def start_replay(
    control: Control, _: CommandToken, body: ReplayRequest | None = None
) -> FeedStatusResponse:
    """Start feeding the bars dataset to the running bots (409 while a feed runs)."""
    body = body or ReplayRequest()
    return FeedStatusResponse.of(control.start(body.speed, body.start, body.end, body.symbols))


@router.get("")
@offloaded
def replay_status(control: Control, _: Authenticated) -> FeedStatusResponse:
    """The paper feed's progress: `idle` before the first one."""
    return FeedStatusResponse.of(control.status())


@router.delete("", responses=responses(429))
@offloaded
def stop_replay(control: Control, _: CommandToken, response: Response) -> FeedStatusResponse:
    """Stop the feed: 200 once it has stopped, 202 if it is still stopping."""
    stopped = FeedStatusResponse.of(control.stop())
    if stopped.state == "running":
        response.status_code = status.HTTP_202_ACCEPTED
    return stopped
