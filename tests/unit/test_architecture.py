"""Dependencies point inward: domain <- application <- infrastructure, projections, api."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The domain may use the standard library and the eventsourcing library's aggregate base only.
DOMAIN_ALLOWED = {"domain", "eventsourcing"}
FORBIDDEN_EVERYWHERE_INWARD = {
    "application": {
        "infrastructure",
        "api",
        "projections",
        "pandas",
        "numpy",
        "talib",
        "pandas_ta",
        "alpaca",
        "fastapi",
        "psycopg",
        "sqlite3",
    },
}


def imports_of(package: str) -> dict[Path, set[str]]:
    found = {}
    for path in (ROOT / package).rglob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[path] = names
    return found


def test_domain_imports_only_the_standard_library_and_its_aggregate_base():
    for path, names in imports_of("domain").items():
        outside = {n for n in names if n not in sys.stdlib_module_names and n != "__future__"}
        assert outside <= DOMAIN_ALLOWED, (
            f"{path.relative_to(ROOT)} imports {outside - DOMAIN_ALLOWED}"
        )


def test_domain_uses_only_eventsourcing_domain_module():
    for path in (ROOT / "domain").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("eventsourcing"):
                assert node.module == "eventsourcing.domain", path


@pytest.mark.parametrize("package", sorted(FORBIDDEN_EVERYWHERE_INWARD))
def test_application_depends_on_no_adapter(package):
    forbidden = FORBIDDEN_EVERYWHERE_INWARD[package]
    for path, names in imports_of(package).items():
        assert not names & forbidden, f"{path.relative_to(ROOT)} imports {names & forbidden}"


def test_domain_reads_no_wall_clock_or_randomness():
    banned = ("datetime.now", "datetime.utcnow", "date.today", "time.time", "uuid4", "random")
    for path in (ROOT / "domain").rglob("*.py"):
        source = path.read_text()
        for word in banned:
            assert word not in source, f"{path.relative_to(ROOT)} uses {word}"
