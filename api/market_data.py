"""The configured bars dataset for charts: loaded once per process, indicators on full history.

An indicator is named by its label, as bots' snapshots name it: `KIND(p1,p2,...)` with the
calculator parameters in order (`RSI(14)`, `MACD(12,26,9)`, `BBANDS(20,2)`, `STOCH(14,3,3)`,
`OBV`), checked with the same bounds as a bot config. Series are computed with TA-Lib
(`compute_series`) over the symbol's whole history and only then sliced, so every value is the
one the streaming calculators reach on that bar when they are fed the same file.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
from pydantic import ValidationError

from application.bot_config import Indicators
from domain.bars import Bar
from domain.config import CALCULATOR_PARAMS, IndicatorSpec
from infrastructure.bars_io import BarsFileError, load_bars
from infrastructure.indicator_series import compute_series

MAX_CACHED_SERIES = 256
_LABEL = re.compile(r"^([A-Za-z_]+)(?:\(([^()]*)\))?$")


class UnknownSymbol(LookupError):
    """No bars for that symbol in the dataset."""


class DatasetUnavailable(RuntimeError):
    """The configured bars files are missing or invalid."""


def parse_indicator(text: str) -> IndicatorSpec:
    """`RSI(14)` -> IndicatorSpec('RSI', ...) whose `label` is canonical; ValueError if bad."""
    match = _LABEL.match(text.replace(" ", ""))
    if match is None:
        raise ValueError(f"{text!r} is not KIND or KIND(p1,p2,...), e.g. RSI(14)")
    kind, inside = match[1].upper(), match[2]
    if kind not in CALCULATOR_PARAMS:
        raise ValueError(f"unknown indicator {kind!r}; choose from {', '.join(CALCULATOR_PARAMS)}")
    names = CALCULATOR_PARAMS[kind]
    values = inside.split(",") if inside else []
    if len(values) != len(names):
        wanted = f"{kind}({','.join(names)})" if names else kind
        raise ValueError(f"{text!r}: expected {wanted}")
    try:  # the bounds a bot config has for these parameters
        chosen = Indicators.model_validate({kind: dict(zip(names, values, strict=True))}).chosen()
    except ValidationError as exc:
        error = exc.errors()[0]
        where = " ".join(str(part) for part in error["loc"])
        raise ValueError(f"{text!r}: {where}: {error['msg']}") from None
    params = chosen[kind].model_dump()
    return IndicatorSpec(kind, tuple((name, Decimal(str(value))) for name, value in params.items()))


@dataclass(frozen=True, slots=True)
class SymbolBars:
    """One symbol's bars in time order, and their float columns for the indicators."""

    bars: list[Bar]
    times: list[datetime]
    frame: pd.DataFrame


class BarsDataset:
    """Bars grouped by symbol, with a bounded cache of whole-history indicator series."""

    def __init__(self, bars: Sequence[Bar]) -> None:
        grouped: dict[str, list[Bar]] = {}
        for bar in bars:  # load_bars sorts by (timestamp, symbol)
            grouped.setdefault(bar.symbol, []).append(bar)
        self._symbols = {name: _symbol_bars(rows) for name, rows in grouped.items()}
        self._series: dict[tuple[str, str], pd.DataFrame] = {}
        self._lock = threading.Lock()

    @property
    def symbols(self) -> list[str]:
        return sorted(self._symbols)

    def symbol(self, name: str) -> SymbolBars:
        try:
            return self._symbols[name]
        except KeyError:
            raise UnknownSymbol(f"no bars for {name!r} in the dataset") from None

    def series(self, name: str, spec: IndicatorSpec) -> pd.DataFrame:
        """The indicator over the symbol's whole history: one column per output, NaN in warm-up."""
        key = (name, spec.label)
        with self._lock:
            cached = self._series.get(key)
        if cached is not None:
            return cached
        frame = compute_series(self.symbol(name).frame, spec.kind, spec.calculator_params)
        with self._lock:
            if len(self._series) >= MAX_CACHED_SERIES:
                self._series.clear()
            self._series[key] = frame
        return frame


def _symbol_bars(bars: list[Bar]) -> SymbolBars:
    floats = [bar.as_floats() for bar in bars]
    frame = pd.DataFrame(floats, columns=["open", "high", "low", "close", "volume"])
    return SymbolBars(bars, [bar.timestamp for bar in bars], frame)


_datasets: dict[str, BarsDataset] = {}
_load_lock = threading.Lock()


def dataset_paths(setting: str) -> list[Path]:
    """`settings.bars_dataset`: comma-separated CSV/Parquet paths."""
    return [Path(part.strip()) for part in setting.split(",") if part.strip()]


def load_dataset(setting: str) -> BarsDataset:
    """The dataset of `settings.bars_dataset`, loaded on first use and kept for the process.

    Raises DatasetUnavailable if a file is missing or invalid.
    """
    with _load_lock:
        dataset = _datasets.get(setting)
        if dataset is None:
            try:
                bars = load_bars(dataset_paths(setting))
            except BarsFileError as exc:
                raise DatasetUnavailable(str(exc)) from exc
            dataset = _datasets[setting] = BarsDataset(bars)
        return dataset
