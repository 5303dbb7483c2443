"""What every puzzle kind shares: the Puzzle value, the PuzzleKind record, PuzzleError, and
small grid and text helpers.

A puzzle kind owns everything about one kind of puzzle: reading it from text, turning grids
into the model's tokens and back, writing answers in the user's own format, checking answers,
augmenting, and generating training data.
"""

from __future__ import annotations

import os
import random
import re
from collections.abc import Callable, Iterator
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


class BrokenPuzzleError(PuzzleError):
    """The text holds a puzzle of this kind, but the puzzle itself is wrong (a Sudoku digit
    twice in a row, a maze goal walled off): kind="auto" leads with this cause."""


@dataclass(frozen=True)
class Puzzle:
    """A parsed puzzle.

    grid: the question, as meaning codes (not token ids): Sudoku 0 = blank, 1-9 digits;
      maze 0 = open, 1 = wall, 2 = start, 3 = goal; ARC colours 0-9 of the test input.
    examples: ARC demonstration pairs (input, output); empty for other kinds.
    style: how the input was written, so `render` can answer in the same format.
    task_id: which training task an ARC puzzle comes from (selects its learned embedding).
    family: which of the generator's families drew it (a maze style), so a training run can
      leave one out; None for puzzles we did not generate.
    """

    kind: str
    grid: Grid
    examples: list[tuple[Grid, Grid]] = field(default_factory=list)
    style: dict[str, Any] = field(default_factory=dict)
    task_id: str | None = None
    family: str | None = None

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


@dataclass(frozen=True)
class PuzzleKind:
    """Everything about one kind of puzzle, as one record (see sudoku/, maze/, arc/): a new kind
    is a new package whose `__init__.py` builds one of these. The solver, tool and evals only
    ever read this record, so adding a kind never touches them."""

    name: str
    vocab_size: int
    """Token ids are 0..vocab_size-1; 0 is always padding."""
    format_help: str
    """A few lines on the accepted text formats; the LLM tool's docstring reuses it."""
    tiers: tuple[str, ...]
    """Difficulty tiers `generate` accepts, easiest first."""

    parse: Callable[[str], Puzzle]
    """Read a puzzle from text in any reasonable format; PuzzleError on bad input."""
    render: Callable[[Puzzle, Grid], str]
    """Write a solution grid as text in the puzzle's own input format."""
    verify: Callable[[Puzzle, Grid], bool | None]
    """True iff a grid exactly solves the puzzle; None where no exact check exists (ARC)."""
    encode: Callable[[Grid], torch.Tensor]
    """A grid (question or answer) as an [H, W] int64 tensor of token ids on the model's
    canvas: Sudoku 9x9, ARC a 30x30 canvas with end-of-grid markers, a maze its own size.
    The model sees tokens row-major with 2-D (row, column) positions, so grids of one shape
    batch together and one set of weights serves every size."""
    decode: Callable[[torch.Tensor], Grid]
    """The inverse of encode for an [H, W] tensor of (predicted) token ids."""
    random_augmentation: Callable[[random.Random], Augmentation]
    """A random symmetry of this kind, for training data and test-time voting."""
    generate: Callable[[random.Random, str], tuple[Puzzle, Grid]]
    """A fresh puzzle of difficulty `tier` (one of `tiers`) and its solution grid."""
    canonical_key: Callable[[Grid], str]
    """A key equal for grids that are augmentations of each other (held-out dedup)."""
    canvas_shape: Callable[[str], tuple[int, int]]
    """The (H, W) every encoded grid of a tier fits in (training batches pad to it)."""
    question_text: Callable[[Puzzle], str]
    """The whole puzzle as text, as one would show it to an LLM."""
    read_answer: Callable[[Puzzle, str], Grid]
    """A solution grid read from free text (e.g. an LLM's reply); PuzzleError if none."""
    solve_exact: Callable[[Puzzle], Grid | None]
    """The classical exact solver's solution; None where none exists (ARC, unsolvable)."""

    default_max_seconds: float | None = None
    """The time budget of one solve call when the caller gives none; None: the solver's."""
    evaluation_puzzles: Callable[[str], list[tuple[Puzzle, list[Grid]]]] | None = None
    """A fixed evaluation split per tier (ARC): (puzzle, expected outputs) per test input.
    None for kinds whose held-out sets are generated."""
    training_task_ids: Callable[[str], list[str]] | None = None
    """Ids of the tasks of a tier that get a learned embedding row each (ARC); None for
    generated kinds."""
    read_csv: Callable[[str | Path], Iterator[tuple[Puzzle, Grid]]] | None = None
    """Puzzles and solutions from a CSV file in the public datasets' layout, where one exists."""
    training_target: Callable[[Puzzle, Grid], Grid] | None = None
    """The grid the model learns to write for a puzzle and its solution, where that is not the
    solution itself (mazes: every cell of every shortest route, so tied routes need no
    tie-breaking); None: the solution."""
    nearest_target: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    """Where `training_target` marks several accepted answers: labels [B, H, W] and the model's
    logits [B, H, W, V] -> the labels of the one accepted answer the logits favour, which the
    step is scored against (mazes: the nearest shortest route); None: the labels as they are."""
    auxiliary_target: Callable[[Puzzle], Grid] | None = None
    """A per-cell number the latent learns to predict beside the answer, -1 where none (mazes:
    steps to the goal, which the route follows down), for models with `aux_classes`; None:
    no such target."""
    families: tuple[str, ...] = ()
    """The generator's families within a tier (`Puzzle.family`: maze styles), which a training
    run may leave out to measure whether its recipe learns the task or the families; () for
    kinds whose families are their tiers."""
    commit: Callable[[Puzzle, list[tuple[Grid, float]], float], Puzzle | None] | None = None
    """The puzzle with a share of its blanks filled from answers that failed the check (grid,
    confidence): the cells they agree on most, as givens of the next search round (Sudoku).
    None for kinds with nothing to fill in (mazes, ARC)."""


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


ROW_LABEL = re.compile(r"^[ \t]*row[ \t]*[0-9]{1,2}[ \t]*:", re.IGNORECASE | re.MULTILINE)
"""A label such as "row 1:" or "Row 9 :" before the cells of one grid row."""


def blank_row_labels(text: str) -> str:
    """The text with every row label turned into as many spaces: readers skip the labels while
    every other character keeps its position (answers are written into the input's layout)."""
    return ROW_LABEL.sub(lambda m: " " * len(m.group()), text)


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


def distinct_views(
    kind: PuzzleKind, rng: random.Random, views: list, count: int, tries: int
) -> list:
    """`views` grown by distinct random symmetries of `kind` to `count`, drawing at most `tries`
    (fewer where the kind has fewer symmetries)."""
    for _ in range(tries):
        if len(views) == count:
            break
        view = kind.random_augmentation(rng)
        if view not in views:
            views.append(view)
    return views
