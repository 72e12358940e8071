"""Keeping the cyclic garbage collector off objects that live as long as the work does.

A replay allocates an event object per decision; every full collection would walk the whole
loaded bar list again. Frozen objects are skipped; `unfreeze` hands them back afterwards, so a
long process (the test suite, say) leaks nothing.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def frozen_heap() -> Iterator[None]:
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
