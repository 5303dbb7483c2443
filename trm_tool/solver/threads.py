"""How many threads torch uses while a CPU solve runs.

Measured on a 2-core machine (issue 27; `python -m tests.reliability busy`): with torch's
default of one thread per core, an ARC fit of 16 s made 566 steps idle, 172 with one core busy
elsewhere and ~60 with both busy; with one thread it made 628, 484 and ~330, and Sudoku
latency was no worse. Threads that wait for each other collapse when another program takes a
core, so a CPU solve uses one thread and its cost grows in proportion to the load."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

CPU_THREADS = 1
"""torch intra-op threads while a CPU solve runs (None in a Solver: leave torch's setting)."""


@contextmanager
def torch_threads(count: int | None) -> Iterator[None]:
    """torch's intra-op threads set to `count` in this thread for the block, then set back.
    The setting is the calling thread's (OpenMP's), so the batching worker and a fitting
    caller each set their own."""
    saved = torch.get_num_threads()
    if count is None or count == saved:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(saved)
