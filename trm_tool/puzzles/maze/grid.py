"""Maze grids and routes: the meaning codes, breadth-first search, shortest routes."""

from __future__ import annotations

from collections import deque

from ..base import Grid

Cell = tuple[int, int]
OPEN, WALL, START, GOAL, PATH = 0, 1, 2, 3, 4
"""Meaning codes in Puzzle.grid and solution grids."""
MAX_SIDE = 30
_MOVE_LETTERS = {(-1, 0): "U", (1, 0): "D", (0, -1): "L", (0, 1): "R"}


def path_coordinates(grid: Grid) -> list[Cell]:
    """The route S..G (both included) traced through path cells; [] when the path cells do not
    lead from S to G without a fork."""
    ends = endpoints(grid)
    if ends is None:
        return []
    start, goal = ends
    route, seen = [start], {start}
    while True:
        steps = [
            cell
            for cell in neighbours(grid, route[-1])
            if cell not in seen and grid[cell[0]][cell[1]] in (PATH, GOAL)
        ]
        if goal in steps:
            return [*route, goal]
        if len(steps) != 1:
            return []
        route.append(steps[0])
        seen.add(steps[0])


def path_moves(grid: Grid) -> str:
    """The route as moves U/D/L/R from S to G; empty when there is no complete route."""
    route = path_coordinates(grid)
    return "".join(
        _MOVE_LETTERS[(r2 - r1, c2 - c1)] for (r1, c1), (r2, c2) in zip(route, route[1:])
    )


def shortest_path(grid: Grid) -> Grid | None:
    """The maze with one shortest route marked as path cells (ties go to the first of up, down,
    left, right), or None without exactly one S and G or a route: the exact baseline solver."""
    ends = endpoints(grid)
    route = shortest_route(grid, *ends) if ends else None
    return None if route is None else mark(grid, route)


def shortest_route(grid: Grid, start: Cell, goal: Cell) -> list[Cell] | None:
    """The first shortest route from start to goal in up/down/left/right order, or None."""
    to_goal = distances(grid, goal)
    if to_goal[flat_index(grid, start)] < 0:
        return None
    route = [start]
    while route[-1] != goal:
        left = to_goal[flat_index(grid, route[-1])] - 1
        route.append(
            next(n for n in neighbours(grid, route[-1]) if to_goal[flat_index(grid, n)] == left)
        )
    return route


def mark(grid: Grid, route: list[Cell]) -> Grid:
    """The grid with exactly the inner cells of `route` marked as path."""
    solved = [[OPEN if code == PATH else code for code in row] for row in grid]
    for r, c in route[1:-1]:
        solved[r][c] = PATH
    return solved


def all_shortest_routes(grid: Grid) -> Grid:
    """The maze with every cell of every shortest S-G route marked: the model's training target,
    a function of the maze that needs no tie-breaking (the unmarked maze where there is none)."""
    ends = endpoints(grid)
    solved = [[OPEN if code == PATH else code for code in row] for row in grid]
    if ends is None:
        return solved
    on_routes = _on_shortest_routes(solved, *ends)
    for index in on_routes or ():
        r, c = unflat_index(grid, index)
        if solved[r][c] == OPEN:
            solved[r][c] = PATH
    return solved


def one_route(grid: Grid) -> Grid:
    """The grid with one route kept where its marks are exactly the cells of one or more
    shortest S-G routes through S, G and the marks themselves (what a model trained on
    `all_shortest_routes` writes for a maze with tied routes); unchanged otherwise (a gap, a
    stray mark), so the exact check still refuses what the model got wrong."""
    ends = endpoints(grid)
    if ends is None:
        return grid
    marks_only = [[code if code in (START, GOAL, PATH) else WALL for code in row] for row in grid]
    on_routes = _on_shortest_routes(marks_only, *ends)
    marked = {flat_index(grid, cell) for cell in cells_with(grid, PATH)}
    if on_routes is None or not marked <= on_routes:
        return grid
    return mark(grid, shortest_route(marks_only, *ends))


def _on_shortest_routes(grid: Grid, start: Cell, goal: Cell) -> set[int] | None:
    """Row-major indices of the cells on some shortest route from start to goal (both ends
    included), or None when there is no route."""
    from_start, from_goal = distances(grid, start), distances(grid, goal)
    length = from_start[flat_index(grid, goal)]
    if length < 0:
        return None
    return {
        i
        for i, (there, back) in enumerate(zip(from_start, from_goal))
        if there >= 0 and back >= 0 and there + back == length
    }


def count_shortest_paths(grid: Grid) -> int:
    """How many distinct shortest routes lead from S to G (0 if none)."""
    ends = endpoints(grid)
    if ends is None:
        return 0
    start, goal = ends
    return _layers(grid, start)[1][flat_index(grid, goal)]


def endpoints(grid: Grid) -> tuple[Cell, Cell] | None:
    starts, goals = cells_with(grid, START), cells_with(grid, GOAL)
    return (starts[0], goals[0]) if len(starts) == len(goals) == 1 else None


def cells_with(grid: Grid, code: int) -> list[Cell]:
    return [(r, c) for r, row in enumerate(grid) for c, value in enumerate(row) if value == code]


def neighbours(grid: Grid, cell: Cell) -> list[Cell]:
    """In-bounds cells next to `cell` that are not walls, in the order up, down, left, right."""
    r, c = cell
    near = ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
    return [
        (y, x)
        for y, x in near
        if 0 <= y < len(grid) and 0 <= x < len(grid[0]) and grid[y][x] != WALL
    ]


def flat_index(grid: Grid, cell: Cell) -> int:
    return cell[0] * len(grid[0]) + cell[1]


def unflat_index(grid: Grid, index: int) -> Cell:
    return divmod(index, len(grid[0]))


def distances(grid: Grid, source: Cell) -> list[int]:
    """BFS steps from `source` to every cell, row-major, -1 where unreachable."""
    return _layers(grid, source)[0]


def _layers(grid: Grid, source: Cell) -> tuple[list[int], list[int]]:
    """BFS from `source`: steps to each cell (-1 unreachable) and the number of shortest routes
    to it, counted layer by layer, both row-major."""
    height, width = len(grid), len(grid[0])
    cells = [code for row in grid for code in row]
    dist, ways = [-1] * len(cells), [0] * len(cells)
    first = source[0] * width + source[1]
    dist[first], ways[first] = 0, 1
    queue = deque([first])
    while queue:
        i = queue.popleft()
        r, c = divmod(i, width)
        for j, inside in (
            (i - width, r > 0),
            (i + width, r < height - 1),
            (i - 1, c > 0),
            (i + 1, c < width - 1),
        ):
            if not inside or cells[j] == WALL:
                continue
            if dist[j] < 0:
                dist[j] = dist[i] + 1
                queue.append(j)
            if dist[j] == dist[i] + 1:
                ways[j] += ways[i]
    return dist, ways
