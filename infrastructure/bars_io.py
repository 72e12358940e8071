"""Loading and writing one-minute bar files (CSV or Parquet).

A bars file has the columns ``timestamp, symbol, open, high, low, close, volume`` in any
order; extra columns are ignored. Timestamps are ISO-8601 with an offset or ``Z``, or
naive meaning UTC, and become tz-aware UTC datetimes. CSV prices become `Decimal`
exactly as written ("187.20" stays ``Decimal("187.20")``); Parquet float prices go
through ``Decimal(repr(value))`` and are rounded to at most 6 decimal places.

Every problem raises `BarsFileError` naming the file and, for a row-level problem, where
it is: ``line N (data row M)`` for CSV, where line 1 is the header and data row 1 the
first bar (blank lines are skipped but still counted as lines), and ``row M`` (1-based)
for Parquet.

Speed: a CSV is read by pyarrow as text; each column is factorised so that repeated
values (timestamps shared by symbols, prices) are parsed once; checks run as numpy
vector operations; the `Bar` objects are built in one final pass.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from domain.bars import Bar, BarFloats

__all__ = ["COLUMNS", "BarsFileError", "load_bars", "write_bars_csv"]

COLUMNS = ("timestamp", "symbol", "open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")

_CSV_SUFFIXES = frozenset({".csv"})
_PARQUET_SUFFIXES = frozenset({".parquet", ".pq"})
_MINUTE_NS = 60_000_000_000
_SIX_PLACES = Decimal("0.000001")
_ONE = Decimal(1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAN_TEXT = frozenset({"nan", "-nan", "+nan"})

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]
_Objects = npt.NDArray[np.object_]
_Fail = Callable[[str, int], "BarsFileError"]


class BarsFileError(ValueError):
    """A bars file is missing, unreadable or holds invalid bars."""


@dataclass(frozen=True, slots=True)
class _Source:
    """A file being loaded, and how to describe a position in it."""

    path: Path
    is_csv: bool
    line_numbers: Sequence[int] | None = field(default=None)  # CSV with blank lines only

    def where(self, row: int) -> str:
        """Human location of the 0-based data row `row`."""
        if not self.is_csv:
            return f"row {row + 1}"
        line = self.line_numbers[row] if self.line_numbers is not None else row + 2
        return f"line {line} (data row {row + 1})"

    def error(self, problem: str, row: int | None = None) -> BarsFileError:
        if row is None:
            return BarsFileError(f"{self.path}: {problem}")
        return BarsFileError(f"{self.path}: {self.where(row)}: {problem}")


@dataclass(frozen=True, slots=True)
class _Columns:
    """One validated file, column-wise; row i is data row i of the file."""

    symbol: _Objects
    ns: _Ints  # UTC nanoseconds since the epoch
    open: _Objects  # Decimal
    high: _Objects
    low: _Objects
    close: _Objects
    volume: _Ints
    exact_floats: dict[str, _Floats]  # float(Decimal) of each price, for the indicators


def load_bars(paths: Sequence[Path]) -> list[Bar]:
    """Load, validate and merge bars files; the result is sorted by (timestamp, symbol).

    Raises `BarsFileError` for the first problem found, including a bar for the same
    (symbol, timestamp) in two files.
    """
    if isinstance(paths, str | Path):
        raise TypeError("load_bars takes a sequence of paths, not a single path")
    loaded = [_load_file(Path(path)) for path in paths]
    if not loaded:
        return []
    sources = [source for source, _ in loaded]
    parts = [columns for _, columns in loaded]

    def cat(name: str) -> Any:
        arrays = [getattr(part, name) for part in parts]
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    def cat_floats(name: str) -> Any:
        arrays = [part.exact_floats[name] for part in parts]
        return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

    symbol, ns = cat("symbol"), cat("ns")
    file_index = np.repeat(np.arange(len(parts)), [len(part.ns) for part in parts])
    row = np.concatenate([np.arange(len(part.ns)) for part in parts])
    symbol_code = pd.factorize(symbol, sort=True)[0]
    order = np.lexsort((symbol_code, ns))  # stable: ties keep file order
    if len(parts) > 1:
        _check_cross_file_duplicates(sources, order, symbol, symbol_code, ns, file_index, row)

    sorted_ns = ns[order]
    unique_ns, inverse = np.unique(sorted_ns, return_inverse=True)
    stamps = [_EPOCH + timedelta(microseconds=n // 1000) for n in unique_ns.tolist()]
    volumes = cat("volume")[order]
    floats = map(
        BarFloats._make,
        zip(
            *(cat_floats(name)[order].tolist() for name in PRICE_COLUMNS),
            volumes.astype(np.float64).tolist(),
            strict=True,
        ),
    )
    return list(
        map(
            Bar,
            symbol[order].tolist(),
            [stamps[i] for i in inverse.tolist()],
            cat("open")[order].tolist(),
            cat("high")[order].tolist(),
            cat("low")[order].tolist(),
            cat("close")[order].tolist(),
            volumes.tolist(),
            floats,
        )
    )


def write_bars_csv(bars: Iterable[Bar], path: Path) -> None:
    """Write bars as CSV with the standard columns, in the given order.

    Timestamps are written as ISO-8601 UTC with a ``+00:00`` offset, prices in plain
    notation exactly as their `Decimal` (``187.20`` stays ``187.20``).
    """
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        for bar in bars:
            if bar.timestamp.utcoffset() is None:
                raise ValueError(f"bar timestamp must be timezone-aware: {bar!r}")
            writer.writerow(
                (
                    bar.timestamp.astimezone(UTC).isoformat(),
                    bar.symbol,
                    f"{bar.open:f}",
                    f"{bar.high:f}",
                    f"{bar.low:f}",
                    f"{bar.close:f}",
                    bar.volume,
                )
            )


# --------------------------------------------------------------------------- reading


def _load_file(path: Path) -> tuple[_Source, _Columns]:
    suffix = path.suffix.lower()
    source = _Source(path, is_csv=suffix in _CSV_SUFFIXES)
    if not path.exists():
        raise source.error("file not found")
    if not path.is_file():
        raise source.error("not a regular file")
    if suffix in _CSV_SUFFIXES:
        source, frame = _read_csv(source)
    elif suffix in _PARQUET_SUFFIXES:
        frame = _read_parquet(source)
    else:
        raise source.error(
            f"unknown bars file format {path.suffix or '(no suffix)'!r}; "
            "expected .csv, .parquet or .pq"
        )
    if frame.empty:
        raise source.error("file is empty (no bars after the header)")
    return source, _validate(source, frame)


def _missing_columns(source: _Source, found: Sequence[str]) -> BarsFileError | None:
    missing = [c for c in COLUMNS if c not in found]
    if not missing:
        return None
    listed = ", ".join(found) or "none"
    return source.error(f"missing column(s): {', '.join(missing)} (found: {listed})")


def _read_csv(source: _Source) -> tuple[_Source, pd.DataFrame]:
    try:
        data = source.path.read_bytes()
    except OSError as exc:
        raise source.error(f"cannot read: {_one_line(exc)}") from None
    if not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise source.error("file is empty")
    try:
        header_line = data.lstrip(b"\r\n").split(b"\n", 1)[0].decode("utf-8-sig")
    except UnicodeDecodeError:
        raise source.error("cannot read as CSV: not UTF-8 text") from None
    header = [name.strip() for name in next(csv.reader([header_line]), [])]
    if (error := _missing_columns(source, header)) is not None:
        raise error
    names = [f"c{i}" for i in range(len(header))]  # positional names survive duplicates
    wanted = {name: names[header.index(name)] for name in COLUMNS}
    try:
        table = pa_csv.read_csv(
            io.BytesIO(data.lstrip(b"\r\n")),  # skip_rows would count leading blank lines
            read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pa_csv.ConvertOptions(
                include_columns=list(wanted.values()),
                column_types={c: pa.string() for c in wanted.values()},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _csv_parse_error(source, data, len(header), exc) from None
    if data.lstrip(b"\r\n") != data or b"\n\n" in data or b"\n\r\n" in data:
        source = _Source(source.path, True, _data_line_numbers(data))
    frame = pd.DataFrame(
        {
            name: table.column(column).to_pandas()
            if name != "volume"
            else _arrow_ints_or_text(table.column(column))
            for name, column in wanted.items()
        }
    )
    return source, frame


def _csv_parse_error(source: _Source, data: bytes, width: int, exc: Exception) -> BarsFileError:
    """Name the first line whose field count differs from the header's, if any."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return source.error("cannot read as CSV: not UTF-8 text")
    reader = csv.reader(io.StringIO(text, newline=""))
    rows = 0
    for fields in reader:
        if not fields:
            continue
        if rows and len(fields) != width:
            return BarsFileError(
                f"{source.path}: line {reader.line_num} (data row {rows}): expected "
                f"{width} fields like the header, found {len(fields)}"
            )
        rows += 1
    return source.error(f"cannot read as CSV: {_one_line(exc)}")


def _data_line_numbers(data: bytes) -> list[int]:
    """1-based file line of each data row when blank lines are present (pyarrow skips
    them); the first non-blank line is the header."""
    lines = [n for n, line in enumerate(data.split(b"\n"), start=1) if line.strip(b"\r")]
    return lines[1:]


def _arrow_ints_or_text(column: pa.ChunkedArray) -> pd.Series:
    """Volumes: a fast strict integer parse, else text for the general path."""
    try:
        return pd.Series(pc.cast(column, pa.int64()).to_numpy(), dtype=np.int64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.Series(column.to_pandas())


def _read_parquet(source: _Source) -> pd.DataFrame:
    try:
        schema = pq.read_schema(source.path)
    except Exception as exc:  # pyarrow raises assorted types for corrupt input
        raise source.error(f"cannot read as Parquet: {_one_line(exc)}") from None
    if (error := _missing_columns(source, list(schema.names))) is not None:
        raise error
    try:
        table = pq.read_table(source.path, columns=list(COLUMNS))
        frame = table.to_pandas(ignore_metadata=True)  # index columns stay plain columns
    except Exception as exc:
        raise source.error(f"cannot read as Parquet: {_one_line(exc)}") from None
    return frame.reset_index(drop=True)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 200 else text[:197] + "..."


# ------------------------------------------------------------------------ validation


def _first(mask: Any) -> int | None:
    """Position of the first True in a boolean array, or None."""
    hits = np.flatnonzero(np.asarray(mask, dtype=bool))
    return int(hits[0]) if hits.size else None


def _validate(source: _Source, frame: pd.DataFrame) -> _Columns:
    def fail(problem: str, row: int) -> BarsFileError:
        return source.error(problem, row)

    symbol = _symbols(frame["symbol"], fail)
    ns = _timestamps(frame["timestamp"], fail)
    parsed = {name: _prices(frame[name], name, source.is_csv, fail) for name in PRICE_COLUMNS}
    volume = _volumes(frame["volume"], fail)

    (o, o_shown), (h, h_shown), (lo, lo_shown), (c, c_shown) = (
        (floats, shown) for floats, shown, _, _ in parsed.values()
    )
    if (row := _first(h < lo)) is not None:
        raise fail(f"high {h_shown(row)} is below low {lo_shown(row)}", row)
    for name, values, shown in (("open", o, o_shown), ("close", c, c_shown)):
        if (row := _first((values < lo) | (values > h))) is not None:
            raise fail(
                f"{name} {shown(row)} is outside [low {lo_shown(row)}, high {h_shown(row)}]",
                row,
            )
    decimals = {name: exact for name, (_, _, exact, _) in parsed.items()}
    # Floats cannot see differences below their precision, and Parquet rounding to 6
    # places can reach zero: re-check ties and tiny lows on the exact Decimals.
    suspect = (o == h) | (o == lo) | (c == h) | (c == lo) | (h == lo) | (lo < 1e-5)
    _exact_ohlc_check(decimals, np.flatnonzero(suspect), fail)

    _check_duplicates(symbol, ns, source)
    if (row := _first(np.diff(ns) < 0)) is not None:
        row += 1
        raise fail(
            f"timestamp {_iso(ns[row])} goes backwards from {_iso(ns[row - 1])} on "
            f"{source.where(row - 1)}; a file must be sorted by time",
            row,
        )
    return _Columns(
        symbol=symbol,
        ns=ns,
        open=decimals["open"],
        high=decimals["high"],
        low=decimals["low"],
        close=decimals["close"],
        volume=volume,
        exact_floats={name: exact_floats for name, (_, _, _, exact_floats) in parsed.items()},
    )


def _text(column: pd.Series) -> pd.Series:
    """Any column as str values (None/NA become empty strings)."""
    if pd.api.types.is_string_dtype(column.dtype) and not column.hasnans:
        return column
    return column.map(lambda v: "" if v is None or v is pd.NA or v is pd.NaT else str(v))


def _symbols(column: pd.Series, fail: _Fail) -> _Objects:
    if (row := _first(column.isna())) is not None:
        raise fail("missing symbol", row)
    symbol = _text(column).str.strip()
    if (row := _first(symbol == "")) is not None:
        raise fail("missing symbol", row)
    return np.asarray(symbol.to_numpy(dtype=object), dtype=object)


def _timestamps(column: pd.Series, fail: _Fail) -> _Ints:
    """UTC nanoseconds since the epoch, checked to lie on whole minutes."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        if (row := _first(column.isna())) is not None:
            raise fail("missing timestamp", row)
        utc = (
            column.dt.tz_convert("UTC")
            if isinstance(column.dtype, pd.DatetimeTZDtype)
            else column.dt.tz_localize("UTC")  # naive means UTC
        )
        ns = np.asarray(utc.dt.as_unit("ns").astype("int64").to_numpy(), dtype=np.int64)
    elif pd.api.types.is_numeric_dtype(column.dtype) or pd.api.types.is_bool_dtype(column.dtype):
        raise fail(f"timestamp {_show(column.iloc[0])} is a number, not an ISO-8601 timestamp", 0)
    else:
        # Symbols share timestamps: parse each distinct text once.
        codes, uniques = pd.factorize(_text(column))
        parsed = pd.to_datetime(
            pd.Series(uniques).str.strip(), utc=True, format="ISO8601", errors="coerce"
        )
        if (row := _first(parsed.isna().to_numpy()[codes])) is not None:
            value = column.iloc[row]
            if not str(value).strip():
                raise fail("missing timestamp", row)
            raise fail(f"unparseable timestamp {_show(value)}", row)
        unique_ns = parsed.dt.as_unit("ns").astype("int64").to_numpy()
        ns = np.asarray(unique_ns[codes], dtype=np.int64)
    if (row := _first(ns % _MINUTE_NS != 0)) is not None:
        raise fail(f"timestamp {_iso(ns[row])} is not on a whole minute", row)
    return ns


def _prices(
    column: pd.Series, name: str, is_csv: bool, fail: _Fail
) -> tuple[_Floats, Callable[[int], str], _Objects, _Floats]:
    """(floats for the checks, row -> value as written, exact Decimals, float of each Decimal)."""
    if pd.api.types.is_float_dtype(column.dtype) or pd.api.types.is_integer_dtype(column.dtype):
        floats = np.asarray(column.to_numpy(dtype=float, na_value=np.nan), dtype=np.float64)
        to_decimal: Callable[[Any], Decimal] = _decimal_from_number
        values: Any = column
    else:
        values = _text(column)  # CSV text, or Parquet strings/decimals as text
        to_decimal = Decimal
    codes, uniques = pd.factorize(values)
    if not isinstance(uniques, pd.Index):
        uniques = pd.Index(uniques)
    if to_decimal is Decimal:  # text: parse each distinct value once
        unique_floats = pd.to_numeric(uniques, errors="coerce").to_numpy(
            dtype=float, na_value=np.nan
        )
        floats = np.asarray(unique_floats[codes], dtype=np.float64)

    def shown(row: int) -> str:
        return _show(column.iloc[row])

    if (row := _first(np.isnan(floats))) is not None:
        value = column.iloc[row]
        if (isinstance(value, float) or value is None or value is pd.NA) or str(
            value
        ).strip().lower() in _NAN_TEXT:
            raise fail(f"{name} price is NaN or missing", row)
        raise fail(f"{name} price {_show(value)} is not a number", row)
    if (row := _first(np.isinf(floats))) is not None:
        raise fail(f"{name} price {shown(row)} is not finite", row)
    if (row := _first(floats <= 0)) is not None:
        raise fail(f"{name} price {shown(row)} is not positive", row)

    unique_decimals = np.empty(len(uniques), dtype=object)
    for i, value in enumerate(uniques.tolist()):
        try:
            unique_decimals[i] = to_decimal(value)
        except (InvalidOperation, ValueError, TypeError):
            row = int(np.flatnonzero(codes == i)[0])
            raise fail(f"{name} price {shown(row)} is not a number", row) from None
    # float(Decimal) is correctly rounded, so these equal what any other source of the same
    # Decimal would compute: indicator values do not depend on where a bar came from.
    unique_exact = np.array([float(d) for d in unique_decimals], dtype=np.float64)
    return floats, shown, np.asarray(unique_decimals[codes], dtype=object), unique_exact[codes]


def _decimal_from_number(value: float) -> Decimal:
    """``Decimal(repr(value))`` rounded to at most 6 decimal places, in plain notation
    without trailing zeros (100.0 -> 100, 0.30000000000000004 -> 0.3)."""
    if isinstance(value, int):
        return Decimal(value)
    text = repr(float(value))
    if "e" not in text:
        if text.endswith(".0"):
            return Decimal(text[:-2])
        if len(text) - text.index(".") <= 7:  # at most 6 decimals: exact as is
            return Decimal(text)
    exact = Decimal(text)
    if exact.as_tuple().exponent < -6:  # type: ignore[operator]  # finite here
        exact = exact.quantize(_SIX_PLACES).normalize()
    return exact.quantize(_ONE) if exact.as_tuple().exponent > 0 else exact  # type: ignore[operator]


def _exact_ohlc_check(d: dict[str, _Objects], rows: _Ints, fail: _Fail) -> None:
    for row in rows.tolist():
        o, hi, lo, c = d["open"][row], d["high"][row], d["low"][row], d["close"][row]
        if lo <= 0:
            raise fail(f"low price {lo:f} is not positive after rounding to 6 places", row)
        if hi < lo:
            raise fail(f"high {hi:f} is below low {lo:f}", row)
        for name, value in (("open", o), ("close", c)):
            if not lo <= value <= hi:
                raise fail(f"{name} {value:f} is outside [low {lo:f}, high {hi:f}]", row)


def _volumes(column: pd.Series, fail: _Fail) -> _Ints:
    if pd.api.types.is_integer_dtype(column.dtype) and not column.hasnans:
        values = np.asarray(column.to_numpy(dtype=np.int64), dtype=np.int64)
        if (row := _first(values < 0)) is not None:
            raise fail(f"volume {int(values[row])} is negative", row)
        return values
    if pd.api.types.is_float_dtype(column.dtype):
        floats = np.asarray(column.to_numpy(dtype=float, na_value=np.nan), dtype=np.float64)
    else:
        floats = np.asarray(
            pd.to_numeric(_text(column), errors="coerce").to_numpy(dtype=float, na_value=np.nan),
            dtype=np.float64,
        )
    if (row := _first(np.isnan(floats))) is not None:
        value = column.iloc[row]
        if not isinstance(value, str) or not value.strip() or value.strip().lower() in _NAN_TEXT:
            raise fail("volume is NaN or missing", row)
        raise fail(f"volume {_show(value)} is not a number", row)
    for mask, problem in (
        (np.isinf(floats), "is not finite"),
        (floats < 0, "is negative"),
        (floats != np.floor(floats), "is not a whole number"),
        (floats >= 2.0**63, "is too large"),
    ):
        if (row := _first(mask)) is not None:
            value = column.iloc[row]
            raise fail(f"volume {_show(value)} {problem}", row)
    return np.asarray(floats, dtype=np.int64)


def _check_duplicates(symbol: _Objects, ns: _Ints, source: _Source) -> None:
    codes = pd.factorize(symbol)[0]
    order = np.lexsort((codes, ns))  # stable, so each pair is (earlier row, later row)
    same = (ns[order][1:] == ns[order][:-1]) & (codes[order][1:] == codes[order][:-1])
    if not same.any():
        return
    pairs = np.flatnonzero(same)
    later_rows = order[pairs + 1]
    k = int(np.argmin(later_rows))
    later, earlier = int(later_rows[k]), int(order[pairs[k]])
    raise source.error(
        f"duplicate bar for {symbol[later]} at {_iso(ns[later])} "
        f"(first on {source.where(earlier)})",
        later,
    )


def _check_cross_file_duplicates(
    sources: Sequence[_Source],
    order: _Ints,
    symbol: _Objects,
    symbol_code: _Ints,
    ns: _Ints,
    file_index: _Ints,
    row: _Ints,
) -> None:
    same = (ns[order][1:] == ns[order][:-1]) & (symbol_code[order][1:] == symbol_code[order][:-1])
    if not same.any():
        return
    pairs = np.flatnonzero(same)
    later_all = order[pairs + 1]  # stable sort: the later file of each pair
    k = int(np.lexsort((row[later_all], file_index[later_all]))[0])
    later, earlier = int(later_all[k]), int(order[pairs[k]])
    source, first_source = sources[int(file_index[later])], sources[int(file_index[earlier])]
    raise source.error(
        f"duplicate bar for {symbol[later]} at {_iso(ns[later])}, already in "
        f"{first_source.path} at {first_source.where(int(row[earlier]))}",
        int(row[later]),
    )


def _show(value: Any) -> str:
    """A cell value for a message: text quoted, numbers plain (numpy scalars unwrapped)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value) if isinstance(value, str) else str(value)


def _iso(ns: Any) -> str:
    return str(pd.Timestamp(int(ns), unit="ns", tz="UTC").isoformat())
