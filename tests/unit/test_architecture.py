"""Dependencies point inward, for every Python package (ui/ is TypeScript).

The allowed directions are written once, in `MAY_IMPORT`; docs/ARCHITECTURE.md's layer table
says the same. An import that breaks them and cannot be moved yet is named in `KNOWN` with the
reason, so it stays visible (and the test fails once it is gone, so the list cannot go stale).
"""

from __future__ import annotations

import ast
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package: what of ours it may import besides itself ("pkg" a package, "pkg.module" one module).
MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "domain": (),
    "application": ("domain",),
    "projections": ("domain", "application"),
    "api": ("domain", "application", "projections"),
    # Adapters may use `projections.db`, the one SQL dialect layer (it imports nothing of ours);
    # the rest of `projections`, and `api`, only the composition root wires in.
    "infrastructure": ("domain", "application", "projections.db"),
}
# The CLI is the composition root: it builds every adapter, read model and the HTTP app.
COMPOSITION_ROOT = ("infrastructure/cli/",)
OURS = set(MAY_IMPORT)

# (file, what it imports): why it still does. Remove an entry when its import goes.
KNOWN: dict[tuple[str, str], str] = {
    ("api/services.py", "infrastructure.settings"): "Services carries the pydantic Settings, "
    "read by many routes; needs an API-side settings type first",
    ("api/feed_control.py", "infrastructure.bars_io"): "the paper feed loads its bars file "
    "itself; the loader should come in through Services from the composition root",
    ("api/feed_control.py", "infrastructure.sim_broker"): "the paper feed builds its "
    "simulated broker itself; same",
    ("api/market_data.py", "infrastructure.bars_io"): "the chart dataset loads bars files "
    "itself; same",
    ("api/market_data.py", "infrastructure.indicator_series"): "the chart series are "
    "pandas-ta's (an adapter); same",
    ("infrastructure/backtest_stores.py", "projections.runner"): "a backtest's workspace "
    "runs the projections into its own store; it is composition and belongs with the root",
}

# Third-party libraries the inner layers keep out of (the domain allows only eventsourcing's
# aggregate base, checked below).
APPLICATION_FORBIDDEN_LIBRARIES = {
    "pandas",
    "numpy",
    "talib",
    "pandas_ta",
    "alpaca",
    "fastapi",
    "psycopg",
    "sqlite3",
}


def modules_imported(path: Path) -> Iterator[str]:
    """Every absolute module an import statement in `path` names, at any depth."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def allowed(importer: str, module: str) -> bool:
    package = importer.split("/")[0]
    if module.split(".")[0] == package or importer.startswith(COMPOSITION_ROOT):
        return True
    return any(module == rule or module.startswith(rule + ".") for rule in MAY_IMPORT[package])


def violations() -> set[tuple[str, str]]:
    found = set()
    for package in MAY_IMPORT:
        for path in python_files(package):
            importer = path.relative_to(ROOT).as_posix()
            for module in modules_imported(path):
                if module.split(".")[0] in OURS and not allowed(importer, module):
                    found.add((importer, _known_key(importer, module)))
    return found


def _known_key(importer: str, module: str) -> str:
    """The imported module, cut to the depth KNOWN names it at (a module, not its members)."""
    for known_importer, known_module in KNOWN:
        if known_importer == importer and (
            module == known_module or module.startswith(known_module + ".")
        ):
            return known_module
    return module


def test_every_python_package_has_a_place_in_the_layers():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    assert {pattern.rstrip("*") for pattern in included} == set(MAY_IMPORT)


def test_packages_import_only_inward():
    unexpected = violations() - KNOWN.keys()
    assert not unexpected, "imports against the layers: " + ", ".join(
        f"{importer} -> {module}" for importer, module in sorted(unexpected)
    )


def test_known_exceptions_are_still_needed():
    gone = KNOWN.keys() - violations()
    assert not gone, f"no longer imported; remove from KNOWN: {sorted(gone)}"


def test_only_the_composition_root_imports_the_api():
    for package in MAY_IMPORT:
        for path in python_files(package):
            importer = path.relative_to(ROOT).as_posix()
            if package == "api" or importer.startswith(COMPOSITION_ROOT):
                continue
            api = [m for m in modules_imported(path) if m.split(".")[0] == "api"]
            assert not api, f"{importer} imports {api}"


def test_the_sql_dialect_layer_imports_nothing_of_ours():
    """Why adapters may use `projections.db`: it is a leaf, so no cycle goes through it."""
    ours = {m for m in modules_imported(ROOT / "projections/db.py") if m.split(".")[0] in OURS}
    assert not ours


def test_domain_imports_only_the_standard_library_and_its_aggregate_base():
    for path in python_files("domain"):
        for module in modules_imported(path):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in {"__future__", "domain"}:
                continue
            assert module == "eventsourcing.domain", f"{path.relative_to(ROOT)} imports {module}"


@pytest.mark.parametrize("path", python_files("application"), ids=lambda p: p.name)
def test_application_uses_no_adapter_library(path):
    libraries = {m.split(".")[0] for m in modules_imported(path)}
    assert not libraries & APPLICATION_FORBIDDEN_LIBRARIES, path.relative_to(ROOT)


def test_domain_reads_no_wall_clock_or_randomness():
    banned = ("datetime.now", "datetime.utcnow", "date.today", "time.time", "uuid4", "random")
    for path in python_files("domain"):
        source = path.read_text()
        for word in banned:
            assert word not in source, f"{path.relative_to(ROOT)} uses {word}"
