"""Mazes: the shortest route from a start S to a goal G through a grid of walls and open cells.

Mazes arrive as text grids (possibly inside prose or a code block) or as JSON, and answers are
written back in the same glyphs with the route marked. The generator makes perfect, braided and
random-wall mazes whose shortest path is unique, so every training label is unambiguous.
"""

from __future__ import annotations

import csv
import json
import math
import random
import reprlib
from collections import deque
from collections.abc import Container, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .base import Grid, Puzzle, PuzzleError, dihedral, dihedral_inverse, require_text

Cell = tuple[int, int]

OPEN, WALL, START, GOAL, PATH = 0, 1, 2, 3, 4
"""Meaning codes in Puzzle.grid and solution grids."""

MAX_SIDE = 30
VOCAB_SIZE = 6
_CODE_TO_TOKEN = (2, 1, 3, 4, 5)
"""Token id of each code (indexed by code): PAD=0, wall=1, open=2, start=3, goal=4, path=5."""
_TOKEN_TO_CODE = {token: code for code, token in enumerate(_CODE_TO_TOKEN)}

WALL_GLYPHS = "#█X1"
OPEN_GLYPHS = " .0"
START_GLYPHS = "S"
GOAL_GLYPHS = "GE"
_DOT_GLYPHS = ".0"
"""Open glyphs that are not spaces: when a grid uses them, spaces are layout, not cells."""
_GLYPH_CODES = {
    **dict.fromkeys(WALL_GLYPHS, WALL),
    **dict.fromkeys(OPEN_GLYPHS, OPEN),
    **dict.fromkeys(START_GLYPHS, START),
    **dict.fromkeys(GOAL_GLYPHS, GOAL),
}
_CELL_LETTERS = "SGEX"
"""Letters that are maze glyphs, so a run of them is not a prose word."""
_FENCES = ("```", "~~~")
DEFAULT_PATH_MARK = "o"

_MOVE_LETTERS = {(-1, 0): "U", (1, 0): "D", (0, -1): "L", (0, 1): "R"}

STYLES = ("perfect", "branching", "braided", "percolated", "rooms", "random_walls", "open_field")
HARD_STYLES = ("perfect", "braided", "percolated", "rooms", "random_walls", "open_field")
"""Styles whose 30x30 mazes reach Maze-Hard route lengths (see `generate`)."""
_OPEN_STYLES = ("random_walls", "open_field")
TIERS = ("small", "medium", "large", "hard")
_TIER_SIDES = {"small": (6, 12), "medium": (13, 20), "large": (21, 30), "hard": (30, 30)}
HARD_MIN_PATH = 111
"""Hard mazes need more than 110 path cells (the Maze-Hard threshold)."""
_HARD_EXTRA_PATH = 29
_BRAID_SHARES = (0.1, 0.9)
_WALL_FRACTIONS = (0.1, 0.55)
"""Wall share of random_walls mazes; denser than about 55% rarely leaves long routes."""
_MAX_ATTEMPTS = 10_000

_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 40

_HELP_GLYPHS = "walls # (or █ X 1), open . (or space, 0), one start S, one goal G (or E)"
FORMAT_HELP = (
    f"Maze up to 30x30 as text rows: {_HELP_GLYPHS}; it may sit in prose or a code block. "
    'Or JSON: {"grid": [[0,1,...],...], "start": [row, col], "goal": [row, col]} with '
    "1 = wall, 0 = open, 0-based coordinates. The answer marks the shortest path with o."
)


# ---------------------------------------------------------------------------------------------
# Tokens


def encode(grid: Grid) -> torch.Tensor:
    """Token ids of a grid at its own size, no padding: the model reads 2-D positions, so one
    set of weights serves every maze size."""
    codes = torch.tensor(grid, dtype=torch.int64)
    if codes.numel() and (codes.min() < OPEN or codes.max() > PATH):
        raise ValueError(f"Maze codes are {OPEN}..{PATH}; got {codes.min()}..{codes.max()}.")
    return torch.tensor(_CODE_TO_TOKEN, dtype=torch.int64)[codes]


def decode(tokens: torch.Tensor) -> Grid:
    """Codes of an [H, W] tensor of token ids; padding and unknown ids read as open cells."""
    return [[_TOKEN_TO_CODE.get(token, OPEN) for token in row] for row in tokens.tolist()]


# ---------------------------------------------------------------------------------------------
# Parsing


def parse(text: str) -> Puzzle:
    """Read a maze from a text grid or JSON; PuzzleError, with what to fix, on anything else."""
    text = require_text(text, "maze")
    data = _json_payload(text)
    if data is None:
        return _parse_text(text)
    return _parse_json(data)


def _json_payload(text: str) -> Any:
    """The JSON maze the text holds, or None where it holds none. Text that starts as JSON
    must start with valid JSON (prose may follow it); elsewhere only an object with a "grid"
    key counts."""
    body = _strip_fence(text.strip())
    if body[:1] in ("{", "["):
        try:
            return json.JSONDecoder().raw_decode(body)[0]
        except (ValueError, RecursionError) as err:
            raise PuzzleError(
                f"The maze looks like JSON but does not parse ({str(err)[:80]}). Expected e.g. "
                '{"grid": [[1,0,1],[0,0,0]], "start": [1, 0], "goal": [1, 2]}.'
            ) from None
    brace = text.find("{")
    if brace < 0:
        return None
    try:
        value, _ = json.JSONDecoder().raw_decode(text, brace)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) and "grid" in value else None


def _strip_fence(body: str) -> str:
    """The inside of a markdown code block, or the text unchanged if it is not one."""
    lines = body.splitlines()
    if lines and lines[0].startswith(_FENCES):
        lines = lines[1:]
        if lines and lines[-1].strip().startswith(_FENCES):
            lines = lines[:-1]
    return "\n".join(lines).strip()


def _parse_json(data: Any) -> Puzzle:
    """A maze from a JSON grid of 0/1 (2/3 may mark start/goal) plus optional coordinates."""
    if isinstance(data, list):
        data = {"grid": data}
    if not isinstance(data, dict) or "grid" not in data:
        raise PuzzleError(
            'A JSON maze needs a "grid" key: {"grid": [[0,1,...],...], "start": [row, col], '
            '"goal": [row, col]} with 1 = wall, 0 = open.'
        )
    grid = _json_cells(data["grid"])
    goal_key = next((key for key in ("goal", "end", "target") if key in data), None)
    start_key = "start" if "start" in data else None
    if start_key:
        _place(grid, _json_point(data[start_key], start_key, grid), START, start_key)
    if goal_key:
        _place(grid, _json_point(data[goal_key], goal_key, grid), GOAL, goal_key)
    _check_maze(grid)
    return Puzzle(
        kind="maze",
        grid=grid,
        style={"format": "json", "start_key": start_key, "goal_key": goal_key},
    )


def _json_cells(cells: Any) -> Grid:
    if not isinstance(cells, list) or not cells or not all(isinstance(r, list) for r in cells):
        raise PuzzleError(
            '"grid" must be a non-empty list of rows, each a list of 0 (open) / 1 (wall).'
        )
    _check_shape([len(row) for row in cells])
    for r, row in enumerate(cells):
        for c, value in enumerate(row):
            if type(value) is not int or not OPEN <= value <= GOAL:
                raise PuzzleError(
                    f"Unknown value {_short(value)} in the JSON grid at [{r}, {c}]; expected "
                    "0 (open) or 1 (wall), and 2 (start) / 3 (goal) where no coordinates are given."
                )
    return [row[:] for row in cells]


def _json_point(value: Any, key: str, grid: Grid) -> Cell:
    height, width = len(grid), len(grid[0])
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(type(v) is int for v in value)
        and 0 <= value[0] < height
        and 0 <= value[1] < width
    ):
        return value[0], value[1]
    raise PuzzleError(
        f'"{key}" must be [row, column], 0-based and inside the {height}x{width} grid; '
        f"got {_short(value)}."
    )


def _place(grid: Grid, cell: Cell, code: int, key: str) -> None:
    r, c = cell
    if grid[r][c] not in (OPEN, code):
        raise PuzzleError(f'"{key}" [{r}, {c}] is not an open cell of the grid.')
    grid[r][c] = code


def _parse_text(text: str) -> Puzzle:
    rows, spaced = _block_rows(_find_block(text.splitlines(), _GLYPH_CODES), _DOT_GLYPHS)
    _check_shape([len(row) for row in rows])
    grid = [[_GLYPH_CODES[ch] for ch in row] for row in rows]
    _check_maze(grid)
    return Puzzle(kind="maze", grid=grid, style=_text_style(rows, spaced))


def _find_block(lines: list[str], glyphs: Container[str]) -> list[str]:
    """The one run of consecutive glyph-only lines that holds both a start and a goal."""
    candidates = [
        block
        for block in _glyph_blocks(lines, glyphs)
        if _contains(block, START_GLYPHS) and _contains(block, GOAL_GLYPHS)
    ]
    if len(candidates) > 1:
        raise PuzzleError(
            f"Found {len(candidates)} separate maze grids with S and G; send exactly one maze."
        )
    if not candidates:
        raise PuzzleError(_why_no_maze(lines))
    return candidates[0]


def _glyph_blocks(lines: list[str], glyphs: Container[str]) -> list[list[str]]:
    blocks, run = [], []
    for line in [*lines, ""]:
        if line and all(ch in glyphs for ch in line):
            run.append(line)
            continue
        block = _trim_blank_edges(run)
        if block:
            blocks.append(block)
        run = []
    return blocks


def _trim_blank_edges(run: list[str]) -> list[str]:
    """Drop all-space lines at either end of a run unless they are as wide as the row next to
    them: a row of open cells written with spaces looks blank but belongs to the maze."""
    first, last = 0, len(run)
    while first < last and _is_loose_blank(run[first], run[first + 1 : min(first + 2, last)]):
        first += 1
    while last > first and _is_loose_blank(run[last - 1], run[max(last - 2, first) : last - 1]):
        last -= 1
    return run[first:last]


def _is_loose_blank(line: str, neighbour: list[str]) -> bool:
    return not line.strip() and (not neighbour or len(neighbour[0]) != len(line))


def _block_rows(block: list[str], dots: str) -> tuple[list[str], bool]:
    """Cell rows of a block, and whether its cells were spaced apart. When open cells are
    spelled with a dot glyph, spaces are layout: indentation and trailing spaces go, and rows
    like "# . S" (one space between cells) lose their spaces."""
    if not any(ch in dots for line in block for ch in line):
        return block, False
    indent = min(len(line) - len(line.lstrip(" ")) for line in block)
    rows = [line[indent:].rstrip(" ") for line in block]
    if _is_spaced(rows):
        return [row[::2] for row in rows], True
    return rows, False


def _is_spaced(rows: list[str]) -> bool:
    return any(len(row) > 1 for row in rows) and all(
        len(row) % 2 == 1 and row[1::2].strip(" ") == "" and " " not in row[::2] for row in rows
    )


def _why_no_maze(lines: list[str]) -> str:
    """The most useful reason no maze was found, judged on the grid-like lines of the text."""
    for block in _gridlike_blocks(lines):
        if not (_contains(block, START_GLYPHS) or _contains(block, GOAL_GLYPHS)):
            continue
        unknown = _unknown_symbol(block)
        if unknown:
            return unknown
        missing = "start (S)" if not _contains(block, START_GLYPHS) else "goal (G or E)"
        return f"The maze has no {missing}; mark exactly one start S and one goal G."
    return (
        "No maze found: no grid with a start S and a goal G. Expected text rows of "
        f"{_HELP_GLYPHS}, or JSON with a grid and start/goal coordinates."
    )


def _gridlike_blocks(lines: list[str]) -> list[list[str]]:
    """Runs of lines that are neither blank, prose nor code fences."""
    blocks, run = [], []
    for line in [*lines, ""]:
        if line.strip() and not _is_prose(line) and not line.lstrip().startswith(_FENCES):
            run.append(line)
        elif run:
            blocks.append(run)
            run = []
    return blocks


def _is_prose(line: str) -> bool:
    """Whether the line has a word: two letters in a row that are not both maze glyphs."""
    previous = ""
    for ch in line:
        if ch.isalpha() and previous.isalpha():
            if not (ch in _CELL_LETTERS and previous in _CELL_LETTERS):
                return True
        previous = ch
    return False


def _unknown_symbol(block: list[str]) -> str | None:
    for r, line in enumerate(block, start=1):
        for c, ch in enumerate(line, start=1):
            if ch not in _GLYPH_CODES:
                return (
                    f"Unknown symbol {ch!r} in the maze at row {r}, column {c}; use only "
                    f"{_HELP_GLYPHS}."
                )
    return None


def _contains(block: list[str], glyphs: str) -> bool:
    return any(ch in line for line in block for ch in glyphs)


def _text_style(rows: list[str], spaced: bool) -> dict[str, Any]:
    """The glyphs the input used (the first of each class), so answers come back in them."""
    cells = "".join(rows)
    blank = " " if " " in cells else "."
    return {
        "format": "text",
        "wall": next((ch for ch in cells if ch in WALL_GLYPHS), "#"),
        "open": next((ch for ch in cells if ch in _DOT_GLYPHS), blank),
        "start": "S",
        "goal": next((ch for ch in cells if ch in GOAL_GLYPHS), "G"),
        "spaced": spaced,
    }


def _check_shape(widths: list[int]) -> None:
    height, width = len(widths), max(widths, default=0)
    if height > MAX_SIDE or width > MAX_SIDE:
        raise PuzzleError(
            f"The maze is too large: {height}x{width} (rows x columns); at most "
            f"{MAX_SIDE}x{MAX_SIDE} is supported."
        )
    for r, row_width in enumerate(widths[1:], start=2):
        if row_width != widths[0]:
            raise PuzzleError(
                f"Ragged rows: row {r} has {row_width} cells but row 1 has {widths[0]}; every "
                "row of the maze must have the same length."
            )
    if width == 0:
        raise PuzzleError("The maze grid has no cells.")


def _check_maze(grid: Grid) -> None:
    """Exactly one start and one goal, and a route between them."""
    starts, goals = _cells_with(grid, START), _cells_with(grid, GOAL)
    _require_one(starts, "start", "S")
    _require_one(goals, "goal", "G")
    if distances(grid, starts[0])[_flat(grid, goals[0])] < 0:
        raise PuzzleError(
            "The goal is unreachable from the start: walls block every route. Send a maze "
            "with an open route from S to G."
        )


def _require_one(cells: list[Cell], what: str, glyph: str) -> None:
    if len(cells) == 1:
        return
    if not cells:
        raise PuzzleError(f"The maze has no {what}; mark exactly one {what} cell with {glyph}.")
    where = ", ".join(f"row {r + 1} column {c + 1}" for r, c in cells[:4])
    raise PuzzleError(
        f"The maze has {len(cells)} {what}s ({where}); mark exactly one {what} cell with {glyph}."
    )


def _short(value: object) -> str:
    """A bounded repr for messages: JSON values may be huge or deeply nested."""
    return _REPR.repr(value)


# ---------------------------------------------------------------------------------------------
# Rendering


def render(puzzle: Puzzle, grid: Grid, path_mark: str = DEFAULT_PATH_MARK) -> str:
    """A (solution) grid in the puzzle's own format: its glyphs with path cells as `path_mark`,
    or JSON with the route listed."""
    if puzzle.style.get("format") == "json":
        return _render_json(puzzle, grid)
    glyphs = _style_glyphs(puzzle.style, path_mark)
    has_cells = any(code in (OPEN, PATH) for row in grid for code in row)
    separator = " " if puzzle.style.get("spaced") and has_cells else ""
    return "\n".join(separator.join(glyphs[code] for code in row) for row in grid)


def _style_glyphs(style: dict[str, Any], path_mark: str) -> dict[int, str]:
    glyphs = {
        WALL: style.get("wall", "#"),
        OPEN: style.get("open", "."),
        START: style.get("start", "S"),
        GOAL: style.get("goal", "G"),
    }
    if len(path_mark) != 1 or path_mark.isspace() or path_mark in glyphs.values():
        raise ValueError(f"The path mark must be one visible character unlike {glyphs}.")
    return {**glyphs, PATH: path_mark}


def _render_json(puzzle: Puzzle, grid: Grid) -> str:
    question = [row[:] for row in puzzle.grid]
    out: dict[str, Any] = {"grid": question}
    for code, key in ((START, puzzle.style.get("start_key")), (GOAL, puzzle.style.get("goal_key"))):
        if key:
            (r, c) = _cells_with(question, code)[0]
            question[r][c] = OPEN
            out[key] = [r, c]
    out["path"] = [list(cell) for cell in path_coordinates(grid)]
    out["moves"] = path_moves(grid)
    return json.dumps(out)


def read_solution(puzzle: Puzzle, text: str, path_mark: str = DEFAULT_PATH_MARK) -> Grid:
    """Read an answer written in the puzzle's own format (as `render` writes it) back into a
    solution grid, e.g. to check an answer an LLM wrote; PuzzleError if none is found."""
    text = require_text(text, "maze answer")
    if puzzle.style.get("format") == "json":
        return _read_json_solution(puzzle, text)
    codes = {glyph: code for code, glyph in _style_glyphs(puzzle.style, path_mark).items()}
    dots = "" if codes.get(" ") == OPEN else _DOT_GLYPHS + path_mark
    shape = (len(puzzle.grid), len(puzzle.grid[0]))
    for block in reversed(_glyph_blocks(text.splitlines(), {*codes, " "})):
        rows, _ = _block_rows(block, dots)
        fits = len(rows) == shape[0] and all(len(row) == shape[1] for row in rows)
        if fits and all(ch in codes for row in rows for ch in row):
            return [[codes[ch] for ch in row] for row in rows]
    raise PuzzleError(f"No {shape[0]}x{shape[1]} maze grid found in the answer.")


def _read_json_solution(puzzle: Puzzle, text: str) -> Grid:
    data = _json_payload(text)
    route = data.get("path") if isinstance(data, dict) else None
    if not isinstance(route, list):
        raise PuzzleError('Expected a JSON answer with "path": [[row, col], ...].')
    grid = [row[:] for row in puzzle.grid]
    for point in route:
        r, c = _json_point(point, "path", grid)
        if grid[r][c] == WALL:
            raise PuzzleError(f"The path goes through the wall at [{r}, {c}].")
        if grid[r][c] == OPEN:
            grid[r][c] = PATH
    return grid


# ---------------------------------------------------------------------------------------------
# Paths, solving and checking


def path_coordinates(grid: Grid) -> list[Cell]:
    """The route S..G (both included) traced through path cells; [] when the path cells do not
    lead from S to G without a fork."""
    ends = _endpoints(grid)
    if ends is None:
        return []
    start, goal = ends
    route, seen = [start], {start}
    while True:
        steps = [
            cell
            for cell in _neighbours(grid, route[-1])
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
    ends = _endpoints(grid)
    route = _route(grid, *ends) if ends else None
    return None if route is None else _mark(grid, route)


def _route(grid: Grid, start: Cell, goal: Cell) -> list[Cell] | None:
    """The first shortest route from start to goal in up/down/left/right order, or None."""
    to_goal = distances(grid, goal)
    if to_goal[_flat(grid, start)] < 0:
        return None
    route = [start]
    while route[-1] != goal:
        steps_left = to_goal[_flat(grid, route[-1])] - 1
        route.append(
            next(n for n in _neighbours(grid, route[-1]) if to_goal[_flat(grid, n)] == steps_left)
        )
    return route


def _mark(grid: Grid, route: list[Cell]) -> Grid:
    """The grid with exactly the inner cells of `route` marked as path."""
    solved = [[OPEN if code == PATH else code for code in row] for row in grid]
    for r, c in route[1:-1]:
        solved[r][c] = PATH
    return solved


def count_shortest_paths(grid: Grid) -> int:
    """How many distinct shortest routes lead from S to G (0 if none): labels need exactly 1."""
    ends = _endpoints(grid)
    if ends is None:
        return 0
    start, goal = ends
    return _layers(grid, start)[1][_flat(grid, goal)]


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
    ends = _endpoints(question)
    if ends is None:
        return False
    shortest = distances(question, ends[0])[_flat(question, ends[1])]
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


def _endpoints(grid: Grid) -> tuple[Cell, Cell] | None:
    starts, goals = _cells_with(grid, START), _cells_with(grid, GOAL)
    return (starts[0], goals[0]) if len(starts) == len(goals) == 1 else None


def _cells_with(grid: Grid, code: int) -> list[Cell]:
    return [(r, c) for r, row in enumerate(grid) for c, value in enumerate(row) if value == code]


def _neighbours(grid: Grid, cell: Cell) -> list[Cell]:
    """In-bounds cells next to `cell` that are not walls, in the order up, down, left, right."""
    r, c = cell
    near = ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
    return [
        (y, x)
        for y, x in near
        if 0 <= y < len(grid) and 0 <= x < len(grid[0]) and grid[y][x] != WALL
    ]


def _flat(grid: Grid, cell: Cell) -> int:
    return cell[0] * len(grid[0]) + cell[1]


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


# ---------------------------------------------------------------------------------------------
# Generation


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
    up, down, left, right that stays on a shortest route), so labels are a function of the maze;
    `verify` accepts any shortest route. `min_path` is the fewest path cells (excluding S and G)
    to accept, by default (height + width) // 4; routes too short are lengthened by walling
    route cells one at a time while G stays reachable.
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
        grid = _add_border(_layout(rng, *inner, style, wall_fraction), top, bottom, left, right)
        ends = _place_ends(rng, grid, need, _draw(rng, far_ends))
        if ends is None:
            continue
        route = _lengthen(rng, grid, ends, need)
        if route is None:
            continue
        if not _draw(rng, ties):
            _untie(rng, grid, route)
        grid[ends[0][0]][ends[0][1]], grid[ends[1][0]][ends[1][1]] = START, GOAL
        return Puzzle(kind="maze", grid=grid, style=generated_style()), _mark(
            grid, _route(grid, *ends)
        )
    raise RuntimeError(
        f"No {height}x{width} {style} maze with a shortest path of {need}+ cells "
        f"in {_MAX_ATTEMPTS} tries."
    )


def _draw(rng: random.Random, choice: bool | None) -> bool:
    """The given choice, or a fair coin where none was given."""
    return rng.random() < 0.5 if choice is None else choice


def generated_style() -> dict[str, Any]:
    """The text style of generated mazes: # walls, spaces open."""
    return {"format": "text", "wall": "#", "open": " ", "start": "S", "goal": "G", "spaced": False}


def _layout(
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
        fresh = [room for room in _adjacent_rooms(grid, r, c) if grid[room[0]][room[1]] == WALL]
        if not fresh:
            growing[at] = growing[-1]
            growing.pop()
            continue
        nr, nc = rng.choice(fresh)
        grid[(r + nr) // 2][(c + nc) // 2] = OPEN
        grid[nr][nc] = OPEN
        growing.append((nr, nc))
    return grid, rooms


def _adjacent_rooms(grid: Grid, r: int, c: int) -> list[Cell]:
    near = ((r - 2, c), (r + 2, c), (r, c - 2), (r, c + 2))
    return [(y, x) for y, x in near if 0 <= y < len(grid) and 0 <= x < len(grid[0])]


def _braid(rng: random.Random, grid: Grid, rooms: list[Cell]) -> None:
    """Open a wall out of a share of the dead ends (drawn per maze, 10-90%), turning the
    maze's tree into loops."""
    share = rng.uniform(*_BRAID_SHARES)
    for r, c in rooms:
        if len(_neighbours(grid, (r, c))) != 1 or rng.random() >= share:
            continue
        closed = [
            (y, x)
            for y, x in _adjacent_rooms(grid, r, c)
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
            for y, x in _adjacent_rooms(grid, r, c):
                grid[(r + y) // 2][(c + x) // 2] = WALL
    for r, c in rooms:
        for y, x in _adjacent_rooms(grid, r, c):
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


def _place_ends(rng: random.Random, grid: Grid, need: int, far: bool) -> tuple[Cell, Cell] | None:
    """S and G on open cells (not yet marked). far: S on a farthest cell from a random open
    cell (the rim of its region) and G farthest from S. Otherwise S is any open cell and G any
    cell at least `need` path cells away, or a farthest one where none is that far. None when
    S is walled in."""
    open_cells = _cells_with(grid, OPEN)
    if not open_cells:
        return None
    start = rng.choice(open_cells)
    if far:
        start = _unflat(grid, rng.choice(_argmax(distances(grid, start))))
    from_start = distances(grid, start)
    if max(from_start) < 1:
        return None
    far_enough = [i for i, steps in enumerate(from_start) if steps - 1 >= need]
    if far or not far_enough:
        return start, _unflat(grid, rng.choice(_argmax(from_start)))
    return start, _unflat(grid, rng.choice(far_enough))


def _lengthen(
    rng: random.Random, grid: Grid, ends: tuple[Cell, Cell], need: int
) -> list[Cell] | None:
    """Wall random cells of the shortest route, keeping G reachable, until the route has
    `need` path cells; returns it, or None once every route cell is a cut cell (walling it
    would cut S from G)."""
    cut: set[Cell] = set()
    route = _route(grid, *ends)
    while route is not None and len(route) - 2 < need:
        free = [cell for cell in route[1:-1] if cell not in cut]
        if not free:
            return None
        r, c = rng.choice(free)
        grid[r][c] = WALL
        longer = _route(grid, *ends)
        if longer is None:
            grid[r][c] = OPEN
            cut.add((r, c))
        else:
            route = longer
    return route


def _untie(rng: random.Random, grid: Grid, route: list[Cell]) -> None:
    """Wall random cells that lie on a shortest route other than `route` until it is the only
    shortest one; its length never changes, since none of its cells is walled."""
    on_route = {_flat(grid, cell) for cell in route}
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
        r, c = _unflat(grid, rng.choice(rivals))
        grid[r][c] = WALL


def _argmax(values: list[int]) -> list[int]:
    best = max(values)
    return [i for i, value in enumerate(values) if value == best]


def _unflat(grid: Grid, index: int) -> Cell:
    return divmod(index, len(grid[0]))


# ---------------------------------------------------------------------------------------------
# Augmentation and deduplication


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


# ---------------------------------------------------------------------------------------------
# Maze-Hard CSV


_CSV_CODES = {"#": WALL, " ": OPEN, "S": START, "G": GOAL, "o": PATH}


def read_csv(path: str | Path) -> Iterator[tuple[Puzzle, Grid]]:
    """Mazes and solutions from a Maze-Hard style CSV (source,question,answer,rating), where
    question and answer are square grids flattened row-major: '#', ' ', 'S', 'G', 'o' path."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if not {"question", "answer"} <= set(reader.fieldnames or ()):
            raise PuzzleError(f"{path}: expected a header with question and answer columns.")
        for line, row in enumerate(reader, start=2):
            question = _csv_grid(row["question"], "question", path, line)
            answer = _csv_grid(row["answer"], "answer", path, line)
            if any(code == PATH for code_row in question for code in code_row):
                raise PuzzleError(f"{path} line {line}: the question has path cells.")
            try:
                _check_maze(question)
            except PuzzleError as err:
                raise PuzzleError(f"{path} line {line}: {err}") from None
            if len(answer) != len(question):
                raise PuzzleError(f"{path} line {line}: answer and question sizes differ.")
            puzzle = Puzzle(kind="maze", grid=question, style=generated_style())
            yield puzzle, answer


def _csv_grid(cells: str | None, column: str, path: str | Path, line: int) -> Grid:
    cells = cells or ""
    side = math.isqrt(len(cells))
    if side * side != len(cells) or not 0 < side <= MAX_SIDE:
        raise PuzzleError(
            f"{path} line {line}: the {column} has {len(cells)} characters; expected a square "
            f"grid of at most {MAX_SIDE}x{MAX_SIDE}."
        )
    unknown = set(cells) - set(_CSV_CODES)
    if unknown:
        raise PuzzleError(f"{path} line {line}: unknown symbols {sorted(unknown)} in the {column}.")
    return [[_CSV_CODES[ch] for ch in cells[r * side : (r + 1) * side]] for r in range(side)]


def question_text(puzzle: Puzzle) -> str:
    """The maze as text in its own format."""
    return render(puzzle, puzzle.grid)


def solve_exact(puzzle: Puzzle) -> Grid | None:
    """The BFS shortest path (the classical baseline)."""
    return shortest_path(puzzle.grid)


# ---------------------------------------------------------------------------------------------
# The kind


class MazeKind:
    """The maze puzzle kind (see base.PuzzleKind)."""

    name = "maze"
    vocab_size = VOCAB_SIZE
    format_help = FORMAT_HELP
    tiers = TIERS

    parse = staticmethod(parse)
    render = staticmethod(render)
    verify = staticmethod(verify)
    encode = staticmethod(encode)
    decode = staticmethod(decode)
    random_augmentation = staticmethod(random_augmentation)
    generate = staticmethod(generate)
    canonical_key = staticmethod(canonical_key)
    canvas_shape = staticmethod(canvas_shape)
    question_text = staticmethod(question_text)
    read_answer = staticmethod(read_solution)
    solve_exact = staticmethod(solve_exact)


KIND = MazeKind()
