"""Where a grid sits in text. Every reader finds the 81 cells as character spans in the text.
The text between the spans becomes the puzzle's style ("pieces"), so `render` writes an
answer in exactly the input's layout by putting new symbols into the same spans."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .grid import Cells, cell_value

CELL_CLASS = r"0-9._*\-"
SEP_CLASS = r" \t\r\f\v,;|\u00a6\u2500-\u257f"
"""Characters allowed between cells on a grid line: spaces, commas, bars, box drawing."""
CELL = re.compile(f"[{CELL_CLASS}]")


@dataclass
class Found:
    """A grid located in the text: its cells, their spans, and how to write blanks there."""

    fmt: str
    cells: Cells
    spans: list[tuple[int, int]]
    start: int
    end: int
    blanks: list[str]


@dataclass
class Miss:
    """Why a reader found no grid; `weight` (cells it did find) ranks competing reasons."""

    weight: int
    reason: str
    from_list: bool = False


DEFINITE = 10_000
"""Weight of a miss that names a bad value: it outranks any cell count."""


def found_from_chars(fmt: str, text: str, positions: list[int], start: int, end: int) -> Found:
    """A grid whose cells are single characters at `positions` of `text`. Blanks are written
    with the input's first blank symbol other than space (callers mark where spaces go)."""
    symbols = [text[p] for p in positions]
    blank = next((s for s in symbols if s != " " and cell_value(s) == 0), ".")
    return Found(
        fmt=fmt,
        cells=[cell_value(s) for s in symbols],
        spans=[(p, p + 1) for p in positions],
        start=start,
        end=end,
        blanks=[blank] * 81,
    )
