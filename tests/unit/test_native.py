"""The compiled indicator calculators (infrastructure/native.py) compute what their interpreted
source computes, bit for bit, and a stale build is noticed."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from infrastructure.native import ROOT, SOURCES, compiled_files, stale_modules, up_to_date

MODULES = {name: importlib.import_module(name[:-3].replace("/", ".")) for name in SOURCES}
COMPILED = all(module.__file__ and module.__file__.endswith(".so") for module in MODULES.values())

needs_build = pytest.mark.skipif(
    not COMPILED and os.environ.get("CI") != "true",
    reason="the indicators are not compiled here (run `make native`)",
)


def interpreted_modules() -> dict[str, ModuleType]:
    """Each compiled module run from its .py source instead. volume.py subclasses averages'
    WindowMean, so it is run against the interpreted averages (an interpreted class cannot
    subclass a compiled one)."""
    loaded: dict[str, ModuleType] = {}
    saved = sys.modules.get("domain.indicators.averages")
    try:
        for name in SOURCES:
            spec = importlib.util.spec_from_file_location(f"interpreted.{name}", ROOT / name)
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = module
            if name.endswith("averages.py"):
                sys.modules["domain.indicators.averages"] = module
    finally:
        sys.modules["domain.indicators.averages"] = saved  # type: ignore[assignment]
    return loaded


INTERPRETED = interpreted_modules()

# (module, class, constructor arguments)
CALCULATORS: list[tuple[str, str, tuple[Any, ...]]] = [
    ("domain/indicators/averages.py", "SMA", (5,)),
    ("domain/indicators/averages.py", "EMA", (10,)),
    ("domain/indicators/averages.py", "MACD", (12, 26, 9)),
    ("domain/indicators/averages.py", "MACD", (3, 5, 2)),
    ("domain/indicators/bands.py", "BBands", (20, 2.0)),
    ("domain/indicators/bands.py", "BBands", (4, 1.5)),
    ("domain/indicators/oscillators.py", "RSI", (14,)),
    ("domain/indicators/oscillators.py", "RSI", (2,)),
    ("domain/indicators/oscillators.py", "Stoch", (14, 3, 3)),
    ("domain/indicators/oscillators.py", "Stoch", (2, 1, 2)),
    ("domain/indicators/volume.py", "VolumeSMA", (5,)),
    ("domain/indicators/volume.py", "OBV", ()),
]


@st.composite
def bars(draw: st.DrawFn) -> list[tuple[float, float, float, float]]:
    """Random walks of (high, low, close, volume), with flat stretches and big moves."""
    price = draw(st.floats(1, 5000))
    steps = draw(st.lists(st.floats(-0.05, 0.05) | st.just(0.0), min_size=40, max_size=150))
    out = []
    for step in steps:
        price = max(0.01, price * (1 + step))
        spread = price * draw(st.floats(0, 0.01))
        volume = float(draw(st.integers(0, 10**7)))
        out.append((price + spread, max(0.0, price - spread), price, volume))
    return out


@needs_build
def test_the_indicators_are_compiled():
    assert COMPILED, [m.__file__ for m in MODULES.values()]


@needs_build
@pytest.mark.parametrize(("source", "name", "args"), CALCULATORS)
@settings(max_examples=60, deadline=None)
@given(series=bars())
def test_a_compiled_calculator_gives_the_interpreted_outputs_bit_for_bit(
    source: str, name: str, args: tuple[Any, ...], series: list[tuple[float, ...]]
) -> None:
    compiled = getattr(MODULES[source], name)(*args)
    interpreted = getattr(INTERPRETED[source], name)(*args)
    assert type(compiled) is not type(interpreted)  # really two implementations
    for high, low, close, volume in series:
        assert compiled.update(high, low, close, volume) == interpreted.update(
            high, low, close, volume
        )


def test_a_compiled_module_older_than_its_source_is_stale(tmp_path: Path) -> None:
    source = tmp_path / SOURCES[0]
    source.parent.mkdir(parents=True)
    source.write_text("x = 1\n")
    assert stale_modules(tmp_path) == []  # nothing compiled: nothing stale
    assert not up_to_date(tmp_path)  # but a build is needed
    built = source.with_name(f"{source.stem}.cpython-312-x86_64-linux-gnu.so")
    built.write_bytes(b"")
    assert compiled_files(source) == [built]
    os.utime(built, (1_000_000, 1_000_000))
    os.utime(source, (2_000_000, 2_000_000))
    assert stale_modules(tmp_path) == [SOURCES[0]]
    assert not up_to_date(tmp_path)
    os.utime(built, (3_000_000, 3_000_000))
    assert stale_modules(tmp_path) == []
