"""What the HTTP layer works with, built once by the composition root
(`infrastructure/cli/http_app.py`) and kept on app.state."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol
from uuid import UUID

from api.bot_views import BotViews
from api.broadcast import Broadcaster
from api.rate_limit import TokenBucketLimiter
from api.store_gate import StoreGate
from api.token_cache import TokenCache
from application.service import OpenbellApplication
from infrastructure.settings import Settings
from projections.db import ReadModelDatabase
from projections.runner import ProjectionRunner


class Tokens(Protocol):
    """The API tokens as the HTTP layer uses them (infrastructure.tokens.TokenStore)."""

    def create(self, name: str = "") -> tuple[str, str]: ...

    def verify(self, token: str) -> str | None: ...


@dataclass
class Services:
    """The application, its stores and the edge's clock and id source (replaceable in tests)."""

    settings: Settings
    application: OpenbellApplication
    read_models: ReadModelDatabase
    tokens: Tokens
    command_limiter: TokenBucketLimiter
    clock: Callable[[], datetime]
    new_bot_id: Callable[[], UUID]
    projections: ProjectionRunner
    broadcaster: Broadcaster = field(default_factory=Broadcaster)
    token_cache: TokenCache = field(default_factory=TokenCache)
    bot_views: BotViews = field(default_factory=BotViews)
    gate: StoreGate = field(default_factory=StoreGate)  # store calls made off the request path
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def start_background(self, name: str, work: Callable[[threading.Event], None]) -> None:
        """Run `work(stop)` on a daemon thread until close() sets `stop`."""
        thread = threading.Thread(target=work, args=(self._stop,), name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)
        self.gate.close()
        try:
            self.application.close()
        finally:
            self.read_models.close()
