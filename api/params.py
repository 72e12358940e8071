"""Query-parameter helpers shared by the query routes: moments and 422s that name their field."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.exceptions import RequestValidationError

from domain.units import NEW_YORK

MOMENT_HELP = "ISO-8601; without an offset it means New York time (as in the audit CLI)"


def invalid(field: str, message: str, value: object = None) -> RequestValidationError:
    """A 422 `validation_error` naming the query parameter `field` (the usual error shape)."""
    error = {"type": "value_error", "loc": ("query", field), "msg": message, "input": value}
    return RequestValidationError([error])


def utc_moment(value: datetime, field: str) -> datetime:
    """`value` in UTC (naive means New York time); a 422 naming `field` if out of range."""
    local = value if value.tzinfo is not None else value.replace(tzinfo=NEW_YORK)
    try:
        return local.astimezone(UTC)
    except (OverflowError, ValueError):
        raise invalid(field, "moment out of range", value.isoformat()) from None


def optional_utc(value: datetime | None, field: str) -> datetime | None:
    return None if value is None else utc_moment(value, field)
