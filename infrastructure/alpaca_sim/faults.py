"""Faults injected on demand through `POST /admin/faults`, consumed as requests arrive."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(slots=True)
class Faults:
    """Counts are "the next n matching requests"; flags and delays hold until changed."""

    http_429: int = 0  # refused before anything happens (Alpaca's rate limit)
    http_500: int = 0  # refused before anything happens
    http_500_after: int = 0  # done, then answered 500: the client cannot know it happened
    timeouts: int = 0  # done, then the answer is held `timeout_ms` (past the client's timeout)
    timeout_ms: int = 3000
    delay_ms: int = 0  # added before every request is handled
    delay_fills_ms: int = 0  # fill trade_updates leave this much later
    reject_orders: int = 0  # accepted, then rejected (a trade_update "rejected")
    # DELETE /v2/orders/{id}: the order fills as the cancel arrives (`pricing.race_price`), and
    # the cancel is refused as for any filled order (422)
    fill_on_cancel: int = 0
    block_streams: bool = False  # refuse new WebSocket connections (an outage)
    only: str = "/v2/"  # path prefix the HTTP faults apply to, e.g. "/v2/orders"

    def update(self, changes: dict[str, Any]) -> None:
        known = {f.name: f.type for f in fields(self)}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown fault {name!r}; known: {', '.join(sorted(known))}")
            current = getattr(self, name)
            setattr(self, name, type(current)(value))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def take(self, name: str) -> bool:
        """Use up one of the counted faults `name`, if any are left."""
        left = getattr(self, name)
        if left > 0:
            setattr(self, name, left - 1)
            return True
        return False
