"""The walls of each maze style, before the start and goal are placed."""

from __future__ import annotations

import random

from ..base import Grid
from .grid import OPEN, WALL, Cell, neighbours

STYLES = ("perfect", "branching", "braided", "percolated", "rooms", "random_walls", "open_field")
_BRAID_SHARES = (0.1, 0.9)
_WALL_FRACTIONS = (0.1, 0.55)
"""Wall share of random_walls mazes; denser than about 55% rarely leaves long routes."""


def layout(
    rng: random.Random, height: int, width: int, style: str, wall_fraction: float | None
) -> Grid:
    """Walls and open cells only."""
    if style == "random_walls":
        fraction = rng.uniform(*_WALL_FRACTIONS) if wall_fraction is None else wall_fraction
        return [
            [WALL if rng.random() < fraction else OPEN for _ in range(width)] for _ in range(height)
        ]
    if style == "open_field":
        return _open_field(rng, height, width)
    if style == "rooms":
        grid = [[OPEN] * width for _ in range(height)]
        _divide(rng, grid, (0, 0, height, width), rng.randint(1, 5))
        return grid
    grid, rooms = _carve_tree(rng, height, width, newest_first=style != "branching")
    if style == "braided":
        _braid(rng, grid, rooms)
    if style == "percolated":
        _percolate(rng, grid, rooms)
    return grid


def _lattice(rng: random.Random, side: int) -> range:
    """Room coordinates along one side: every other cell, from a random offset 0 or 1."""
    return range(rng.randrange(2), side, 2)


def _carve_tree(
    rng: random.Random, height: int, width: int, newest_first: bool
) -> tuple[Grid, list[Cell]]:
    """A perfect maze over rooms two cells apart, walls between, grown as a tree from one room:
    always from the newest room (recursive backtracking: long corridors) or from a random room
    of the tree (short branches everywhere)."""
    rows, cols = _lattice(rng, height), _lattice(rng, width)
    if len(rows) * len(cols) < 2:
        rows, cols = range(0, height, 2), range(0, width, 2)
    rooms = [(r, c) for r in rows for c in cols]
    grid = [[WALL] * width for _ in range(height)]
    first = rng.choice(rooms)
    grid[first[0]][first[1]] = OPEN
    growing = [first]
    while growing:
        at = len(growing) - 1 if newest_first else rng.randrange(len(growing))
        r, c = growing[at]
        fresh = [room for room in adjacent_rooms(grid, r, c) if grid[room[0]][room[1]] == WALL]
        if not fresh:
            growing[at] = growing[-1]
            growing.pop()
            continue
        nr, nc = rng.choice(fresh)
        grid[(r + nr) // 2][(c + nc) // 2] = OPEN
        grid[nr][nc] = OPEN
        growing.append((nr, nc))
    return grid, rooms


def adjacent_rooms(grid: Grid, r: int, c: int) -> list[Cell]:
    near = ((r - 2, c), (r + 2, c), (r, c - 2), (r, c + 2))
    return [(y, x) for y, x in near if 0 <= y < len(grid) and 0 <= x < len(grid[0])]


def _braid(rng: random.Random, grid: Grid, rooms: list[Cell]) -> None:
    """Open a wall out of a share of the dead ends (drawn per maze, 10-90%), turning the
    maze's tree into loops."""
    share = rng.uniform(*_BRAID_SHARES)
    for r, c in rooms:
        if len(neighbours(grid, (r, c))) != 1 or rng.random() >= share:
            continue
        closed = [
            (y, x)
            for y, x in adjacent_rooms(grid, r, c)
            if grid[(r + y) // 2][(c + x) // 2] == WALL
        ]
        if closed:
            y, x = rng.choice(closed)
            grid[(r + y) // 2][(c + x) // 2] = OPEN


def _percolate(rng: random.Random, grid: Grid, rooms: list[Cell]) -> None:
    """Open each wall between two adjacent rooms with one chance drawn per maze; half the time
    the perfect maze underneath is first walled up again, leaving bare rooms (percolation: some
    rooms are cut off, and S and G are placed within one region)."""
    share = rng.uniform(0.1, 0.6)
    if rng.random() < 0.5:
        share = rng.uniform(0.45, 0.75)
        for r, c in rooms:
            for y, x in adjacent_rooms(grid, r, c):
                grid[(r + y) // 2][(c + x) // 2] = WALL
    for r, c in rooms:
        for y, x in adjacent_rooms(grid, r, c):
            if (y, x) > (r, c) and rng.random() < share:
                grid[(r + y) // 2][(c + x) // 2] = OPEN


def _divide(rng: random.Random, grid: Grid, box: tuple[int, int, int, int], room: int) -> None:
    """Recursive division of the open box (top, left, height, width): a wall across it on an
    odd row or column with a door on an even one (so no later wall blocks a door), then the same
    on both sides, until the parts are at most `room` cells across."""
    top, left, height, width = box
    rows = [r for r in range(top + 1, top + height - 1) if r % 2]
    cols = [c for c in range(left + 1, left + width - 1) if c % 2]
    across = height > room and rows and (width <= room or not cols or height >= width)
    if not across and not (width > room and cols):
        return
    if across:
        r = rng.choice(rows)
        doors = [c for c in range(left, left + width) if c % 2 == 0]
        for c in range(left, left + width):
            grid[r][c] = WALL
        for c in rng.sample(doors, min(len(doors), 1 + (rng.random() < 0.3))):
            grid[r][c] = OPEN
        _divide(rng, grid, (top, left, r - top, width), room)
        _divide(rng, grid, (r + 1, left, top + height - r - 1, width), room)
    else:
        c = rng.choice(cols)
        doors = [r for r in range(top, top + height) if r % 2 == 0]
        for r in range(top, top + height):
            grid[r][c] = WALL
        for r in rng.sample(doors, min(len(doors), 1 + (rng.random() < 0.3))):
            grid[r][c] = OPEN
        _divide(rng, grid, (top, left, height, c - left), room)
        _divide(rng, grid, (top, c + 1, height, left + width - c - 1), room)


def _open_field(rng: random.Random, height: int, width: int) -> Grid:
    """Open ground with a few straight wall bars and blocks (about 5-25% walls)."""
    grid = [[OPEN] * width for _ in range(height)]
    target = rng.uniform(0.05, 0.25) * height * width
    walls = 0
    while walls < target:
        r, c = rng.randrange(height), rng.randrange(width)
        tall, wide = (rng.randint(1, max(1, height // 2)), 1)
        if rng.random() < 0.5:
            tall, wide = wide, rng.randint(1, max(1, width // 2))
        if rng.random() < 0.2:
            tall, wide = rng.randint(1, 3), rng.randint(1, 3)
        for y in range(r, min(height, r + tall)):
            for x in range(c, min(width, c + wide)):
                walls += grid[y][x] == OPEN
                grid[y][x] = WALL
    return grid
