"""What the broker has told the engine about one order, and what a new snapshot adds to it.

The engine's contract: for an order, ACCEPTED once, FILLED with each newly filled quantity, and
at most one terminal CANCELED or REJECTED, after which no fill comes. Snapshots arrive from REST
answers and the trade-updates stream in any order, so a ledger only moves forward: quantities
filled only grow, an ended order stays ended.

An OCO is one order to the engine, under its client id, though Alpaca keeps it as two: the parent
(the take-profit limit) and its stop-loss leg. The ledger follows each member and reports their
fills as the group's; the group ends when everything is filled or when every member has ended.
The parent's "canceled" when its stop-loss leg triggers is therefore no cancel of the bot's order:
the leg's fill follows, and the group ends filled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple

from application.ports import UpdateKind
from infrastructure.alpaca.orders import TERMINAL, OrderSnapshot

CANCELED_BY_BOT = "canceled by the bot"


@dataclass(slots=True)
class Member:
    """One order of a group (a simple order is a group of one) as far as snapshots have shown."""

    status: str = ""
    filled: int = 0
    avg_price: Decimal = Decimal(0)
    filled_at: datetime | None = None

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL


class Fill(NamedTuple):
    """Shares a member filled that the engine has not been told of."""

    member_id: str
    qty: int
    price: Decimal
    at: datetime | None


class Ending(NamedTuple):
    kind: UpdateKind
    reason: str


@dataclass(slots=True)
class Ledger:
    """One order (an OCO: its group): what was reported and what its members have shown."""

    symbol: str
    broker_id: str = ""  # the order's own id (an OCO's parent)
    qty: int = 0
    accepted: bool = False
    filled: int = 0  # reported to the engine
    done: bool = False
    cancel_asked: bool = False
    own_status: str = ""  # the order's own status (an OCO's parent)
    legs_known: bool = True  # an OCO's legs, once a snapshot of the parent listed them
    members: dict[str, Member] = field(default_factory=dict)

    def learn(self, snapshot: OrderSnapshot, own: bool) -> list[str]:
        """Take in a snapshot of the order (`own`) or of one of its legs; the leg ids it named."""
        legs: list[str] = []
        if own:
            self.broker_id, self.qty = snapshot.id, snapshot.qty
            if snapshot.is_oco and not snapshot.legs and not self._has_legs():
                self.legs_known = False
            for leg in snapshot.legs:
                self._take(leg)
                legs.append(leg.id)
            if snapshot.legs:
                self.legs_known = True
        self._take(snapshot)
        if own and self.members[snapshot.id].ended:
            self.own_status = snapshot.status
        return legs

    def accepts(self, snapshot: OrderSnapshot) -> bool:
        """Whether this snapshot is the first to show the order taken by the broker."""
        if self.accepted or snapshot.status in ("rejected", "pending_new"):
            return False
        self.accepted = True
        return True

    def new_fills(self) -> list[Fill]:
        """The members' fills beyond what was reported, each at its member's price."""
        unreported = sum(m.filled for m in self.members.values()) - self.filled
        fills = []
        for member_id, member in self.members.items():
            if unreported <= 0:
                break
            if member.filled:
                qty = min(member.filled, unreported)
                fills.append(Fill(member_id, qty, member.avg_price, member.filled_at))
                unreported -= qty
                self.filled += qty
        return fills

    def ending(self) -> Ending | None:
        """How the order ended, once it has and the engine has not been told; then done."""
        if self.done:
            return None
        if self.qty and self.filled >= self.qty:
            self.done = True  # the fills said it all
            return None
        if not self.legs_known or not self.members:
            return None
        if not all(m.ended for m in self.members.values()):
            return None
        self.done = True
        status = self.own_status or "canceled"
        if status == "rejected" and not self.filled:
            return Ending(UpdateKind.REJECTED, status)
        return Ending(UpdateKind.CANCELED, CANCELED_BY_BOT if self.cancel_asked else status)

    @property
    def unresolved(self) -> bool:
        """An OCO whose parent ended while its legs are unknown: only a lookup can tell."""
        return not self.done and not self.legs_known and self.own_status != ""

    def _has_legs(self) -> bool:
        return len(self.members) > 1

    def _take(self, snapshot: OrderSnapshot) -> None:
        member = self.members.setdefault(snapshot.id, Member())
        if snapshot.filled_qty > member.filled:
            member.filled, member.avg_price = snapshot.filled_qty, snapshot.filled_avg_price
            member.filled_at = snapshot.filled_at
        if not member.ended:  # an older snapshot never reopens an ended order
            member.status = snapshot.status
