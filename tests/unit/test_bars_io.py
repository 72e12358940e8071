from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from domain.bars import Bar
from infrastructure.bars_io import BarsFileError, load_bars, write_bars_csv

HEADER = "timestamp,symbol,open,high,low,close,volume\n"
ROW1 = "2024-11-01T09:30:00-04:00,AAPL,187.20,187.50,187.00,187.30,1000\n"
ROW2 = "2024-11-01T09:31:00-04:00,AAPL,187.30,187.60,187.10,187.40,900\n"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def bar(symbol: str, stamp: datetime, prices: str, volume: int) -> Bar:
    """A bar from "open high low close" text."""
    o, h, lo, c = map(Decimal, prices.split())
    return Bar(symbol, stamp, o, h, lo, c, volume)


def write(tmp_path: Path, text: str, name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path) -> str:
    with pytest.raises(BarsFileError) as caught:
        load_bars([path])
    message = str(caught.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    return message.removeprefix(f"{path}: ")


def bad_row2(tmp_path: Path, old: str, new: str) -> str:
    """Error message for a file whose second bar has `old` replaced by `new`."""
    assert old in ROW2
    return load_error(write(tmp_path, HEADER + ROW1 + ROW2.replace(old, new)))


# ------------------------------------------------------------------------- happy path


def test_loads_csv_with_exact_decimals_and_utc_timestamps(tmp_path: Path) -> None:
    bars = load_bars([write(tmp_path, HEADER + ROW1 + ROW2)])
    assert bars == [
        Bar(
            "AAPL",
            utc(2024, 11, 1, 13, 30),
            Decimal("187.20"),
            Decimal("187.50"),
            Decimal("187.00"),
            Decimal("187.30"),
            1000,
        ),
        Bar(
            "AAPL",
            utc(2024, 11, 1, 13, 31),
            Decimal("187.30"),
            Decimal("187.60"),
            Decimal("187.10"),
            Decimal("187.40"),
            900,
        ),
    ]
    first = bars[0]
    assert str(first.open) == "187.20"  # as written, trailing zero kept
    assert first.timestamp.tzinfo is UTC
    assert type(first.timestamp) is datetime
    assert type(first.volume) is int


def test_timestamp_forms_offset_z_and_naive_utc(tmp_path: Path) -> None:
    text = (
        "symbol,timestamp,volume,open,high,low,close,note\n"  # any order, extra column
        "X,2024-11-04T09:30:00-05:00,1,1,1,1,1,a\n"
        "X,2024-11-04T14:31:00Z,1,1,1,1,1,b\n"
        "X,2024-11-04 14:32:00,1,1,1,1,1,c\n"
        "X,2024-11-04T14:33:00+00:00,1,1,1,1,1,d\n"
    )
    bars = load_bars([write(tmp_path, text)])
    assert [b.timestamp for b in bars] == [utc(2024, 11, 4, 14, m) for m in (30, 31, 32, 33)]


def test_symbol_na_is_a_ticker_not_missing(tmp_path: Path) -> None:
    bars = load_bars([write(tmp_path, HEADER + ROW1.replace("AAPL", "NA"))])
    assert bars[0].symbol == "NA"


def test_bom_crlf_and_blank_lines_are_tolerated(tmp_path: Path) -> None:
    text = ("\ufeff" + HEADER + ROW1 + "\n" + ROW2).replace("\n", "\r\n")
    assert len(load_bars([write(tmp_path, text)])) == 2


def test_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    text = "\n" + HEADER + ROW1 + "\n\n" + ROW2.replace("187.60", "187.05")
    message = load_error(write(tmp_path, text))
    assert message == "line 6 (data row 2): high '187.05' is below low '187.10'"


def test_round_trip_write_then_load(tmp_path: Path) -> None:
    bars = [
        bar("MSFT", utc(2024, 11, 1, 13, 30), "410.5 411 410 410.25", 7),
        bar("AAPL", utc(2024, 11, 1, 13, 30), "187.20 187.50 187.00 187.30", 0),
        bar("AAPL", utc(2024, 11, 1, 13, 31), "1E+2 100 1E+2 100", 5),
    ]
    path = tmp_path / "out.csv"
    write_bars_csv(bars, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "timestamp,symbol,open,high,low,close,volume"
    assert lines[1] == "2024-11-01T13:30:00+00:00,MSFT,410.5,411,410,410.25,7"
    assert lines[3] == "2024-11-01T13:31:00+00:00,AAPL,100,100,100,100,5"  # no exponents
    loaded = load_bars([path])
    assert loaded == sorted(bars, key=lambda b: (b.timestamp, b.symbol))
    assert [str(b.open) for b in loaded] == ["187.20", "410.5", "100"]


def test_write_converts_other_offsets_to_utc(tmp_path: Path) -> None:
    stamp = datetime(2024, 11, 1, 9, 30, tzinfo=ZoneInfo("America/New_York"))
    bar = Bar("X", stamp, Decimal(1), Decimal(1), Decimal(1), Decimal(1), 1)
    path = tmp_path / "out.csv"
    write_bars_csv([bar], path)
    assert path.read_text().splitlines()[1].startswith("2024-11-01T13:30:00+00:00,")


def test_write_rejects_naive_timestamps(tmp_path: Path) -> None:
    bar = Bar("X", datetime(2024, 11, 1, 13, 30), Decimal(1), Decimal(1), Decimal(1), Decimal(1), 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        write_bars_csv([bar], tmp_path / "out.csv")


def test_merge_of_two_files_sorted_by_timestamp_then_symbol(tmp_path: Path) -> None:
    spy = write(
        tmp_path,
        HEADER
        + "2024-11-01T13:30:00Z,SPY,570,571,569,570.5,10\n"
        + "2024-11-01T13:31:00Z,SPY,570.5,571,570,571,11\n",
        "spy.csv",
    )
    mixed = write(
        tmp_path,
        HEADER
        + "2024-11-01T13:30:00Z,MSFT,410,411,409,410,20\n"
        + "2024-11-01T13:30:00Z,AAPL,225,226,224,225,30\n"
        + "2024-11-01T13:32:00Z,AAPL,225,226,224,225,31\n",
        "mixed.csv",
    )
    bars = load_bars([spy, mixed])
    assert [(b.timestamp.minute, b.symbol) for b in bars] == [
        (30, "AAPL"),
        (30, "MSFT"),
        (30, "SPY"),
        (31, "SPY"),
        (32, "AAPL"),
    ]
    assert load_bars([mixed, spy]) == bars


def test_no_paths_gives_no_bars() -> None:
    assert load_bars([]) == []


def test_a_single_path_is_a_type_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError):
        load_bars(write(tmp_path, HEADER + ROW1))  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- parquet


def parquet_frame() -> pd.DataFrame:
    stamps = pd.to_datetime(["2024-11-01 13:30", "2024-11-01 13:31"]).tz_localize("UTC")
    return pd.DataFrame(
        {
            "timestamp": stamps.tz_convert("America/New_York"),
            "symbol": ["SPY", "SPY"],
            "open": [570.1, 0.1 + 0.2],
            "high": [570.3, 570.4],
            "low": [570.0, 0.1],
            "close": [570.2, 570.3],
            "volume": [100, 200],
            "extra": ["x", "y"],
        }
    )


@pytest.mark.parametrize("suffix", [".parquet", ".pq"])
def test_loads_parquet(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"bars{suffix}"
    parquet_frame().to_parquet(path)
    bars = load_bars([path])
    assert bars[0] == Bar(
        "SPY",
        utc(2024, 11, 1, 13, 30),
        Decimal("570.1"),
        Decimal("570.3"),
        Decimal("570"),
        Decimal("570.2"),
        100,
    )
    assert bars[1].open == Decimal("0.3")  # 0.30000000000000004 rounded to 6 places
    assert str(bars[0].low) == "570"
    assert bars[1].timestamp == utc(2024, 11, 1, 13, 31)
    assert bars[1].timestamp.tzinfo is UTC


def test_parquet_naive_and_string_timestamps_and_float_volume(tmp_path: Path) -> None:
    frame = parquet_frame()
    frame["timestamp"] = frame["timestamp"].dt.tz_convert("UTC").dt.tz_localize(None)
    frame["volume"] = [100.0, 200.0]
    naive = tmp_path / "naive.parquet"
    frame.to_parquet(naive)
    frame["timestamp"] = ["2024-11-01T09:30:00-04:00", "2024-11-01T13:31:00Z"]
    text = tmp_path / "text.parquet"
    frame.to_parquet(text)
    assert load_bars([naive]) == load_bars([text])
    assert [b.volume for b in load_bars([naive])] == [100, 200]


def test_parquet_decimal_prices_are_exact(tmp_path: Path) -> None:
    frame = parquet_frame()
    for column in ("open", "high", "low", "close"):
        frame[column] = [Decimal("570.10"), Decimal("570.30")]
    frame["high"] = [Decimal("570.50"), Decimal("570.50")]
    frame["low"] = [Decimal("570.00"), Decimal("570.00")]
    path = tmp_path / "dec.parquet"
    frame.to_parquet(path)
    assert [str(b.low) for b in load_bars([path])] == ["570.00", "570.00"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda f: f.loc.__setitem__((1, "open"), np.nan), "row 2: open price is NaN or missing"),
        (lambda f: f.loc.__setitem__((1, "high"), np.inf), "row 2: high price inf is not finite"),
        (lambda f: f.loc.__setitem__((1, "low"), 570.5), "row 2: high 570.4 is below low 570.5"),
        (
            lambda f: f.__setitem__("volume", [1.0, np.nan]),
            "row 2: volume is NaN or missing",
        ),
        (
            lambda f: f.__setitem__("volume", [1.0, 2.5]),
            "row 2: volume 2.5 is not a whole number",
        ),
        (lambda f: f.__setitem__("volume", [1, -1]), "row 2: volume -1 is negative"),
        (lambda f: f.loc.__setitem__((1, "symbol"), None), "row 2: missing symbol"),
        (
            lambda f: f.__setitem__("timestamp", [1, 2]),
            "row 1: timestamp 1 is a number, not an ISO-8601 timestamp",
        ),
        (
            lambda f: f.__setitem__("low", [570.0, 0.0000001]),
            "row 2: low price 0 is not positive after rounding to 6 places",
        ),
    ],
)
def test_parquet_errors(tmp_path: Path, change: object, expected: str) -> None:
    frame = parquet_frame()
    change(frame)  # type: ignore[operator]
    path = tmp_path / "bars.parquet"
    frame.to_parquet(path)
    assert load_error(path) == expected


def test_parquet_missing_column_and_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "bars.parquet"
    parquet_frame().drop(columns=["volume"]).to_parquet(path)
    assert load_error(path) == (
        "missing column(s): volume (found: timestamp, symbol, open, high, low, close, extra)"
    )
    path.write_text("not parquet at all")
    assert load_error(path).startswith("cannot read as Parquet: ")


# ------------------------------------------------------------------- file-level errors


def test_missing_file(tmp_path: Path) -> None:
    assert load_error(tmp_path / "nope.csv") == "file not found"


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    assert load_error(folder) == "not a regular file"


def test_unknown_format(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, HEADER + ROW1, "bars.txt"))
    assert message == "unknown bars file format '.txt'; expected .csv, .parquet or .pq"


def test_unreadable_csv(tmp_path: Path) -> None:
    path = tmp_path / "bars.csv"
    path.write_bytes(HEADER.encode() + b"2024-11-01T13:30:00Z,\xe9,1,1,1,1,1\n")
    assert load_error(path) == "cannot read as CSV: not UTF-8 text"


def test_ragged_row(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, HEADER + ROW1 + "2024-11-01T13:31:00Z,AAPL,1,2\n"))
    assert message == "line 3 (data row 2): expected 7 fields like the header, found 4"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "file is empty"),
        ("\n \r\n", "file is empty"),
        (HEADER, "file is empty (no bars after the header)"),
        (HEADER + "\n\n", "file is empty (no bars after the header)"),
    ],
)
def test_empty_files(tmp_path: Path, text: str, expected: str) -> None:
    assert load_error(write(tmp_path, text)) == expected


def test_missing_columns_are_named(tmp_path: Path) -> None:
    message = load_error(write(tmp_path, "timestamp,symbol,open,Close\nx,y,1,2\n"))
    assert message == (
        "missing column(s): high, low, close, volume (found: timestamp, symbol, open, Close)"
    )


# -------------------------------------------------------------------- row-level errors


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("2024-11-01T09:31:00-04:00", "yesterday", "unparseable timestamp 'yesterday'"),
        ("2024-11-01T09:31:00-04:00", "2024-13-01T09:31:00", "unparseable timestamp"),
        ("2024-11-01T09:31:00-04:00", "", "missing timestamp"),
        ("09:31:00", "09:31:30", "timestamp 2024-11-01T13:31:30+00:00 is not on a whole minute"),
        ("09:31:00", "09:31:00.250", "is not on a whole minute"),
        ("AAPL", "", "missing symbol"),
        ("187.30,187.60", "abc,187.60", "open price 'abc' is not a number"),
        ("187.30,187.60", ",187.60", "open price '' is not a number"),
        ("187.30,187.60", "NaN,187.60", "open price is NaN or missing"),
        ("187.60", "inf", "high price 'inf' is not finite"),
        ("187.60", "-Infinity", "high price '-Infinity' is not finite"),
        ("187.10", "0", "low price '0' is not positive"),
        ("187.40,900", "-1,900", "close price '-1' is not positive"),
        ("187.60", "187.05", "high '187.05' is below low '187.10'"),
        (
            "187.30,187.60",
            "187.70,187.60",
            "open '187.70' is outside [low '187.10', high '187.60']",
        ),
        (
            "187.30,187.60",
            "187.05,187.60",
            "open '187.05' is outside [low '187.10', high '187.60']",
        ),
        ("187.40,900", "187.61,900", "close '187.61' is outside [low '187.10', high '187.60']"),
        ("187.40,900", "187.09,900", "close '187.09' is outside [low '187.10', high '187.60']"),
        (",900", ",-5", "volume -5 is negative"),
        (",900", ",-5.0", "volume '-5.0' is negative"),
        (",900", ",9.5", "volume '9.5' is not a whole number"),
        (",900", ",nan", "volume is NaN"),
        (",900", ",", "volume is NaN or missing"),
        (",900", ",lots", "volume 'lots' is not a number"),
    ],
)
def test_row_errors_name_the_line(tmp_path: Path, old: str, new: str, expected: str) -> None:
    message = bad_row2(tmp_path, old, new)
    assert message.startswith("line 3 (data row 2): "), message
    assert expected in message, message


def test_integral_volume_written_as_float_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + ROW1 + ROW2.replace(",900", ",900.0"))
    assert load_bars([path])[1].volume == 900


def test_exact_decimal_check_catches_ties_invisible_to_floats(tmp_path: Path) -> None:
    row = "2024-11-01T13:30:00Z,X,1.00000000000000000002,1.00000000000000000001,1,1,5\n"
    message = load_error(write(tmp_path, HEADER + row))
    assert message == (
        "line 2 (data row 1): open 1.00000000000000000002 is outside "
        "[low 1, high 1.00000000000000000001]"
    )


def test_duplicate_within_a_file(tmp_path: Path) -> None:
    other = ROW1.replace("AAPL", "MSFT")
    message = load_error(write(tmp_path, HEADER + ROW1 + other + ROW1))
    assert message == (
        "line 4 (data row 3): duplicate bar for AAPL at 2024-11-01T13:30:00+00:00 "
        "(first on line 2 (data row 1))"
    )


def test_same_instant_in_different_offsets_is_a_duplicate(tmp_path: Path) -> None:
    again = ROW1.replace("2024-11-01T09:30:00-04:00", "2024-11-01T13:30:00Z")
    assert "duplicate bar for AAPL" in load_error(write(tmp_path, HEADER + ROW1 + again))


def test_unsorted_timestamps_name_the_line_going_backwards(tmp_path: Path) -> None:
    other = ROW2.replace("AAPL", "MSFT")  # a different symbol still may not go back in time
    message = load_error(write(tmp_path, HEADER + ROW1 + other + ROW1.replace("AAPL", "SPY")))
    assert message == (
        "line 4 (data row 3): timestamp 2024-11-01T13:30:00+00:00 goes backwards from "
        "2024-11-01T13:31:00+00:00 on line 3 (data row 2); a file must be sorted by time"
    )


def test_equal_timestamps_for_different_symbols_are_sorted(tmp_path: Path) -> None:
    rows = ROW1 + ROW1.replace("AAPL", "MSFT") + ROW2
    assert len(load_bars([write(tmp_path, HEADER + rows)])) == 3


def test_duplicate_across_files_names_both(tmp_path: Path) -> None:
    first = write(tmp_path, HEADER + ROW1 + ROW2, "a.csv")
    second = write(tmp_path, HEADER + ROW2.replace("AAPL", "MSFT") + ROW2, "b.csv")
    with pytest.raises(BarsFileError) as caught:
        load_bars([first, second])
    assert str(caught.value) == (
        f"{second}: line 3 (data row 2): duplicate bar for AAPL at "
        f"2024-11-01T13:31:00+00:00, already in {first} at line 3 (data row 2)"
    )


def test_first_problem_in_a_later_file_is_reported_with_that_file(tmp_path: Path) -> None:
    good = write(tmp_path, HEADER + ROW1, "good.csv")
    bad = write(tmp_path, HEADER + ROW1.replace("187.20", "x"), "bad.csv")
    with pytest.raises(BarsFileError, match=re.escape(f"{bad}: line 2 (data row 1): open")):
        load_bars([good, bad])


# ---------------------------------------------------------------------------- speed


def test_100k_rows_of_csv_and_parquet_load_to_the_same_bars(tmp_path: Path) -> None:
    # How fast they load is measured by bench/replay.py (load_bars), never by a timed test.
    symbols = ["AAPL", "MSFT", "SPY", "QQQ"]
    start = utc(2024, 11, 4, 14, 30)
    rng = np.random.default_rng(0)
    cents = rng.integers(10_000, 20_000, size=100_000)
    bars = [
        Bar(
            symbols[i % 4],
            start + timedelta(minutes=i // 4),
            Decimal(int(c)) / 100,
            Decimal(int(c) + 5) / 100,
            Decimal(int(c) - 5) / 100,
            Decimal(int(c)) / 100,
            int(c) * 3,
        )
        for i, c in enumerate(cents)
    ]
    csv_path = tmp_path / "big.csv"
    write_bars_csv(bars, csv_path)
    parquet_path = tmp_path / "big.parquet"
    pd.read_csv(csv_path).to_parquet(parquet_path)
    expected = sorted(bars, key=lambda b: (b.timestamp, b.symbol))
    for path in (csv_path, parquet_path):
        assert load_bars([path]) == expected, path.name


def test_loaded_bars_carry_floats_equal_to_their_decimals(tmp_path):
    path = tmp_path / "bars.csv"
    path.write_text(
        "timestamp,symbol,open,high,low,close,volume\n"
        "2024-11-01T13:30:00Z,AAPL,187.20,187.35,187.05,187.30,1200\n"
        "2024-11-01T13:31:00Z,AAPL,187.30,187.30,0.1,0.3,7\n"
    )
    for bar in load_bars([path]):
        assert bar.floats == (
            float(bar.open),
            float(bar.high),
            float(bar.low),
            float(bar.close),
            float(bar.volume),
        )
        assert bar.floats == bar.as_floats()
