"""What every puzzle kind shares: the Puzzle value, the PuzzleKind protocol, PuzzleError.

A puzzle kind owns everything about one kind of puzzle: reading it from text, turning grids
into the model's tokens and back, writing answers in the user's own format, checking answers,
augmenting, and generating training data. The solver, tool and evals only ever talk to this
protocol, so adding a kind never touches them.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import torch

Grid = list[list[int]]

MAX_TEXT_CHARS = 200_000
"""Longest puzzle text any parser reads; longer input is refused before any work is done."""


SHARED_ENV = "TRM_SHARED_DIR"
"""Where the shared folder (benchmarks, training material) lives, if not beside this checkout."""


def shared_dir() -> Path:
    """The shared folder beside the project (`../shared`), or $TRM_SHARED_DIR."""
    return Path(os.environ.get(SHARED_ENV) or Path(__file__).resolve().parents[3] / "shared")


class PuzzleError(ValueError):
    """Bad puzzle input. The message says what was wrong and what is expected, for an LLM."""


@dataclass(frozen=True)
class Puzzle:
    """A parsed puzzle.

    grid: the question, as meaning codes (not token ids): Sudoku 0 = blank, 1-9 digits;
      maze 0 = open, 1 = wall, 2 = start, 3 = goal; ARC colours 0-9 of the test input.
    examples: ARC demonstration pairs (input, output); empty for other kinds.
    style: how the input was written, so `render` can answer in the same format.
    task_id: which training task an ARC puzzle comes from (selects its learned embedding).
    """

    kind: str
    grid: Grid
    examples: list[tuple[Grid, Grid]] = field(default_factory=list)
    style: dict[str, Any] = field(default_factory=dict)
    task_id: str | None = None

    def map_grids(self, fn: Callable[[Grid], Grid]) -> Puzzle:
        """The same puzzle with `fn` applied to the question and every example grid."""
        return replace(
            self,
            grid=fn(self.grid),
            examples=[(fn(inp), fn(out)) for inp, out in self.examples],
        )


class Augmentation(Protocol):
    """A symmetry of a puzzle kind: maps a grid into another frame and back exactly."""

    def apply(self, grid: Grid) -> Grid: ...

    def invert(self, grid: Grid) -> Grid: ...


class PuzzleKind(Protocol):
    """The one protocol every puzzle kind implements (see sudoku.py, maze.py, arc.py)."""

    name: str
    vocab_size: int
    """Token ids are 0..vocab_size-1; 0 is always padding."""
    format_help: str
    """A few lines on the accepted text formats; the LLM tool's docstring reuses it."""

    def parse(self, text: str) -> Puzzle:
        """Read a puzzle from text in any reasonable format; PuzzleError on bad input."""
        ...

    def render(self, puzzle: Puzzle, grid: Grid) -> str:
        """Write a solution grid as text in the puzzle's own input format."""
        ...

    def verify(self, puzzle: Puzzle, grid: Grid) -> bool | None:
        """True iff `grid` exactly solves `puzzle`; None where no exact check exists (ARC)."""
        ...

    def encode(self, grid: Grid) -> torch.Tensor:
        """A grid (question or answer) as an [H, W] int64 tensor of token ids on the model's
        canvas: Sudoku 9x9, ARC a 30x30 canvas with end-of-grid markers, a maze its own size.
        The model sees tokens row-major with 2-D (row, column) positions, so grids of one shape
        batch together and one set of weights serves every size."""
        ...

    def decode(self, tokens: torch.Tensor) -> Grid:
        """The inverse of encode for an [H, W] tensor of (predicted) token ids."""
        ...

    def random_augmentation(self, rng: random.Random) -> Augmentation:
        """A random symmetry of this kind, for training data and test-time voting."""
        ...

    def generate(self, rng: random.Random, tier: str) -> tuple[Puzzle, Grid]:
        """A fresh puzzle of difficulty `tier` (one of `tiers`) and its solution grid."""
        ...

    def question_text(self, puzzle: Puzzle) -> str:
        """The whole puzzle as text, as one would show it to an LLM."""
        ...

    def read_answer(self, puzzle: Puzzle, text: str) -> Grid:
        """A solution grid read from free text (e.g. an LLM's reply); PuzzleError if none."""
        ...

    def solve_exact(self, puzzle: Puzzle) -> Grid | None:
        """The classical exact solver's solution; None where none exists (ARC, unsolvable)."""
        ...

    def canonical_key(self, grid: Grid) -> str:
        """A key equal for grids that are augmentations of each other (held-out dedup)."""
        ...

    def canvas_shape(self, tier: str) -> tuple[int, int]:
        """The (H, W) every encoded grid of `tier` fits in (training batches pad to it)."""
        ...

    tiers: tuple[str, ...]
    """Difficulty tiers `generate` accepts, easiest first."""


IDENTITY_NAME = "identity"


class Identity:
    """The augmentation that changes nothing (view 0 of every test-time vote)."""

    def apply(self, grid: Grid) -> Grid:
        return [row[:] for row in grid]

    def invert(self, grid: Grid) -> Grid:
        return [row[:] for row in grid]


def require_text(text: object, what: str, max_chars: int = MAX_TEXT_CHARS) -> str:
    """Check that `text` is a non-empty string of sane length, or raise PuzzleError."""
    if not isinstance(text, str):
        raise PuzzleError(f"Expected the {what} as text (a string), got {type(text).__name__}.")
    if len(text) > max_chars:
        raise PuzzleError(
            f"The {what} text is {len(text):,} characters; at most {max_chars:,} are accepted."
        )
    if not text.strip():
        raise PuzzleError(f"The {what} text is empty.")
    return text


def transpose(grid: Grid) -> Grid:
    return [list(col) for col in zip(*grid)]


def rotate90(grid: Grid) -> Grid:
    """Rotate a grid a quarter turn clockwise."""
    return [list(row) for row in zip(*grid[::-1])]


def dihedral(grid: Grid, index: int) -> Grid:
    """One of the 8 symmetries of the square: `index` quarter turns, then a transpose if >= 4."""
    out = [row[:] for row in grid]
    for _ in range(index % 4):
        out = rotate90(out)
    return transpose(out) if index >= 4 else out


def dihedral_inverse(grid: Grid, index: int) -> Grid:
    """Undo `dihedral(grid, index)`."""
    out = transpose(grid) if index >= 4 else [row[:] for row in grid]
    for _ in range((4 - index % 4) % 4):
        out = rotate90(out)
    return out


def grid_shape(grid: Grid) -> tuple[int, int]:
    return len(grid), (len(grid[0]) if grid else 0)
