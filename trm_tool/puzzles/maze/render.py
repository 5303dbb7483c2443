"""Writing a (solution) maze in the puzzle's own format, and reading such an answer back."""

from __future__ import annotations

import json
from typing import Any

from ..base import Grid, Puzzle, PuzzleError, require_text
from .grid import GOAL, OPEN, PATH, START, WALL, cells_with, path_coordinates, path_moves
from .parse import DOT_GLYPHS, block_rows, glyph_blocks, json_payload, json_point

DEFAULT_PATH_MARK = "o"


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
            (r, c) = cells_with(question, code)[0]
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
    dots = "" if codes.get(" ") == OPEN else DOT_GLYPHS + path_mark
    shape = (len(puzzle.grid), len(puzzle.grid[0]))
    for block in reversed(glyph_blocks(text.splitlines(), {*codes, " "})):
        rows, _ = block_rows(block, dots)
        fits = len(rows) == shape[0] and all(len(row) == shape[1] for row in rows)
        if fits and all(ch in codes for row in rows for ch in row):
            return [[codes[ch] for ch in row] for row in rows]
    raise PuzzleError(f"No {shape[0]}x{shape[1]} maze grid found in the answer.")


def _read_json_solution(puzzle: Puzzle, text: str) -> Grid:
    data = json_payload(text)
    route = data.get("path") if isinstance(data, dict) else None
    if not isinstance(route, list):
        raise PuzzleError('Expected a JSON answer with "path": [[row, col], ...].')
    grid = [row[:] for row in puzzle.grid]
    for point in route:
        r, c = json_point(point, "path", grid)
        if grid[r][c] == WALL:
            raise PuzzleError(f"The path goes through the wall at [{r}, {c}].")
        if grid[r][c] == OPEN:
            grid[r][c] = PATH
    return grid


def question_text(puzzle: Puzzle) -> str:
    """The maze as text in its own format."""
    return render(puzzle, puzzle.grid)


def generated_style() -> dict[str, Any]:
    """The text style of generated mazes: # walls, spaces open."""
    return {"format": "text", "wall": "#", "open": " ", "start": "S", "goal": "G", "spaced": False}
