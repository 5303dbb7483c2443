"""The official TRM datasets' token encodings, for models imported from the official code.

Official Sudoku and maze ids are ours (Sudoku PAD 0, blank 1, digits 2-10; maze charset
"# SGo" -> 1..5), and official maze models read only their 30x30 canvas, which the model
config pads with walls (`canvas_fill`). Official ARC differs from our ARC encoding: the
corner cell where the end-of-grid row and column meet is padding, and answers are cropped to
the largest top-left rectangle of colours; `OfficialArc` is the ARC kind with that encoding.
"""

from __future__ import annotations

import math
import random
from typing import Any

import torch
from torch import Tensor

from .puzzles import Grid, PuzzleError, PuzzleKind

MAZE_CHARSET = "# SGo"
"""Official maze characters; token id = index + 1 (0 is padding): the same ids as ours."""
MAZE_WALL = 1
ARC_PAD, ARC_EOS, ARC_COLOUR_OFFSET = 0, 1, 2


def sudoku_tokens(line: str) -> Tensor:
    """An 81-character Sudoku-Extreme CSV puzzle ('.' or 0 blank) as official token ids."""
    if len(line) != 81 or any(c not in ".0123456789" for c in line):
        raise PuzzleError(f"Expected 81 characters of digits and '.', got {line[:90]!r}.")
    return torch.tensor([int(c) + 1 if c != "." else 1 for c in line]).view(9, 9)


def maze_tokens(line: str) -> Tensor:
    """A square Maze-Hard CSV maze (charset '# SGo') as official token ids."""
    side = math.isqrt(len(line))
    if side * side != len(line) or set(line) - set(MAZE_CHARSET):
        raise PuzzleError(f"Expected a square maze of the characters {MAZE_CHARSET!r}.")
    return torch.tensor([MAZE_CHARSET.index(c) + 1 for c in line]).view(side, side)


def arc_tokens(grid: Grid, side: int = 30, offset: tuple[int, int] = (0, 0)) -> Tensor:
    """An ARC grid on the official side x side canvas at `offset` (top-left (0, 0) at test
    time): colours + 2, end-of-grid marks on the row below the grid (over its columns) and on
    the column right of it (over its rows) where they fit, padding elsewhere (the corner too)."""
    height, width = len(grid), len(grid[0]) if grid else 0
    top, left = offset
    if not (height and width) or top + height > side or left + width > side:
        raise PuzzleError(
            f"A {height}x{width} ARC grid at offset {offset} does not fit the model's "
            f"{side}x{side} canvas."
        )
    tokens = torch.full((side, side), ARC_PAD, dtype=torch.int64)
    tokens[top : top + height, left : left + width] = torch.tensor(grid) + ARC_COLOUR_OFFSET
    if top + height < side:
        tokens[top + height, left : left + width] = ARC_EOS
    if left + width < side:
        tokens[top : top + height, left + width] = ARC_EOS
    return tokens


def arc_translation(rng: random.Random, grids: list[Grid], side: int = 30) -> tuple[int, int]:
    """The official training augmentation: one random offset for an input/output pair, so the
    larger of the grids still fits the canvas."""
    height = max(len(g) for g in grids)
    width = max(len(g[0]) for g in grids)
    return rng.randint(0, side - height), rng.randint(0, side - width)


def arc_grid(tokens: Tensor) -> Grid:
    """The official read-out: the largest top-left rectangle of colour tokens (at least 1x1;
    anything else in it reads as colour 0)."""
    rows = tokens.tolist()
    width, best, shape = len(rows[0]), 0, (1, 1)
    for height, row in enumerate(rows, start=1):
        width = next((c for c, t in enumerate(row[:width]) if not is_colour(t)), width)
        if height * width > best:
            best, shape = height * width, (height, width)
    return [
        [t - ARC_COLOUR_OFFSET if is_colour(t) else 0 for t in row[: shape[1]]]
        for row in rows[: shape[0]]
    ]


def is_colour(token: int) -> bool:
    return ARC_COLOUR_OFFSET <= token < ARC_COLOUR_OFFSET + 10


class OfficialArc:
    """The ARC kind with the official encoding on a side x side canvas; everything else
    (parsing, rendering, augmentation, ...) is the ARC kind's."""

    def __init__(self, base: PuzzleKind, side: int):
        self.base, self.side = base, side

    def __getattr__(self, name: str) -> Any:
        return getattr(self.base, name)

    def encode(self, grid: Grid) -> Tensor:
        return arc_tokens(grid, self.side)

    def decode(self, tokens: Tensor) -> Grid:
        return arc_grid(tokens)
