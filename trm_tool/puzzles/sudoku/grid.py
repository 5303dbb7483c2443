"""Sudoku grids: the 9x9 lists of ints (0 = blank, 1-9 digits) every module passes around,
their flat 81-cell working form, and the two plain text forms (one line, a pretty grid)."""

from __future__ import annotations

from ..base import Grid, PuzzleError

NAME = "sudoku"
FORMAT_HELP = (
    "Sudoku: 9x9 grid, digits 1-9, blanks as 0 . _ - * (or space). Accepted: one 81-character "
    "line; 9 lines of 9 cells (spaces, | separators, --- rule lines and box-drawing characters "
    "are fine); a JSON/Python 9x9 list (0 or null/None blank); 81 comma- or space-separated "
    "numbers. The grid may sit inside prose or a ``` code block."
)
Cells = list[int]
"""A grid flattened row-major to 81 ints, the solver's and parser's working form."""
BLANK_SYMBOLS = "0._-* "
CELL_SYMBOLS = frozenset("123456789" + BLANK_SYMBOLS)


def cell_value(symbol: str) -> int:
    return 0 if symbol in BLANK_SYMBOLS else int(symbol)


def cells_of(grid: object) -> Cells | None:
    """The grid as 81 ints 0-9, or None when it is not a 9x9 grid of such ints."""
    if not isinstance(grid, list | tuple) or len(grid) != 9:
        return None
    cells: Cells = []
    for row in grid:
        if not isinstance(row, list | tuple) or len(row) != 9:
            return None
        for value in row:
            if type(value) is not int or not 0 <= value <= 9:
                return None
            cells.append(value)
    return cells


def require_cells(grid: object) -> Cells:
    cells = cells_of(grid)
    if cells is None:
        raise PuzzleError("Expected a 9x9 Sudoku grid: 9 lists of 9 ints, 0 = blank, 1-9 digits.")
    return cells


def to_grid(cells: Cells) -> Grid:
    return [list(cells[r * 9 : r * 9 + 9]) for r in range(9)]


def to_line(grid: Grid, blank: str = ".") -> str:
    """The canonical 81-character form, row by row, `blank` for empty cells."""
    return "".join(str(d) if d else blank for d in require_cells(grid))


def pretty(grid: Grid) -> str:
    """A human-readable grid with | between boxes and ------+-------+------ between bands."""
    cells = require_cells(grid)
    lines = []
    for r in range(9):
        if r in (3, 6):
            lines.append("------+-------+------")
        groups = [
            " ".join(str(d) if d else "." for d in cells[r * 9 + c : r * 9 + c + 3])
            for c in (0, 3, 6)
        ]
        lines.append(" | ".join(groups))
    return "\n".join(lines)
