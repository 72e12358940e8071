"""Keeping the cyclic garbage collector off objects that live as long as the work does, and
handing the GIL over sooner while a save's writer thread waits on the database.

A replay allocates an event object per decision; every full collection would walk the whole
loaded bar list again. Frozen objects are skipped; `unfreeze` hands them back afterwards, so a
long process (the test suite, say) leaks nothing.

The collector is also paused for the block: a replay's objects are freed by reference counting
(a 100k-bar replay leaves a few dozen objects in cycles), so its collections find nothing.
Only the CLI and the bench use this; API backtests run in threads and leave the GC alone.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def freeze_heap() -> None:
    """Take what exists now out of the cyclic GC's view for good: a long-running process (the
    API server, the live trader) keeps what it made at start, and every full collection would
    walk it again, pausing every thread."""
    gc.collect()
    gc.freeze()


@contextmanager
def frozen_heap() -> Iterator[None]:
    """The same for a block (a replay), handed back afterwards, with the collector paused."""
    freeze_heap()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        gc.unfreeze()


SAVE_SWITCH_INTERVAL = 0.0005  # seconds; CPython's default is 0.005


@contextmanager
def quick_gil_handover() -> Iterator[None]:
    """A replay's save maps events in this thread while a writer thread sends them; after each
    wait on the database the writer wants the GIL back, and gets it only at the next switch
    interval (see bench/README.md). The engine before the save runs alone: nothing else waits
    for the GIL then, so only the save changes."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, SAVE_SWITCH_INTERVAL))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)
