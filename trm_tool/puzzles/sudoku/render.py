"""Writing answers in the layout the puzzle came in."""

from __future__ import annotations

from typing import Any

from ..base import Grid, Puzzle
from .grid import pretty, require_cells


def render(puzzle: Puzzle, grid: Grid) -> str:
    """Write `grid` in the puzzle's input layout; a pretty grid when the layout is unknown."""
    cells = require_cells(grid)
    pieces, blanks = puzzle.style.get("pieces"), puzzle.style.get("blanks")
    if not _is_strings(pieces, 82) or not _is_strings(blanks, 81):
        return pretty(grid)
    out = [pieces[0]]
    for d, blank, piece in zip(cells, blanks, pieces[1:]):
        out.append(str(d) if d else blank)
        out.append(piece)
    return "".join(out)


def _is_strings(value: object, n: int) -> bool:
    return isinstance(value, list) and len(value) == n and all(isinstance(v, str) for v in value)


def line_style() -> dict[str, Any]:
    return {"format": "line", "pieces": [""] * 82, "blanks": ["."] * 81}


def question_text(puzzle: Puzzle) -> str:
    """The puzzle as one would show it to an LLM: a pretty grid with box separators."""
    return pretty(puzzle.grid)
