"""Every error the HTTP API returns, in one JSON shape: {"error": {code, message, field}}."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from application.bot_config import InvalidBotConfig
from application.service import BotAlreadyExists, BotNotFound
from domain.bot import BotStatusConflict

log = logging.getLogger("openbell.api")

_LOCATIONS = {"body", "path", "query", "header", "cookie"}
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. `bot_not_found`")
    message: str = Field(description="what went wrong, for people")
    field: str | None = Field(description="dotted path of the offending input field, if any")


class ErrorResponse(BaseModel):
    error: ErrorDetail


class ApiError(Exception):
    """An error raised by the API layer itself (authentication, rate limits)."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code, self.code, self.message = status_code, code, message
        self.headers = dict(headers or {})


def error_response(
    status_code: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = ErrorResponse(error=ErrorDetail(code=code, message=message, field=field))
    return JSONResponse(body.model_dump(), status_code=status_code, headers=headers)


def _dotted(loc: Sequence[Any]) -> str | None:
    parts = [str(p) for p in loc]
    if parts and parts[0] in _LOCATIONS:
        parts = parts[1:]
    return ".".join(parts) or None


def _validation_response(errors: list[tuple[str | None, str]]) -> JSONResponse:
    message = "; ".join(f"{field}: {msg}" if field else msg for field, msg in errors)
    return error_response(422, "validation_error", message, errors[0][0] if errors else None)


def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: list[tuple[str | None, str]] = []
    for error in exc.errors():
        if error.get("type") == "json_invalid":
            detail = error.get("ctx", {}).get("error", "")
            errors.append((None, f"request body is not valid JSON ({detail})"))
            continue
        loc = tuple(error.get("loc", ()))
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        field = _dotted(loc)
        # A whole-body problem (missing, or a rule across fields) has no field to name.
        errors.append((field, message if field or not loc else f"{loc[0]}: {message}"))
    return _validation_response(errors)


def _invalid_config(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidBotConfig)
    return _validation_response([(None if f == "(config)" else f, m) for f, m in exc.errors])


def _simple(status_code: int, code: str) -> Any:
    def handler(_: Request, exc: Exception) -> JSONResponse:
        return error_response(status_code, code, str(exc))

    return handler


def _concurrent_write(_: Request, exc: Exception) -> JSONResponse:
    log.info("concurrent write rejected: %s", type(exc).__name__)
    return error_response(409, "concurrent_update", "the bot changed meanwhile; retry")


def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The database timed out, cancelled or dropped a call: 503, naming the request and why
    (a save that failed stored nothing of itself; see infrastructure.postgres_store)."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    log.warning("store unavailable for %s %s: %s", request.method, request.url.path, reason)
    return error_response(
        503,
        "store_unavailable",
        f"{request.method} {request.url.path}: the database did not complete the call: {reason}",
        headers={"Retry-After": "5"},
    )


def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, headers=exc.headers)


def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return error_response(exc.status_code, code, message, headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map each known error to its status; anything else is a 500 (see api.middleware)."""
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(InvalidBotConfig, _invalid_config)
    app.add_exception_handler(BotNotFound, _simple(404, "bot_not_found"))
    app.add_exception_handler(BotAlreadyExists, _simple(409, "bot_already_exists"))
    app.add_exception_handler(BotStatusConflict, _simple(409, "status_conflict"))
    app.add_exception_handler(IntegrityError, _concurrent_write)
    for store_error in (OperationalError, InterfaceError, psycopg.OperationalError):
        app.add_exception_handler(store_error, _store_unavailable)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HTTPException, _http_error)


def responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` documenting the error shape for these statuses."""
    descriptions = {
        401: "missing, malformed, unknown or revoked bearer token",
        404: "no bot with that id",
        409: "the bot's status forbids the command",
        413: "request body too large",
        422: "invalid input; `field` names the first offending field",
        429: "too many commands for this token; see Retry-After",
        503: "unavailable for now (e.g. the database timed out: nothing was written); retry",
    }
    return {
        code: {"model": ErrorResponse, "description": descriptions.get(code, "error")}
        for code in status_codes
    }
