"""The exact check of an answer, the training target and the classical baseline solver
(breadth-first search)."""

from __future__ import annotations

from typing import Any

from ..base import Grid, Puzzle
from .grid import (
    GOAL,
    OPEN,
    PATH,
    all_shortest_routes,
    cells_with,
    distances,
    endpoints,
    flat_index,
    path_coordinates,
    shortest_path,
)


def verify(puzzle: Puzzle, grid: Grid) -> bool:
    """True iff `grid` is the puzzle with one shortest S-G route marked and nothing else changed.
    Never raises: any malformed grid is simply not a solution."""
    question = puzzle.grid
    if not _same_shape_ints(grid, question):
        return False
    for row, question_row in zip(grid, question):
        for code, asked in zip(row, question_row):
            if code != asked and not (asked == OPEN and code == PATH):
                return False
    ends = endpoints(question)
    if ends is None:
        return False
    shortest = distances(question, ends[0])[flat_index(question, ends[1])]
    marked = sum(code == PATH for row in grid for code in row)
    return shortest > 0 and marked == shortest - 1 and len(path_coordinates(grid)) == shortest + 1


def _same_shape_ints(grid: Any, like: Grid) -> bool:
    return (
        isinstance(grid, list)
        and len(grid) == len(like)
        and all(
            isinstance(row, list)
            and len(row) == len(other)
            and all(type(code) is int for code in row)
            for row, other in zip(grid, like)
        )
    )


def solve_exact(puzzle: Puzzle) -> Grid | None:
    """The BFS shortest path (the classical baseline)."""
    return shortest_path(puzzle.grid)


def training_target(puzzle: Puzzle, solution: Grid) -> Grid:
    """What the model learns to write: every cell of every shortest route, since `verify`
    accepts any of them and labels need no tie-breaking."""
    return all_shortest_routes(puzzle.grid)


def goal_steps(puzzle: Puzzle) -> Grid:
    """Steps from each cell to the goal, -1 for walls and cells that cannot reach it: the
    auxiliary target. The route is the walk from S down these steps, so a latent that holds
    them can tell which side of a loop is shorter, where filling dead ends cannot."""
    grid = puzzle.grid
    goals = cells_with(grid, GOAL)
    steps = distances(grid, goals[0]) if len(goals) == 1 else [-1] * (len(grid) * len(grid[0]))
    width = len(grid[0])
    return [steps[r * width : (r + 1) * width] for r in range(len(grid))]
