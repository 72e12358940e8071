"""Hand-checkable behaviour of the streaming indicator calculators."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from domain.indicators import (
    EMA,
    KINDS,
    MACD,
    OBV,
    RSI,
    SMA,
    BBands,
    Calculator,
    Stoch,
    VolumeSMA,
    make_indicator,
)


def closes(calc: Calculator, values: Iterable[float]) -> list[tuple[float, ...] | None]:
    """Stream bars whose high, low and close all equal each value (volume 0)."""
    return [calc.update(v, v, v, 0.0) for v in values]


def bars(
    calc: Calculator, rows: Sequence[tuple[float, float, float, float]]
) -> list[tuple[float, ...] | None]:
    return [calc.update(*row) for row in rows]


def approx(values: Sequence[float]) -> Any:
    return pytest.approx(values, rel=1e-12, abs=1e-12)


# --- SMA / EMA / VolumeSMA ---------------------------------------------------------------


def test_sma_of_one_to_five_averages_the_last_three_closes() -> None:
    assert closes(SMA(3), [1, 2, 3, 4, 5]) == [None, None, (2.0,), (3.0,), (4.0,)]


def test_sma_warmup_is_its_period() -> None:
    calc = SMA(3)
    assert calc.warmup == 3
    assert calc.outputs == ("sma",)


def test_ema_is_seeded_with_the_sma_of_the_first_period_closes() -> None:
    # k = 2 / (3 + 1) = 0.5; seed = (1 + 2 + 3) / 3 = 2; then 2 + 0.5 * (10 - 2) = 6.
    assert closes(EMA(3), [1, 2, 3, 10, 6]) == [None, None, (2.0,), (6.0,), (6.0,)]


def test_ema_smoothing_factor_is_two_over_period_plus_one() -> None:
    out = closes(EMA(4), [4, 4, 4, 4, 9])
    assert out[3] == (4.0,)
    assert out[4] == approx([4 + 0.4 * 5])


def test_volume_sma_averages_volume_not_close() -> None:
    calc = VolumeSMA(2)
    out = bars(calc, [(1, 1, 1, 100.0), (9, 9, 9, 300.0), (5, 5, 5, 0.0)])
    assert out == [None, (200.0,), (150.0,)]
    assert calc.outputs == ("volume_sma",)


# --- RSI ---------------------------------------------------------------------------------


def test_rsi_of_a_constant_series_is_zero_like_talib() -> None:
    out = closes(RSI(3), [5.0] * 8)
    assert out[:3] == [None] * 3
    assert out[3:] == [(0.0,)] * 5


def test_rsi_of_a_rising_series_is_100_and_of_a_falling_one_is_0() -> None:
    assert closes(RSI(3), [1, 2, 3, 4, 5])[3:] == [(100.0,), (100.0,)]
    assert closes(RSI(3), [5, 4, 3, 2, 1])[3:] == [(0.0,), (0.0,)]


def test_rsi_uses_simple_means_first_then_wilder_smoothing() -> None:
    # Changes +1, -1: gain 0.5, loss 0.5 -> 50. Then +2: gain (0.5 + 2) / 2 = 1.25,
    # loss 0.5 / 2 = 0.25 -> 100 * 1.25 / 1.5.
    out = closes(RSI(2), [1, 2, 1, 3])
    assert out[:2] == [None, None]
    assert out[2] == approx([50.0])
    assert out[3] == approx([100 * 1.25 / 1.5])


def test_rsi_first_value_comes_after_period_changes() -> None:
    calc = RSI(14)
    assert calc.warmup == 15
    out = closes(calc, range(1, 20))
    assert out.index(next(o for o in out if o is not None)) == 14


# --- MACD --------------------------------------------------------------------------------


def test_macd_seeds_fast_ema_with_the_last_fast_closes_of_the_slow_window() -> None:
    # slow = (10 + 1 + 2) / 3, fast = (1 + 2) / 2 (closes [slow - fast, slow)), signal 1.
    out = closes(MACD(2, 3, 1), [10, 1, 2])
    macd = 1.5 - 13 / 3
    assert out[:2] == [None, None]
    assert out[2] == approx([macd, macd, 0.0])


def test_macd_signal_is_seeded_with_the_mean_of_the_first_signal_values() -> None:
    calc = MACD(2, 3, 2)
    assert calc.warmup == 4
    out = closes(calc, [10, 1, 2, 5])
    slow = 13 / 3
    fast = 1.5
    macd1 = fast - slow
    slow = (5 - slow) * 0.5 + slow  # k = 2 / 4
    fast = (5 - fast) * (2 / 3) + fast  # k = 2 / 3
    macd2 = fast - slow
    signal = (macd1 + macd2) / 2
    assert out[:3] == [None, None, None]
    assert out[3] == approx([macd2, signal, macd2 - signal])


def test_macd_outputs_and_warmup() -> None:
    calc = MACD(12, 26, 9)
    assert calc.outputs == ("macd", "signal", "hist")
    assert calc.warmup == 34
    out = closes(calc, [100.0 + (i % 7) for i in range(40)])
    assert all(o is None for o in out[:33])
    assert all(o is not None for o in out[33:])


# --- BBands ------------------------------------------------------------------------------


def test_bbands_use_the_population_standard_deviation() -> None:
    out = closes(BBands(3, 2.0), [1, 2, 3])
    dev = math.sqrt(2 / 3)
    assert out[:2] == [None, None]
    assert out[2] == approx([2 + 2 * dev, 2.0, 2 - 2 * dev])


def test_bbands_collapse_on_a_flat_window_even_after_movement() -> None:
    out = closes(BBands(3, 2.0), [7.3, 1.1, 9.9, 4.4, 4.4, 4.4, 4.4])
    upper, middle, lower = out[-1] or ()
    assert upper == middle == lower == pytest.approx(4.4, abs=1e-12)


def test_bbands_stay_accurate_for_a_tight_window_after_a_big_move() -> None:
    # The last window (five closes 1e-11 apart) comes before any periodic re-centring.
    values = [1.0, 1.9, 0.6, 1.4] + [1.3 + i * 1e-11 for i in range(5)]
    upper, middle, _ = closes(BBands(5, 1.0), values)[-1] or ()
    tight = [Fraction(v) for v in values[-5:]]
    mean = sum(tight) / 5
    exact = math.sqrt(float(sum((v - mean) ** 2 for v in tight) / 5))
    assert upper - middle == pytest.approx(exact, rel=1e-4)


def test_bbands_stay_accurate_for_tiny_moves_at_a_high_price() -> None:
    values = [10_000.0 + (1e-6 if i % 2 else 0.0) for i in range(200)]
    out = closes(BBands(4, 1.0), values)[-1] or ()
    # Window holds two of each value: population std = half the spread.
    assert out[0] - out[1] == pytest.approx(0.5e-6, rel=1e-3)


# --- Stoch -------------------------------------------------------------------------------


def test_stoch_is_zero_when_the_high_low_range_is_zero() -> None:
    out = closes(Stoch(3, 2, 2), [5.0] * 6)
    assert out[:4] == [None] * 4
    assert out[4:] == [(0.0, 0.0), (0.0, 0.0)]


def test_stoch_fast_k_uses_highest_high_and_lowest_low_of_k_bars() -> None:
    rows = [(10.0, 0.0, 5.0, 0.0), (8.0, 4.0, 6.0, 0.0), (9.0, 2.0, 8.0, 0.0)]
    # Bar 1: range [0, 10] -> 60; bar 2: window bars 1..2, range [2, 9] -> 600 / 7.
    out = bars(Stoch(2, 1, 1), rows)
    assert out[0] is None
    assert out[1] == approx([60.0, 60.0])
    assert out[2] == approx([600 / 7, 600 / 7])


def test_stoch_smooths_k_then_d_with_simple_averages() -> None:
    rows = [(10.0, 0.0, c, 0.0) for c in (1.0, 3.0, 8.0, 2.0)]  # fast %K = close * 10
    calc = Stoch(1, 2, 2)
    assert calc.warmup == 3
    out = bars(calc, rows)
    assert out[:2] == [None, None]
    assert out[2] == approx([55.0, 37.5])  # k: (30 + 80) / 2; d: (20 + 55) / 2
    assert out[3] == approx([50.0, 52.5])


def test_stoch_window_forgets_old_extremes() -> None:
    rows = [(100.0, 0.0, 50.0, 0.0)] + [(11.0, 10.0, 11.0, 0.0)] * 3
    out = bars(Stoch(2, 1, 1), rows)
    assert out[1] == approx([11.0, 11.0])
    assert out[2] == approx([100.0, 100.0])


# --- OBV ---------------------------------------------------------------------------------


def test_obv_starts_at_the_first_volume_and_follows_the_close_direction() -> None:
    rows = [(0, 0, c, v) for c, v in [(1, 10), (2, 20), (2, 30), (1, 40), (3, 5)]]
    calc = OBV()
    assert calc.warmup == 1
    assert bars(calc, rows) == [(10.0,), (30.0,), (30.0,), (-10.0,), (-5.0,)]


# --- validation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "build",
    [
        lambda: SMA(1),
        lambda: SMA(0),
        lambda: SMA(100_001),
        lambda: EMA(1),
        lambda: RSI(1),
        lambda: VolumeSMA(1),
        lambda: BBands(1, 2.0),
        lambda: BBands(20, 0.0),
        lambda: BBands(20, -2.0),
        lambda: BBands(20, math.nan),
        lambda: BBands(20, math.inf),
        lambda: MACD(26, 12, 9),
        lambda: MACD(12, 12, 9),
        lambda: MACD(1, 26, 9),
        lambda: MACD(12, 26, 0),
        lambda: Stoch(0, 3, 3),
        lambda: Stoch(14, 0, 3),
        lambda: Stoch(14, 3, 0),
    ],
)
def test_invalid_parameters_raise_value_error(build: Any) -> None:
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: SMA(14.0),  # type: ignore[arg-type]
        lambda: BBands(20, "2"),  # type: ignore[arg-type]
    ],
)
def test_parameters_of_the_wrong_type_raise_type_error(build: Any) -> None:
    """Interpreted or compiled (mypyc checks argument types itself), the same exception."""
    with pytest.raises(TypeError):
        build()


def test_a_boolean_period_is_refused() -> None:
    # Interpreted, check_period refuses the bool; compiled, mypyc passes True on as the int 1,
    # which is below every minimum period. (The factory refuses booleans before either.)
    with pytest.raises((TypeError, ValueError)):
        RSI(True)


def test_macd_rejects_fast_not_below_slow_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match=r"fast \(26\) must be less than slow \(12\)"):
        MACD(26, 12, 9)


# --- factory -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "params", "cls", "outputs"),
    [
        ("SMA", {"period": 5}, SMA, ("sma",)),
        ("EMA", {"period": 5}, EMA, ("ema",)),
        ("RSI", {"period": 14}, RSI, ("rsi",)),
        ("MACD", {"fast": 12, "slow": 26, "signal": 9}, MACD, ("macd", "signal", "hist")),
        ("BBANDS", {"period": 20, "std": 2}, BBands, ("upper", "middle", "lower")),
        ("STOCH", {"k": 14, "d": 3, "smooth": 3}, Stoch, ("k", "d")),
        ("VOLUME_SMA", {"period": 20}, VolumeSMA, ("volume_sma",)),
        ("OBV", {}, OBV, ("obv",)),
    ],
)
def test_factory_builds_each_kind(
    kind: str, params: dict[str, Any], cls: type, outputs: tuple[str, ...]
) -> None:
    calc = make_indicator(kind, params)
    assert isinstance(calc, cls)
    assert calc.outputs == outputs
    assert kind in KINDS


def test_factory_accepts_decimal_parameters() -> None:
    calc = make_indicator("BBANDS", {"period": Decimal("20"), "std": Decimal("2.5")})
    assert isinstance(calc, BBands)
    assert calc.period == 20
    assert isinstance(calc.period, int)
    assert calc.std == 2.5
    assert isinstance(calc.std, float)


def test_factory_ignores_rule_thresholds() -> None:
    rsi = make_indicator("RSI", {"period": 14, "oversold": Decimal(30), "overbought": 70})
    stoch = make_indicator(
        "STOCH", {"k": 14, "d": 3, "smooth": 3, "oversold": 20, "overbought": 80}
    )
    assert isinstance(rsi, RSI)
    assert isinstance(stoch, Stoch)


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("ADX", {"period": 14}, "unknown indicator kind"),
        ("rsi", {"period": 14}, "unknown indicator kind"),
        ("RSI", {}, "RSI needs parameter 'period'"),
        ("MACD", {"fast": 12, "slow": 26}, "MACD needs parameter 'signal'"),
        ("SMA", {"period": Decimal("2.5")}, "SMA period must be an integer"),
        ("SMA", {"period": "20"}, "SMA period must be an integer"),
        ("BBANDS", {"period": 20, "std": "2"}, "BBANDS std must be a number"),
        ("BBANDS", {"period": 20, "std": Decimal(0)}, "BBANDS std must be a finite number > 0"),
        ("STOCH", {"k": 14, "d": 3, "smooth": 0}, "STOCH smooth must be between 1"),
    ],
)
def test_factory_rejects_bad_input_with_value_error(
    kind: str, params: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make_indicator(kind, params)


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("SMA", {"period": 7}),
        ("EMA", {"period": 7}),
        ("RSI", {"period": 7}),
        ("MACD", {"fast": 3, "slow": 7, "signal": 4}),
        ("BBANDS", {"period": 7, "std": 1.5}),
        ("STOCH", {"k": 5, "d": 3, "smooth": 2}),
        ("VOLUME_SMA", {"period": 7}),
        ("OBV", {}),
    ],
)
def test_warmup_counts_the_bars_before_the_first_value(kind: str, params: dict[str, Any]) -> None:
    calc = make_indicator(kind, params)
    rows = [(10.0 + i % 3, 9.0 - i % 2, 9.5 + (i % 5) / 5, float(i)) for i in range(30)]
    out = bars(calc, rows)
    first = next(i for i, o in enumerate(out) if o is not None)
    assert first == calc.warmup - 1
    assert all(o is not None and len(o) == len(calc.outputs) for o in out[first:])
