"""ARC grids as the model's tokens: a 30x30 canvas with the grid at the top-left and
end-of-grid markers just below and just right of it, so the model can say how big its answer
is."""

from __future__ import annotations

import torch

from ..base import Grid
from .grid import SIDE, check_grid

PAD, MARKER, COLOUR_OFFSET = 0, 1, 2
"""Token ids: padding, end-of-grid marker, then colours 0..9 as 2..11."""
VOCAB_SIZE = COLOUR_OFFSET + 10


def encode(grid: Grid) -> torch.Tensor:
    """The grid at the top-left of a 30x30 canvas, end-of-grid markers on the row below it and
    the column right of it (where they fit), padding elsewhere."""
    grid = check_grid(grid, "grid")
    height, width = len(grid), len(grid[0])
    tokens = torch.full((SIDE, SIDE), PAD, dtype=torch.int64)
    tokens[:height, :width] = torch.tensor(grid, dtype=torch.int64) + COLOUR_OFFSET
    if height < SIDE:
        tokens[height, : width + 1] = MARKER
    if width < SIDE:
        tokens[: height + 1, width] = MARKER
    return tokens


def _extent(tokens: list[int]) -> int:
    """How far a line of tokens runs before its first marker or padding (at least 1)."""
    for i, token in enumerate(tokens):
        if token in (PAD, MARKER):
            return max(1, i)
    return max(1, len(tokens))


def decode(tokens: torch.Tensor) -> Grid:
    """The grid in a (predicted) canvas: cropped at the first marker or padding along row 0
    and column 0; anything but a colour inside the crop reads as colour 0."""
    rows = tokens.detach().cpu().tolist()
    width = _extent(rows[0])
    height = _extent([row[0] for row in rows])
    return [
        [t - COLOUR_OFFSET if COLOUR_OFFSET <= t < VOCAB_SIZE else 0 for t in row[:width]]
        for row in rows[:height]
    ]
