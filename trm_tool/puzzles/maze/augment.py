"""The symmetries of mazes (the 8 of the square) and canonical keys equal under all of them."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Grid, dihedral, dihedral_inverse


@dataclass(frozen=True)
class Dihedral:
    """One of the 8 symmetries of the square; mazes keep their meaning under all of them."""

    index: int

    def apply(self, grid: Grid) -> Grid:
        return dihedral(grid, self.index)

    def invert(self, grid: Grid) -> Grid:
        return dihedral_inverse(grid, self.index)


def random_augmentation(rng: random.Random) -> Dihedral:
    """A random dihedral view, for training data and test-time voting."""
    return Dihedral(rng.randrange(8))


def canonical_key(grid: Grid) -> str:
    """The same key for a grid and all 8 of its rotations/reflections, so a held-out maze is
    recognised in training data in any orientation."""
    return min(_grid_key(dihedral(grid, index)) for index in range(8))


def _grid_key(grid: Grid) -> str:
    return f"{len(grid)}x{len(grid[0])}:" + "/".join("".join(map(str, row)) for row in grid)
