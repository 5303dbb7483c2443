"""The symmetries of ARC tasks (a dihedral transform and a recolouring that keeps 0), and
canonical keys equal under all of them."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Grid, dihedral, dihedral_inverse


@dataclass(frozen=True)
class ArcAugmentation:
    """A dihedral transform, then a recolouring that keeps 0 (usually the background) fixed."""

    transform: int
    colours: tuple[int, ...]
    """colours[c] is the new colour of colour c; colours[0] == 0."""

    def apply(self, grid: Grid) -> Grid:
        return [[self.colours[c] for c in row] for row in dihedral(grid, self.transform)]

    def invert(self, grid: Grid) -> Grid:
        original = {new: old for old, new in enumerate(self.colours)}
        return dihedral_inverse([[original[c] for c in row] for row in grid], self.transform)


def random_augmentation(rng: random.Random) -> ArcAugmentation:
    """One of the 8 dihedral transforms with one of the 9! recolourings that fix colour 0."""
    colours = list(range(1, 10))
    rng.shuffle(colours)
    return ArcAugmentation(rng.randrange(8), (0, *colours))


def _relabel(grid: Grid) -> str:
    """The grid with non-zero colours renumbered by first appearance, as text."""
    order: dict[int, int] = {0: 0}
    rows = []
    for row in grid:
        rows.append("".join(str(order.setdefault(c, len(order))) for c in row))
    return "/".join(rows)


def canonical_key(grid: Grid) -> str:
    """A key shared by exactly the grids one augmentation apart (any dihedral transform and
    recolouring fixing 0), so held-out grids stay held out under augmentation."""
    return min(_relabel(dihedral(grid, index)) for index in range(8))
