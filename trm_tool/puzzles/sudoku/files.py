"""Sudoku data files: the public datasets' CSV layout."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from ..base import Grid, Puzzle, PuzzleError
from .grid import BLANK_SYMBOLS, NAME, Cells, cell_value, to_grid
from .render import line_style


def _line_cells(line: str, what: str, row: int) -> Cells:
    line = line.strip()
    if len(line) != 81 or any(ch not in "123456789" + BLANK_SYMBOLS for ch in line):
        raise PuzzleError(
            f"CSV row {row}: the {what} must be 81 characters of digits and blanks (. or 0)."
        )
    return [cell_value(ch) for ch in line]


def read_csv(path: str | Path) -> Iterator[tuple[Puzzle, Grid]]:
    """Puzzles and solutions from a Sudoku-Extreme style CSV (source,question,answer,rating)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"question", "answer"} - set(reader.fieldnames or ())
        if missing:
            raise PuzzleError(f"{path}: the CSV lacks the column(s) {', '.join(sorted(missing))}.")
        for row_number, row in enumerate(reader, start=2):
            question = _line_cells(row["question"] or "", "question", row_number)
            answer = _line_cells(row["answer"] or "", "answer", row_number)
            puzzle = Puzzle(kind=NAME, grid=to_grid(question), style=line_style())
            yield puzzle, to_grid(answer)
