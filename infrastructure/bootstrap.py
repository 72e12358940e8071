"""The composition root: wires settings, persistence and adapters into the application."""

from __future__ import annotations

from application.service import OpenbellApplication
from infrastructure.settings import Settings, persistence_env


def build_application(
    database_url: str | None = None, settings: Settings | None = None
) -> OpenbellApplication:
    settings = settings or Settings()
    url = database_url or settings.database_url
    return OpenbellApplication(env=persistence_env(url, settings.database_password))
