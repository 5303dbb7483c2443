"""Reading a Sudoku (or an answer) from free-form text: the first reader that finds a grid
wins, else the most useful reason why none was found."""

from __future__ import annotations

import re
from typing import Any

from ..base import BrokenPuzzleError, Grid, Puzzle, PuzzleError, blank_row_labels, require_text
from .exact import conflict, solve_cells
from .grid import FORMAT_HELP, NAME, Cells, to_grid
from .read_lines import read_fixed_line, read_lines, read_runs
from .read_lists import read_json
from .spans import CELL, CELL_CLASS, SEP_CLASS, Found, Miss

_KNOWN_CHARS = re.compile(f"[{CELL_CLASS}{SEP_CLASS}\\-=+:~\\[\\](){{}}\"'\\n]+")
_PARSE_NODE_LIMIT = 2_000
_MAX_ANSWER_GRIDS = 20


def _junk_hint(text: str) -> str | None:
    """Name a stray character on a line that is otherwise a run of cells (a likely typo)."""
    for number, line in enumerate(text.split("\n", 200)[:200], start=1):
        junk = _KNOWN_CHARS.sub("", line)
        if 0 < len(junk) <= 2 and len(CELL.findall(line)) >= 5:
            return (
                f"line {number} contains {junk[0]!r}, which is not a digit 1-9 or a blank "
                "symbol (0 . _ - * or space)"
            )
    return None


def _locate(text: str) -> Found:
    """Find the grid with the first reader that succeeds, or explain why there is none: a
    malformed list first, then a stray character, then the reader that found most cells."""
    misses: list[Miss] = []
    for reader in (read_json, read_lines, read_runs, read_fixed_line):
        result = reader(text)
        if isinstance(result, Found):
            return result
        if result is not None:
            misses.append(result)
    list_miss = next((m.reason for m in misses if m.from_list), None)
    best = max(misses, key=lambda m: m.weight, default=None)
    reason = list_miss or _junk_hint(text) or (best.reason if best and best.weight >= 10 else None)
    if reason is None:
        raise PuzzleError(f"No Sudoku grid found in the text. {FORMAT_HELP}")
    raise PuzzleError(f"Could not read the Sudoku grid: {reason}. {FORMAT_HELP}")


def _style(text: str, found: Found) -> dict[str, Any]:
    """How to write a grid back in this input's layout: the text around and between cells."""
    bounds = [found.start] + [p for span in found.spans for p in span] + [found.end]
    pieces = [text[bounds[k] : bounds[k + 1]] for k in range(0, len(bounds), 2)]
    return {"format": found.fmt, "pieces": pieces, "blanks": found.blanks}


def parse(text: str) -> Puzzle:
    """Read a Sudoku from text in any supported format (see FORMAT_HELP); row labels such as
    "row 1:" are skipped, and kept in the answer's layout.

    PuzzleError, with what is wrong and what is expected, for anything that is not a
    consistent 9x9 puzzle: wrong cell count, bad symbols; BrokenPuzzleError for a grid that
    breaks the rules (repeated givens, no solution)."""
    text = require_text(text, "Sudoku puzzle")
    found = _locate(blank_row_labels(text))
    clash = conflict(found.cells)
    if clash:
        raise BrokenPuzzleError(
            f"The Sudoku breaks the rules: {clash}. Each digit may appear once per row, "
            "column and 3x3 box; check the grid was copied correctly."
        )
    report = solve_cells(found.cells, 1, _PARSE_NODE_LIMIT)
    if report.status == "none":
        raise BrokenPuzzleError(
            "The Sudoku has no solution: its givens contradict each other (checked by an exact "
            "solver), though no digit repeats directly. Check the grid was copied correctly."
        )
    return Puzzle(kind=NAME, grid=to_grid(found.cells), style=_style(text, found))


def read_answer(puzzle: Puzzle, text: str) -> Grid:
    """The solution grid in free text such as an LLM's reply: the last complete grid in it
    (the reply may repeat the question first), else the last grid; PuzzleError if none.
    The grid is not checked against the rules here; `verify` judges it."""
    text = blank_row_labels(require_text(text, "Sudoku answer"))
    grids: list[Cells] = []
    pos = 0
    while pos < len(text) and len(grids) < _MAX_ANSWER_GRIDS:
        try:
            found = _locate(text[pos:])
        except PuzzleError:
            break
        grids.append(found.cells)
        pos += found.end
    if not grids:
        raise PuzzleError(f"No 9x9 Sudoku grid found in the answer. {FORMAT_HELP}")
    complete = [cells for cells in grids if 0 not in cells]
    return to_grid((complete or grids)[-1])
