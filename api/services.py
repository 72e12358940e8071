"""What the HTTP layer works with, built once by `api.app.create_app` and kept on app.state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from api.rate_limit import TokenBucketLimiter
from application.service import OpenbellApplication
from infrastructure.settings import Settings
from infrastructure.tokens import TokenStore
from projections.db import ReadModelDatabase


@dataclass
class Services:
    """The application, its stores and the edge's clock and id source (replaceable in tests)."""

    settings: Settings
    application: OpenbellApplication
    read_models: ReadModelDatabase
    tokens: TokenStore
    command_limiter: TokenBucketLimiter
    clock: Callable[[], datetime]
    new_bot_id: Callable[[], UUID]

    def close(self) -> None:
        try:
            self.application.close()
        finally:
            self.read_models.close()
