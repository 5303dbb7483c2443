"""The generator: mazes of many styles and sizes whose labels are a function of the maze."""

from __future__ import annotations

import random

from ..base import Grid, Puzzle
from .grid import (
    GOAL,
    MAX_SIDE,
    OPEN,
    START,
    WALL,
    Cell,
    cells_with,
    distances,
    flat_index,
    mark,
    shortest_route,
    unflat_index,
)
from .layouts import STYLES, layout
from .render import generated_style

HARD_STYLES = ("perfect", "braided", "percolated", "rooms", "random_walls", "open_field")
"""Styles whose 30x30 mazes reach Maze-Hard route lengths (see `generate`)."""
_OPEN_STYLES = ("random_walls", "open_field")
TIERS = ("small", "medium", "large", "hard")
_TIER_SIDES = {"small": (6, 12), "medium": (13, 20), "large": (21, 30), "hard": (30, 30)}
HARD_MIN_PATH = 111
"""Hard mazes need more than 110 path cells (the Maze-Hard threshold)."""
_HARD_EXTRA_PATH = 29
_MAX_ATTEMPTS = 10_000


def generate(rng: random.Random, tier: str) -> tuple[Puzzle, Grid]:
    """A fresh maze of `tier` and its solution. Each maze draws its own style, sides (height and
    width apart, so many are not square), wall ring or none, far ends or ends anywhere at a
    minimum distance, and one or several shortest routes: the habits of no single generator.
    hard is 30x30 with a route of more than 110 path cells (a target drawn from 111..140), as in
    Maze-Hard, in every style that reaches such routes."""
    low, high = _tier_sides(tier)
    if tier == "hard":
        target = rng.randint(HARD_MIN_PATH, HARD_MIN_PATH + _HARD_EXTRA_PATH)
        return generate_maze(rng, high, high, rng.choice(HARD_STYLES), min_path=target)
    height, width = rng.randint(low, high), rng.randint(low, high)
    return generate_maze(rng, height, width, rng.choice(STYLES))


def canvas_shape(tier: str) -> tuple[int, int]:
    """The largest (H, W) a maze of `tier` can have."""
    high = _tier_sides(tier)[1]
    return high, high


def _tier_sides(tier: str) -> tuple[int, int]:
    if tier not in _TIER_SIDES:
        raise ValueError(f"Unknown maze tier {tier!r}; expected one of {TIERS}.")
    return _TIER_SIDES[tier]


def generate_maze(
    rng: random.Random,
    height: int,
    width: int,
    style: str = "perfect",
    wall_fraction: float | None = None,
    min_path: int | None = None,
    ring: bool | None = None,
    border: tuple[int, int, int, int] | None = None,
    far_ends: bool | None = None,
    ties: bool | None = None,
) -> tuple[Puzzle, Grid]:
    """A height x width maze of `style` and its solution: one shortest route from S to G marked.

    Styles: perfect (recursive backtracker: long 1-cell corridors, one route between any two
    cells), branching (the same grown from random points: many short dead ends), braided
    (perfect with 10-90% of its dead ends opened into loops), percolated (rooms on a lattice,
    each wall between two rooms opened at random, over a perfect maze or over nothing: pillar
    grids with many loops and many shortest routes), rooms (recursive division into
    rooms joined by doors), random_walls (each cell a wall with probability `wall_fraction`,
    default 0.1..0.55) and open_field (open ground with a few wall bars).

    The options left at None are drawn at random: `ring`, a wall all around (needs sides >= 5),
    `border` (top, bottom, left, right), its thickness on each side, 0-2 cells (a ring drawn at
    random is 1 cell all around or 1-2 cells a side, some sides bare);
    `far_ends`, S on the rim of its region and G farthest from it, or else S anywhere and G any
    cell at least `min_path` path cells away; `ties`, whether several shortest routes may stay
    (else rival routes are walled off, which never changes the route's length). Where there are
    several, the solution is the canonical one of `shortest_path` (at every step the first of
    up, down, left, right that stays on a shortest route); `verify` accepts any shortest route
    and the model learns them all (`training_target`). `min_path` is the fewest path cells
    (excluding S and G) to accept, by default (height + width) // 4; routes too short are
    lengthened by walling route cells one at a time while G stays reachable.
    """
    if not (2 <= height <= MAX_SIDE and 2 <= width <= MAX_SIDE):
        raise ValueError(f"Maze sides must be 2..{MAX_SIDE}; got {height}x{width}.")
    if style not in STYLES:
        raise ValueError(f"Unknown maze style {style!r}; expected one of {STYLES}.")
    if style not in _OPEN_STYLES and max(height, width) < 3:
        raise ValueError(f"A {style} maze needs a side of at least 3; got {height}x{width}.")
    need = (height + width) // 4 if min_path is None else min_path
    for _ in range(_MAX_ATTEMPTS):
        top, bottom, left, right = _border(rng, height, width, ring, border)
        inner = height - top - bottom, width - left - right
        grid = _add_border(layout(rng, *inner, style, wall_fraction), top, bottom, left, right)
        ends = _place_ends(rng, grid, need, _draw(rng, far_ends))
        if ends is None:
            continue
        route = _lengthen(rng, grid, ends, need)
        if route is None:
            continue
        if not _draw(rng, ties):
            _untie(rng, grid, route)
        grid[ends[0][0]][ends[0][1]], grid[ends[1][0]][ends[1][1]] = START, GOAL
        return Puzzle(kind="maze", grid=grid, style=generated_style(), family=style), mark(
            grid, shortest_route(grid, *ends)
        )
    raise RuntimeError(
        f"No {height}x{width} {style} maze with a shortest path of {need}+ cells "
        f"in {_MAX_ATTEMPTS} tries."
    )


def _draw(rng: random.Random, choice: bool | None) -> bool:
    """The given choice, or a fair coin where none was given."""
    return rng.random() < 0.5 if choice is None else choice


def _border(
    rng: random.Random,
    height: int,
    width: int,
    ring: bool | None,
    border: tuple[int, int, int, int] | None,
) -> tuple[int, int, int, int]:
    """Wall thickness on the top, bottom, left and right: as given; none without a ring; one
    cell all around for a ring asked for; a ring drawn at random is that half the time, else
    0-2 cells on each side. Never leaves less than 3 cells inside."""
    if border is None:
        with_ring = _draw(rng, ring) and min(height, width) >= 5
        border = (with_ring,) * 4
        if with_ring and ring is None and rng.random() < 0.5:
            border = tuple(rng.randint(0, 2) for _ in range(4))
    top, bottom, left, right = border
    if height - top - bottom < 3 or width - left - right < 3:
        return 0, 0, 0, 0
    return top, bottom, left, right


def _add_border(grid: Grid, top: int, bottom: int, left: int, right: int) -> Grid:
    """The grid inside walls of the given thickness on each side."""
    width = len(grid[0]) + left + right
    rows = [[WALL] * left + row + [WALL] * right for row in grid]
    return [[WALL] * width for _ in range(top)] + rows + [[WALL] * width for _ in range(bottom)]


def _place_ends(rng: random.Random, grid: Grid, need: int, far: bool) -> tuple[Cell, Cell] | None:
    """S and G on open cells (not yet marked). far: S on a farthest cell from a random open
    cell (the rim of its region) and G farthest from S. Otherwise S is any open cell and G any
    cell at least `need` path cells away, or a farthest one where none is that far. None when
    S is walled in."""
    open_cells = cells_with(grid, OPEN)
    if not open_cells:
        return None
    start = rng.choice(open_cells)
    if far:
        start = unflat_index(grid, rng.choice(_argmax(distances(grid, start))))
    from_start = distances(grid, start)
    if max(from_start) < 1:
        return None
    far_enough = [i for i, steps in enumerate(from_start) if steps - 1 >= need]
    if far or not far_enough:
        return start, unflat_index(grid, rng.choice(_argmax(from_start)))
    return start, unflat_index(grid, rng.choice(far_enough))


def _lengthen(
    rng: random.Random, grid: Grid, ends: tuple[Cell, Cell], need: int
) -> list[Cell] | None:
    """Wall random cells of the shortest route, keeping G reachable, until the route has
    `need` path cells; returns it, or None once every route cell is a cut cell (walling it
    would cut S from G)."""
    cut: set[Cell] = set()
    route = shortest_route(grid, *ends)
    while route is not None and len(route) - 2 < need:
        free = [cell for cell in route[1:-1] if cell not in cut]
        if not free:
            return None
        r, c = rng.choice(free)
        grid[r][c] = WALL
        longer = shortest_route(grid, *ends)
        if longer is None:
            grid[r][c] = OPEN
            cut.add((r, c))
        else:
            route = longer
    return route


def _untie(rng: random.Random, grid: Grid, route: list[Cell]) -> None:
    """Wall random cells that lie on a shortest route other than `route` until it is the only
    shortest one; its length never changes, since none of its cells is walled."""
    on_route = {flat_index(grid, cell) for cell in route}
    length = len(route) - 1
    while True:
        from_start, from_goal = distances(grid, route[0]), distances(grid, route[-1])
        rivals = [
            i
            for i, (there, back) in enumerate(zip(from_start, from_goal))
            if there >= 0 and there + back == length and i not in on_route
        ]
        if not rivals:
            return
        r, c = unflat_index(grid, rng.choice(rivals))
        grid[r][c] = WALL


def _argmax(values: list[int]) -> list[int]:
    best = max(values)
    return [i for i, value in enumerate(values) if value == best]
