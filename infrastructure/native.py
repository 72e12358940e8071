"""The indicator calculators compiled to C with mypyc, from the same typed Python source.

They do the arithmetic of every bar of every replay, paper and live session, and compiled they
take less time (bench/README.md has the figures). Python imports a compiled
module (`averages.cpython-312-....so`, beside `averages.py`) ahead of its source; with no build,
or no C compiler, the same source runs interpreted and gives the same numbers bit for bit (C
doubles, the same operations in the same order; tests/unit/test_native.py holds them equal).

A compiled module older than its source is stale: Python would run the old code. `make` rebuilds
after any change; `stale_modules` names the stale ones, the tests refuse to start on them and
the CLI warns.

    python -m infrastructure.native build [--if-needed]   # `make` runs it with --if-needed
    python -m infrastructure.native clean                 # back to the interpreted source
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = (
    "domain/indicators/averages.py",
    "domain/indicators/bands.py",
    "domain/indicators/oscillators.py",
    "domain/indicators/volume.py",
)
# mypyc's shared runtime, inside the package: the editable install maps packages only, so a
# top-level module (mypyc's default) would not be found.
GROUP = "domain.indicators.native"


def compiled_files(source: Path) -> list[Path]:
    """The extension modules built from `source` (one per Python version and platform)."""
    return sorted(source.parent.glob(f"{source.stem}.*.so"))


def up_to_date(root: Path = ROOT) -> bool:
    """Every module compiled, and none older than its source."""
    return all(compiled_files(root / name) for name in SOURCES) and not stale_modules(root)


def stale_modules(root: Path = ROOT) -> list[str]:
    """The compiled modules older than their source."""
    stale = []
    for name in SOURCES:
        source = root / name
        built = compiled_files(source)
        if built and min(f.stat().st_mtime for f in built) < source.stat().st_mtime:
            stale.append(name)
    return stale


def build(root: Path = ROOT) -> None:
    """Compile SOURCES in place (needs mypy's mypyc, setuptools and a C compiler)."""
    from mypyc.build import mypycify  # build tools: imported only to build
    from setuptools import setup

    with tempfile.TemporaryDirectory(prefix="openbell-native-") as tmp:
        here = Path.cwd()
        os.chdir(root)  # mypyc names modules by their paths from here
        try:
            extensions = mypycify(list(SOURCES), group_name=GROUP, target_dir=f"{tmp}/c")
            setup(
                name="openbell-native",
                ext_modules=extensions,
                script_args=[
                    "-q",
                    "build_ext",
                    "--inplace",
                    f"--build-temp={tmp}/build",
                    f"--build-lib={tmp}/lib",
                ],
            )
        finally:
            os.chdir(here)


def clean(root: Path = ROOT) -> list[Path]:
    """Remove every compiled module (and the shared runtime); returns what was removed."""
    package = (root / SOURCES[0]).parent
    removed = [f for name in SOURCES for f in compiled_files(root / name)]
    removed += sorted(package.glob(f"{GROUP.rsplit('.', 1)[1]}__mypyc.*.so"))
    for path in removed:
        path.unlink()
    return removed


def main(argv: list[str]) -> int:
    command = argv[0] if argv else ""
    if command == "build":
        if "--if-needed" in argv[1:] and up_to_date():
            return 0
        try:
            build()
        except (Exception, SystemExit) as exc:  # setuptools reports a failed compile by exit
            clean()  # no stale half of a build left behind
            print(f"error: could not compile {', '.join(SOURCES)}: {exc}", file=sys.stderr)
            return 1
        print(f"compiled {len(SOURCES)} modules with mypyc: {', '.join(SOURCES)}")
        return 0
    if command == "clean":
        print(f"removed {len(clean())} compiled files")
        return 0
    print("usage: python -m infrastructure.native build [--if-needed] | clean", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
