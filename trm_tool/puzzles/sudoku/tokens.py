"""Sudoku grids as the model's tokens, fixed by the shipped checkpoints: PAD=0, blank=1,
digit d -> d + 1."""

from __future__ import annotations

import torch

from ..base import Grid, PuzzleError
from .grid import require_cells, to_grid

VOCAB_SIZE = 11
"""PAD=0, blank=1, digits 1..9 -> 2..10."""


def encode(grid: Grid) -> torch.Tensor:
    """A grid as a [9, 9] int64 tensor of token ids: blank -> 1, digit d -> d + 1."""
    cells = require_cells(grid)
    return torch.tensor([d + 1 for d in cells], dtype=torch.int64).reshape(9, 9)


def decode(tokens: torch.Tensor) -> Grid:
    """Token ids back to a grid; anything but a digit token (2-10) becomes a blank."""
    if tokens.numel() != 81:
        raise PuzzleError(
            f"Expected 81 Sudoku tokens, got a tensor of shape {tuple(tokens.shape)}."
        )
    ids = tokens.reshape(81).to(torch.int64).tolist()
    return to_grid([t - 1 if 2 <= t <= 10 else 0 for t in ids])
