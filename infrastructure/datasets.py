"""Bars datasets for backtests: the configured files, or one file named in their directory.

A name is a plain file name (never a path): it cannot reach outside the directory of the first
file of OPENBELL_BARS_DATASET. Loaded bars are cached by each file's size and modification time.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path

from application.backtest_records import BacktestInputError, Dataset, safe_name
from domain.bars import Bar
from infrastructure.bars_io import BarsFileError, load_bars

_Key = tuple[tuple[str, int, int], ...]


class BarsDatasets:
    """The `Datasets` port over files; keeps the most recently loaded few in memory."""

    def __init__(self, configured: str, keep: int = 2) -> None:
        self._default = [Path(p.strip()) for p in configured.split(",") if p.strip()]
        self._directory = self._default[0].parent if self._default else Path(".")
        self._keep = keep
        self._cache: dict[_Key, Dataset] = {}
        self._lock = threading.Lock()

    def load(self, name: str | None) -> Dataset:
        if name is None:
            if not self._default:
                raise BacktestInputError("no default bars dataset is configured", "dataset")
            paths = self._default
            label = ",".join(p.name for p in paths)
        else:
            paths = [self._directory / safe_name(name)]
            label = name
        key = self._key(paths, label)
        with self._lock:
            if (cached := self._cache.get(key)) is not None:
                return cached
        bars = self._bars(paths)
        dataset = Dataset(label, _content_id(paths), bars)
        with self._lock:
            self._cache[key] = dataset
            while len(self._cache) > self._keep:
                del self._cache[next(iter(self._cache))]
        return dataset

    def _key(self, paths: Sequence[Path], label: str) -> _Key:
        try:
            stats = [(str(p), p.stat()) for p in paths]
        except OSError:
            raise BacktestInputError(f"no such bars file: {label!r}", "dataset") from None
        return tuple((path, stat.st_size, stat.st_mtime_ns) for path, stat in stats)

    def _bars(self, paths: Sequence[Path]) -> list[Bar]:
        try:
            return load_bars(paths)
        except BarsFileError as exc:
            # Name the file, not the server's directory layout.
            message = str(exc).replace(f"{self._directory}/", "")
            raise BacktestInputError(f"unreadable bars: {message}", "dataset") from None


def _content_id(paths: Sequence[Path]) -> str:
    """Like `openbell replay`: a hash of the files' bytes, so bot ids match a CLI replay."""
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]
