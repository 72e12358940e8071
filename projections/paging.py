"""Keyset (cursor) pagination over rm_trades, stable under any supported sort.

Rows are ordered by the sort column then by id (unique), and a page resumes strictly after the
last row's key, so concurrent inserts never shift a page. Money columns are TEXT, so they are
compared as CAST(... AS NUMERIC); a nullable column sorts its NULLs first (ascending).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any


class InvalidCursor(ValueError):
    """A cursor this module did not issue, or one issued for another sort."""


@dataclass(frozen=True, slots=True)
class SortColumn:
    column: str
    numeric_text: bool = False  # a Decimal stored as TEXT
    nullable: bool = False
    integer: bool = False  # an INTEGER/BIGINT column: its cursor value must be an int


TRADE_SORTS = {
    "id": SortColumn("id", integer=True),
    "timestamp": SortColumn("timestamp"),
    "symbol": SortColumn("symbol"),
    "type": SortColumn("type"),
    "bot_id": SortColumn("bot_id"),
    "quantity": SortColumn("quantity", integer=True),
    "price": SortColumn("price", numeric_text=True),
    "fee": SortColumn("fee", numeric_text=True),
    "profit_loss": SortColumn("profit_loss", numeric_text=True, nullable=True),
}


@dataclass(frozen=True, slots=True)
class Keyset:
    """ORDER BY terms and the `after the cursor` condition for one sort such as '-price'."""

    sort: str
    key: SortColumn
    descending: bool

    @classmethod
    def parse(cls, sort: str, allowed: dict[str, SortColumn]) -> Keyset:
        name = sort.removeprefix("-")
        if name not in allowed:
            choices = ", ".join(sorted(allowed))
            raise ValueError(
                f"cannot sort by {sort!r}; choose from {choices} (prefix - to reverse)"
            )
        return cls(sort, allowed[name], sort.startswith("-"))

    def terms(self) -> list[tuple[str, str]]:
        """(SQL expression, placeholder) pairs, the id tie-breaker last."""
        column = self.key.column
        value = f"CAST({column} AS NUMERIC)" if self.key.numeric_text else column
        mark = "CAST(? AS NUMERIC)" if self.key.numeric_text else "?"
        if not self.key.nullable:
            pairs = [(value, mark)] if column != "id" else []
        else:
            zero = "0" if self.key.numeric_text else "''"
            pairs = [
                (f"CASE WHEN {column} IS NULL THEN 0 ELSE 1 END", "?"),
                (f"COALESCE({value}, {zero})", mark),
            ]
        return [*pairs, ("id", "?")]

    def order_by(self) -> str:
        direction = " DESC" if self.descending else ""
        return ", ".join(f"{expression}{direction}" for expression, _ in self.terms())

    def after(self, cursor: str) -> tuple[str, list[Any]]:
        """The WHERE condition (and its parameters) for rows after `cursor`."""
        value, row_id = self._decode(cursor)
        if self.key.column == "id":
            params: list[Any] = []
        elif self.key.nullable:
            zero = "0" if self.key.numeric_text else ""
            params = [0 if value is None else 1, zero if value is None else value]
        else:
            params = [value]
        terms = self.terms()
        left = ", ".join(expression for expression, _ in terms)
        right = ", ".join(mark for _, mark in terms)
        operator = "<" if self.descending else ">"
        return f"({left}) {operator} ({right})", [*params, row_id]

    def cursor(self, row: dict[str, Any]) -> str:
        payload = json.dumps([self.sort, row[self.key.column], row["id"]], separators=(",", ":"))
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def _decode(self, cursor: str) -> tuple[Any, int]:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            sort, value, row_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        except (ValueError, TypeError) as exc:
            raise InvalidCursor(f"not a valid cursor: {cursor!r}") from exc
        if sort != self.sort:
            raise InvalidCursor(f"cursor was issued for sort {sort!r}, not {self.sort!r}")
        if not isinstance(row_id, int) or not _plausible(value, self.key):
            raise InvalidCursor(f"not a valid cursor: {cursor!r}")
        return value, row_id


def _plausible(value: Any, key: SortColumn) -> bool:
    if value is None:
        return key.nullable
    if key.numeric_text:
        try:
            return isinstance(value, str) and Decimal(value).is_finite()
        except InvalidOperation:
            return False
    # A value of the wrong type would reach the database as a type error (a 500 on PostgreSQL).
    if key.integer:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, str)
