"""Tasks whose rule is one whole-grid operation (a flip, a recolouring, an upscale, ...), on
grids of the training material and on random grids. ARC's real tasks are few (800 with
material), and a network pretrained on them alone rarely meets one operation often enough to
learn it; these make the common building blocks of ARC rules plentiful, each under its own
task row, so that fitting a new task can start from a network that already has them."""

from __future__ import annotations

import functools
import random
from collections.abc import Callable

from ..base import Grid, Puzzle, dihedral
from .augment import random_augmentation
from .grid import SIDE, Pair
from .tasks import training_material

OPERATIONS = "operations"
"""The tier of grid-operation tasks (pretraining material, and a validation set for fitting)."""


def _upscale(grid: Grid, factor: int) -> Grid:
    return [[c for c in row for _ in range(factor)] for row in grid for _ in range(factor)]


def _crop_to_content(grid: Grid) -> Grid | None:
    """The bounding box of the non-zero cells (None for an all-zero grid)."""
    rows = [r for r, row in enumerate(grid) if any(row)]
    cols = [c for c in range(len(grid[0])) if any(row[c] for row in grid)]
    if not rows:
        return None
    return [row[cols[0] : cols[-1] + 1] for row in grid[rows[0] : rows[-1] + 1]]


def _gravity(grid: Grid) -> Grid:
    """Every non-zero cell falls to the bottom of its column, keeping their order."""
    columns = []
    for c in range(len(grid[0])):
        cells = [row[c] for row in grid if row[c]]
        columns.append([0] * (len(grid) - len(cells)) + cells)
    return [list(row) for row in zip(*columns)]


def _recolouring(seed: int) -> tuple[int, ...]:
    """A fixed permutation of colours 1..9 (0 stays)."""
    colours = list(range(1, 10))
    random.Random(f"recolour/{seed}").shuffle(colours)
    return (0, *colours)


def _recolour(grid: Grid, colours: tuple[int, ...]) -> Grid:
    return [[colours[c] for c in row] for row in grid]


GRID_OPERATIONS: dict[str, Callable[[Grid], Grid | None]] = {
    **{f"dihedral-{d}": functools.partial(dihedral, index=d) for d in range(1, 8)},
    **{f"recolour-{k}": functools.partial(_recolour, colours=_recolouring(k)) for k in range(6)},
    "upscale-2": functools.partial(_upscale, factor=2),
    "upscale-3": functools.partial(_upscale, factor=3),
    "tile-2x2": lambda g: [row * 2 for row in g] * 2,
    "mirror-right": lambda g: [row + row[::-1] for row in g],
    "mirror-down": lambda g: g + g[::-1],
    "crop-to-content": _crop_to_content,
    "gravity-down": _gravity,
}
"""Name -> grid -> grid (None where the operation does not apply)."""


def _random_grid(rng: random.Random) -> Grid:
    height, width = rng.randint(1, 15), rng.randint(1, 15)
    colours = rng.sample(range(1, 10), rng.randint(1, 4))
    density = rng.uniform(0.1, 0.9)
    return [
        [rng.choice(colours) if rng.random() < density else 0 for _ in range(width)]
        for _ in range(height)
    ]


def _material_grid(rng: random.Random) -> Grid:
    """A grid of the ARC-AGI-1 training material under a random augmentation, or (half the
    time) a random grid of at most 15x15 (small grids teach an operation faster)."""
    if rng.random() < 1 / 2:
        return _random_grid(rng)
    tasks, index = training_material("arc1")
    task_number, pair_number = rng.choice(index)
    return random_augmentation(rng).apply(rng.choice(tasks[task_number][1][pair_number]))


def _operation_pair(rng: random.Random, name: str) -> Pair:
    while True:
        grid = _material_grid(rng)
        out = GRID_OPERATIONS[name](grid)
        if out and len(out) <= SIDE and len(out[0]) <= SIDE:
            return grid, out


def operation_task(rng: random.Random, name: str, n_examples: int = 3) -> tuple[Puzzle, Grid]:
    """A task of the named operation: n_examples demonstration pairs and a test pair."""
    *examples, (grid, out) = (_operation_pair(rng, name) for _ in range(n_examples + 1))
    return Puzzle(kind="arc", grid=grid, examples=examples, task_id=f"op/{name}"), out
