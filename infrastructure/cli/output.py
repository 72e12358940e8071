"""Printing for the CLI: JSON for tools, aligned text for people, a progress bar on terminals."""

from __future__ import annotations

import sys
from decimal import Decimal
from typing import Any, TextIO
from uuid import UUID

import orjson


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(type(value).__name__)


def print_json(payload: Any, out: TextIO | None = None) -> None:
    (out or sys.stdout).write(
        orjson.dumps(payload, default=_default, option=orjson.OPT_INDENT_2).decode() + "\n"
    )


class ProgressBar:
    """Redraws one line on stderr when it is a terminal; silent otherwise (pipes, CI)."""

    def __init__(self, total: int, label: str, stream: TextIO | None = None) -> None:
        self.total, self.label = max(total, 1), label
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = width * done // self.total
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] "
            f"{100 * done // self.total:3d}% {done}/{self.total} bars"
        )
        if done >= self.total:
            self.stream.write("\n")
        self.stream.flush()
