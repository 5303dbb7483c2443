"""ARC grids: colours 0-9 in rows of at most 30, their names and palette, checked and written."""

from __future__ import annotations

import json
from typing import Any

from ..base import Grid, PuzzleError

SIDE = 30
"""ARC grids are at most 30x30; the model's canvas is this size."""
Pair = tuple[Grid, Grid]
"""A demonstration pair: (input grid, output grid)."""
COLOUR_NAMES = (
    "black",
    "blue",
    "red",
    "green",
    "yellow",
    "grey",
    "magenta",
    "orange",
    "azure",
    "maroon",
)
"""ARC's palette, colour 0..9, by the names the ARC community uses."""
COLOUR_CODES = {name: code for code, name in enumerate(COLOUR_NAMES)} | {
    "gray": 5,
    "pink": 6,
    "fuchsia": 6,
    "cyan": 8,
    "teal": 8,
    "brown": 9,
}
PALETTE = (
    (0x00, 0x00, 0x00),
    (0x00, 0x74, 0xD9),
    (0xFF, 0x41, 0x36),
    (0x2E, 0xCC, 0x40),
    (0xFF, 0xDC, 0x00),
    (0xAA, 0xAA, 0xAA),
    (0xF0, 0x12, 0xBE),
    (0xFF, 0x85, 0x1B),
    (0x7F, 0xDB, 0xFF),
    (0x87, 0x0C, 0x25),
)
"""RGB of colours 0..9 as the ARC testing interface draws them."""


def short(value: object) -> str:
    """A value for an error message: scalars briefly, containers by kind (never a huge repr)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        text = repr(value)
        return text if len(text) <= 20 else text[:17] + "..."
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def check_grid(value: object, label: str) -> Grid:
    """`value` as an ARC grid (a copy), or a PuzzleError saying what is wrong with `label`."""
    if not isinstance(value, list) or not value:
        raise PuzzleError(
            f"The {label} is not a grid: expected a non-empty list of rows of colours 0-9."
        )
    if len(value) > SIDE:
        raise PuzzleError(f"The {label} has {len(value)} rows; ARC grids are at most 30x30.")
    width = None
    for r, row in enumerate(value, 1):
        if not isinstance(row, list) or not row:
            raise PuzzleError(
                f"Row {r} of the {label} is {short(row)}; expected a non-empty list of colours."
            )
        if len(row) > SIDE:
            raise PuzzleError(
                f"Row {r} of the {label} has {len(row)} cells; ARC grids are at most 30x30."
            )
        width = width or len(row)
        if len(row) != width:
            raise PuzzleError(
                f"The {label} is not rectangular: row {r} has {len(row)} cells but row 1 has "
                f"{width}. Every row of a grid must have the same number of cells."
            )
        for cell in row:
            if type(cell) is not int or not 0 <= cell <= 9:
                problem = "is out of range" if type(cell) is int else "is not a colour"
                raise PuzzleError(
                    f"Row {r} of the {label} has {short(cell)}, which {problem}; colours are "
                    "whole numbers 0-9."
                )
    return [list(row) for row in value]


def grid_text(grid: Grid, style: dict[str, Any]) -> str:
    """A grid written the way `style` says: digit rows (ARC's own), a JSON list or colour names."""
    form = style.get("format", "digits")
    if form == "json":
        return json.dumps(grid)
    if form == "colours":
        names = style.get("names", COLOUR_NAMES)
        return "\n".join(" ".join(names[c] for c in row) for row in grid)
    sep = style.get("sep", "")
    return "\n".join(sep.join(str(c) for c in row) for row in grid)
