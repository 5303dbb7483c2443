"""Reading a maze from text: a grid of glyphs (possibly inside prose or a code block, rows
possibly labelled "row 1:") or JSON. PuzzleError, with what to fix, where no maze is found;
BrokenPuzzleError where one is found but is wrong (ragged rows, no route from S to G, ...)."""

from __future__ import annotations

import json
import reprlib
from collections.abc import Container
from typing import Any

from ..base import ROW_LABEL, BrokenPuzzleError, Grid, Puzzle, PuzzleError, require_text
from .grid import GOAL, MAX_SIDE, OPEN, START, WALL, Cell, cells_with, distances, flat_index

WALL_GLYPHS = "#█X1"
OPEN_GLYPHS = " .0"
START_GLYPHS = "S"
GOAL_GLYPHS = "GE"
DOT_GLYPHS = ".0"
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
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 40
_HELP_GLYPHS = "walls # (or █ X 1), open . (or space, 0), one start S, one goal G (or E)"
FORMAT_HELP = (
    f"Maze up to 30x30 as text rows: {_HELP_GLYPHS}; it may sit in prose or a code block. "
    'Or JSON: {"grid": [[0,1,...],...], "start": [row, col], "goal": [row, col]} with '
    "1 = wall, 0 = open, 0-based coordinates. The answer marks the shortest path with o."
)


def parse(text: str) -> Puzzle:
    """Read a maze from a text grid or JSON; PuzzleError, with what to fix, on anything else."""
    text = require_text(text, "maze")
    data = json_payload(text)
    if data is None:
        return _parse_text(text)
    return _parse_json(data)


def json_payload(text: str) -> Any:
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
        _place(grid, json_point(data[start_key], start_key, grid), START, start_key)
    if goal_key:
        _place(grid, json_point(data[goal_key], goal_key, grid), GOAL, goal_key)
    check_maze(grid)
    return Puzzle(
        kind="maze",
        grid=grid,
        style={"format": "json", "start_key": start_key, "goal_key": goal_key},
    )


def _json_cells(cells: Any) -> Grid:
    if not isinstance(cells, list) or not cells or not all(isinstance(r, list) for r in cells):
        raise BrokenPuzzleError(
            '"grid" must be a non-empty list of rows, each a list of 0 (open) / 1 (wall).'
        )
    _check_shape([len(row) for row in cells])
    for r, row in enumerate(cells):
        for c, value in enumerate(row):
            if type(value) is not int or not OPEN <= value <= GOAL:
                raise BrokenPuzzleError(
                    f"Unknown value {_short(value)} in the JSON grid at [{r}, {c}]; expected "
                    "0 (open) or 1 (wall), and 2 (start) / 3 (goal) where no coordinates are given."
                )
    return [row[:] for row in cells]


def json_point(value: Any, key: str, grid: Grid) -> Cell:
    height, width = len(grid), len(grid[0])
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(type(v) is int for v in value)
        and 0 <= value[0] < height
        and 0 <= value[1] < width
    ):
        return value[0], value[1]
    raise BrokenPuzzleError(
        f'"{key}" must be [row, column], 0-based and inside the {height}x{width} grid; '
        f"got {_short(value)}."
    )


def _place(grid: Grid, cell: Cell, code: int, key: str) -> None:
    r, c = cell
    if grid[r][c] not in (OPEN, code):
        raise BrokenPuzzleError(f'"{key}" [{r}, {c}] is not an open cell of the grid.')
    grid[r][c] = code


def _parse_text(text: str) -> Puzzle:
    lines = [_unlabelled(line) for line in text.splitlines()]
    rows, spaced = block_rows(_find_block(lines, _GLYPH_CODES), DOT_GLYPHS)
    _check_shape([len(row) for row in rows])
    grid = [[_GLYPH_CODES[ch] for ch in row] for row in rows]
    check_maze(grid)
    return Puzzle(kind="maze", grid=grid, style=_text_style(rows, spaced))


def _unlabelled(line: str) -> str:
    """A row without its label ("row 1: #S.#" -> "#S.#"): the label and the spaces after it."""
    label = ROW_LABEL.match(line)
    return line if label is None else line[label.end() :].lstrip(" \t")


def _find_block(lines: list[str], glyphs: Container[str]) -> list[str]:
    """The one run of consecutive glyph-only lines that holds both a start and a goal."""
    candidates = [
        block
        for block in glyph_blocks(lines, glyphs)
        if _contains(block, START_GLYPHS) and _contains(block, GOAL_GLYPHS)
    ]
    if len(candidates) > 1:
        raise BrokenPuzzleError(
            f"Found {len(candidates)} separate maze grids with S and G; send exactly one maze."
        )
    if not candidates:
        raise PuzzleError(_why_no_maze(lines))
    return candidates[0]


def glyph_blocks(lines: list[str], glyphs: Container[str]) -> list[list[str]]:
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


def block_rows(block: list[str], dots: str) -> tuple[list[str], bool]:
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
        "open": next((ch for ch in cells if ch in DOT_GLYPHS), blank),
        "start": "S",
        "goal": next((ch for ch in cells if ch in GOAL_GLYPHS), "G"),
        "spaced": spaced,
    }


def _check_shape(widths: list[int]) -> None:
    height, width = len(widths), max(widths, default=0)
    if height > MAX_SIDE or width > MAX_SIDE:
        raise BrokenPuzzleError(
            f"The maze is too large: {height}x{width} (rows x columns); at most "
            f"{MAX_SIDE}x{MAX_SIDE} is supported."
        )
    for r, row_width in enumerate(widths[1:], start=2):
        if row_width != widths[0]:
            raise BrokenPuzzleError(
                f"Ragged rows: row {r} has {row_width} cells but row 1 has {widths[0]}; every "
                "row of the maze must have the same length."
            )
    if width == 0:
        raise BrokenPuzzleError("The maze grid has no cells.")


def check_maze(grid: Grid) -> None:
    """Exactly one start and one goal, and a route between them."""
    starts, goals = cells_with(grid, START), cells_with(grid, GOAL)
    _require_one(starts, "start", "S")
    _require_one(goals, "goal", "G")
    if distances(grid, starts[0])[flat_index(grid, goals[0])] < 0:
        raise BrokenPuzzleError(
            "The goal is unreachable from the start: walls block every route. Send a maze "
            "with an open route from S to G."
        )


def _require_one(cells: list[Cell], what: str, glyph: str) -> None:
    if len(cells) == 1:
        return
    if not cells:
        raise BrokenPuzzleError(
            f"The maze has no {what}; mark exactly one {what} cell with {glyph}."
        )
    where = ", ".join(f"row {r + 1} column {c + 1}" for r, c in cells[:4])
    raise BrokenPuzzleError(
        f"The maze has {len(cells)} {what}s ({where}); mark exactly one {what} cell with {glyph}."
    )


def _short(value: object) -> str:
    """A bounded repr for messages: JSON values may be huge or deeply nested."""
    return _REPR.repr(value)
