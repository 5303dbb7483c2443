"""Maze data files: the Maze-Hard CSV layout."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from pathlib import Path

from ..base import Grid, Puzzle, PuzzleError
from .grid import GOAL, MAX_SIDE, OPEN, PATH, START, WALL
from .parse import check_maze
from .render import generated_style

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
                check_maze(question)
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
