"""A puzzle bank: generated training puzzles kept on disk, so later runs re-serve them.

Hard puzzles are slow to make: a `deeper` Sudoku takes ~1.2 s of our exact solver and a
17-given one ~0.26 s, while a training step of 96 Sudokus takes ~1.3 s on one core in bf16,
so a run on those tiers spent most of its core on the generator. With a bank, a run keeps every
puzzle it makes (one JSON line each, `<dir>/<kind>/<tier>.jsonl`) and serves a share of its
examples from the bank under a random symmetry of the kind, as the paper trains on an augmented
pool; the bank grows with every run that uses it.

Only plain generated puzzles are kept (no demonstrations, as ARC tasks have): their grid,
solution and family.
"""

from __future__ import annotations

import json
from pathlib import Path

from .puzzles import Grid, Puzzle

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def grid_text(grid: Grid) -> str:
    """A grid as one line: rows of one base-36 digit per cell, joined by '/'."""
    return "/".join("".join(_DIGITS[value] for value in row) for row in grid)


def text_grid(text: str) -> Grid:
    """The grid of `grid_text`."""
    return [[_DIGITS.index(char) for char in row] for row in text.split("/")]


class PuzzleBank:
    """The banked puzzles of one kind, one file per tier under `directory/<kind>/`."""

    def __init__(self, directory: str | Path, kind: str):
        self.folder = Path(directory) / kind
        self.kind = kind

    def path(self, tier: str) -> Path:
        return self.folder / f"{tier}.jsonl"

    def load(self, tier: str) -> list[tuple[Puzzle, Grid]]:
        """Every puzzle banked for `tier` with its solution (none before the first run)."""
        path = self.path(tier)
        if not path.exists():
            return []
        pairs = []
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                puzzle = Puzzle(kind=self.kind, grid=text_grid(row["grid"]), family=row["family"])
                pairs.append((puzzle, text_grid(row["solution"])))
        return pairs

    def add(self, tier: str, puzzle: Puzzle, solution: Grid) -> None:
        """Append one generated puzzle to its tier's file."""
        if puzzle.examples:
            raise ValueError("a puzzle bank keeps plain puzzles, not tasks with demonstrations")
        row = {
            "family": puzzle.family,
            "grid": grid_text(puzzle.grid),
            "solution": grid_text(solution),
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        with self.path(tier).open("a") as out:
            out.write(json.dumps(row) + "\n")
