"""BotView from an rm_bots row, validated once per row version.

Every Bot event moves the row's `version` and `updated_at` (projections/bots.py), so together with
the id they name one row's contents: listing 100 bots costs lookups, not 100 validations. One
cache per app (on Services): another store may hold other rows under the same ids.
"""

from __future__ import annotations

from typing import Any

from api.schemas import BotView
from projections.views import bot_row

MAX_ENTRIES = 4096


class BotViews:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._max_entries = max_entries
        self._views: dict[tuple[str, int, str], BotView] = {}

    def of(self, row: dict[str, Any]) -> BotView:
        """The view of an rm_bots row as read (JSON columns still encoded)."""
        key = (str(row["id"]), int(row["version"]), str(row["updated_at"]))
        view = self._views.get(key)
        if view is None:
            if len(self._views) >= self._max_entries:
                self._views.clear()  # old versions are never asked for again
            view = self._views[key] = BotView.model_validate(bot_row(row))
        return view
