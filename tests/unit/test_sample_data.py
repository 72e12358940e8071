from __future__ import annotations

import re
import shlex
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pytest

from domain.bars import Bar
from domain.units import NEW_YORK
from infrastructure.bars_io import load_bars
from infrastructure.sample_data import generate_bars, main, sessions_between

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample" / "bars.csv"
README = ROOT / "data" / "sample" / "README.md"

SAMPLE_DAYS = [
    date(2024, 10, 31),
    date(2024, 11, 1),
    date(2024, 11, 4),
    date(2024, 11, 5),
    date(2024, 11, 27),
    date(2024, 11, 29),
]
SAMPLE_PRICES = {"AAPL": Decimal(225), "MSFT": Decimal(410), "SPY": Decimal(570)}


@pytest.fixture(scope="module")
def sample() -> list[Bar]:
    return generate_bars(["AAPL", "MSFT", "SPY"], SAMPLE_DAYS, 7, SAMPLE_PRICES)


def by_symbol_and_day(bars: list[Bar]) -> dict[tuple[str, date], list[Bar]]:
    groups: dict[tuple[str, date], list[Bar]] = defaultdict(list)
    for bar in bars:
        groups[bar.symbol, bar.timestamp.astimezone(NEW_YORK).date()].append(bar)
    return groups


def test_deterministic(sample: list[Bar]) -> None:
    again = generate_bars(["AAPL", "MSFT", "SPY"], SAMPLE_DAYS, 7, SAMPLE_PRICES)
    assert again == sample
    assert [repr(b) for b in again] == [repr(b) for b in sample]
    other_seed = generate_bars(["AAPL", "MSFT", "SPY"], SAMPLE_DAYS, 8, SAMPLE_PRICES)
    assert other_seed != sample


def test_a_symbol_does_not_depend_on_the_other_symbols(sample: list[Bar]) -> None:
    alone = generate_bars(["MSFT"], SAMPLE_DAYS, 7, {"MSFT": Decimal(410)})
    assert alone == [b for b in sample if b.symbol == "MSFT"]


def test_sorted_by_timestamp_then_symbol(sample: list[Bar]) -> None:
    keys = [(b.timestamp, b.symbol) for b in sample]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_bar_count_per_session(sample: list[Bar]) -> None:
    groups = by_symbol_and_day(sample)
    assert len(groups) == 3 * 6
    for (_, day), bars in groups.items():
        assert len(bars) == (210 if day == date(2024, 11, 29) else 390), day
    assert len(sample) == 3 * (5 * 390 + 210)


def test_every_minute_of_the_session_in_utc(sample: list[Bar]) -> None:
    groups = by_symbol_and_day(sample)
    for (_, day), bars in groups.items():
        summer = day < date(2024, 11, 3)  # DST ended on 2024-11-03
        first = datetime.combine(day, time(13, 30) if summer else time(14, 30), tzinfo=UTC)
        assert [b.timestamp for b in bars] == [
            first + timedelta(minutes=i) for i in range(len(bars))
        ]
        assert all(b.timestamp.tzinfo is UTC for b in bars)
    last = groups["SPY", date(2024, 11, 29)][-1]
    assert last.timestamp == datetime(2024, 11, 29, 17, 59, tzinfo=UTC)  # 12:59 EST
    assert last.closed_at.astimezone(NEW_YORK).time() == time(13)


def test_skips_days_that_are_not_sessions() -> None:
    days = [date(2024, 11, 28), date(2024, 11, 30), date(2024, 11, 29), date(2024, 11, 29)]
    bars = generate_bars(["X"], days, 1)
    assert {b.timestamp.date() for b in bars} == {date(2024, 11, 29)}
    assert len(bars) == 210
    assert generate_bars(["X"], [date(2024, 11, 28)], 1) == []


def test_ohlc_invariants(sample: list[Bar]) -> None:
    cent = Decimal("0.01")
    for bar in sample:
        assert bar.high >= max(bar.open, bar.close), bar
        assert bar.low <= min(bar.open, bar.close), bar
        assert bar.low > 0, bar
        for price in (bar.open, bar.high, bar.low, bar.close):
            assert price == price.quantize(cent)
            assert price.as_tuple().exponent == -2
        assert isinstance(bar.volume, int)
        assert bar.volume > 0


def test_prices_stay_near_the_start_and_open_continues_the_close(sample: list[Bar]) -> None:
    for (symbol, _), bars in by_symbol_and_day(sample).items():
        start = SAMPLE_PRICES[symbol]
        assert all(start * Decimal("0.85") < b.close < start * Decimal("1.15") for b in bars)
        for before, after in pairwise(bars):
            assert after.open == before.close
    first = [b for b in sample if b.timestamp == sample[0].timestamp]
    assert [b.open for b in first] == [Decimal(225), Decimal(410), Decimal(570)]


def test_volume_is_u_shaped(sample: list[Bar]) -> None:
    for (_, day), bars in by_symbol_and_day(sample).items():
        volumes = [b.volume for b in bars]
        n = len(volumes)
        opening = sum(volumes[:30]) / 30
        midday = sum(volumes[n // 2 - 30 : n // 2 + 30]) / 60
        closing = sum(volumes[-15:]) / 15
        assert opening > 1.5 * midday, day
        assert closing > 1.5 * midday, day


def test_start_price_defaults_from_the_seed() -> None:
    bars = generate_bars(["ZZZ"], [date(2024, 11, 1)], 3)
    again = generate_bars(["ZZZ"], [date(2024, 11, 1)], 3)
    assert bars == again
    assert Decimal(20) <= bars[0].open <= Decimal(500)


def test_bad_arguments() -> None:
    with pytest.raises(TypeError):
        generate_bars("AAPL", SAMPLE_DAYS, 7)
    with pytest.raises(ValueError, match="duplicate"):
        generate_bars(["A", "A"], SAMPLE_DAYS, 7)
    with pytest.raises(ValueError, match="positive"):
        generate_bars(["A"], SAMPLE_DAYS, 7, {"A": Decimal(0)})


def test_sessions_between() -> None:
    assert sessions_between(date(2024, 11, 25), date(2024, 12, 2)) == [
        date(2024, 11, 25),
        date(2024, 11, 26),
        date(2024, 11, 27),
        date(2024, 11, 29),
        date(2024, 12, 2),
    ]
    assert sessions_between(date(2024, 11, 2), date(2024, 11, 3)) == []
    assert sessions_between(date(2024, 11, 5), date(2024, 11, 1)) == []
    assert sessions_between(date(2024, 11, 1), date(2024, 11, 1)) == [date(2024, 11, 1)]


def test_committed_sample_equals_the_generator(sample: list[Bar]) -> None:
    loaded = load_bars([SAMPLE])
    assert loaded == sample
    assert [repr(b) for b in loaded] == [repr(b) for b in sample]


def test_readme_command_regenerates_the_committed_file_byte_for_byte(tmp_path: Path) -> None:
    command = re.search(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    assert command is not None
    argv = shlex.split(command.group(1).replace("\\\n", " "))
    assert argv[:3] == [".venv/bin/python", "-m", "infrastructure.sample_data"]
    out = tmp_path / "bars.csv"
    argv = argv[3:]
    argv[argv.index("--out") + 1] = str(out)
    assert main(argv) == 0
    assert out.read_bytes() == SAMPLE.read_bytes()


def test_cli_start_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "nested" / "bars.csv"
    argv = ["--out", str(out), "--symbols", "SPY", "--start", "2024-11-27", "--end", "2024-12-01"]
    assert main([*argv, "--seed", "5"]) == 0
    assert "wrote 600 bars" in capsys.readouterr().out
    assert load_bars([out]) == generate_bars(["SPY"], [date(2024, 11, 27), date(2024, 11, 29)], 5)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2024-11-05", "--end", "2024-11-01"], "is after --end"),
        (["--days", "2024-11-28"], "not trading sessions: 2024-11-28 (Thanksgiving Day)"),
        (["--days", "2024-11-30"], "not trading sessions: 2024-11-30 (weekend)"),
        (["--days", "2024-11-01", "--start", "2024-11-01"], "either --days or --start/--end"),
        ([], "give --start and --end, or --days"),
        (["--start", "2024-11-02", "--end", "2024-11-03"], "no trading sessions between"),
        (["--days", "2024-13-01"], "not a date"),
        (["--days", "1999-12-31"], "outside the supported calendar years"),
        (["--days", "2024-11-01", "--symbols", "AAPL,,X"], "bad symbol ''"),
        (["--days", "2024-11-01", "--symbols", "A,A"], "duplicate symbols"),
        (["--days", "2024-11-01", "--start-prices", "AAPL=-1"], "bad start price"),
        (["--days", "2024-11-01", "--start-prices", "AAPL"], "bad start price"),
        (["--days", "2024-11-01", "--start-prices", "TSLA=1"], "not in --symbols: TSLA"),
        (["--days", "2024-11-01", "--seed", "x"], "invalid int value"),
    ],
)
def test_cli_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    out = tmp_path / "bars.csv"
    with pytest.raises(SystemExit) as exited:
        main(["--out", str(out), *args])
    assert exited.value.code != 0
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_cli_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["--out", str(blocker / "bars.csv"), "--days", "2024-11-01"]) == 1
    assert "cannot write" in capsys.readouterr().err
