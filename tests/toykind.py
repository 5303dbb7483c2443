"""A toy puzzle kind for training tests: mirror a small grid left-right and recolour it.

Every answer cell depends on another cell's colour, so the network must mix positions, and a
tiny TRM learns it in well under a minute on a CPU. Like every kind, it is one PuzzleKind
record of plain functions.
"""

from __future__ import annotations

import random
from functools import partial

import torch

from trm_tool.puzzles.base import Grid, Identity, Puzzle, PuzzleError, PuzzleKind

N_COLOURS = 5
NAME = "toy"


def solution(grid: Grid) -> Grid:
    return [[(c + 1) % N_COLOURS for c in reversed(row)] for row in grid]


def generate(side: int, rng: random.Random, tier: str) -> tuple[Puzzle, Grid]:
    grid = [[rng.randrange(N_COLOURS) for _ in range(side)] for _ in range(side)]
    return Puzzle(kind=NAME, grid=grid), solution(grid)


def parse(side: int, text: str) -> Puzzle:
    if not isinstance(text, str):
        raise PuzzleError("expected text")
    try:
        rows = [[int(c) for c in line.strip()] for line in text.strip().splitlines()]
    except ValueError:
        raise PuzzleError("expected rows of digits") from None
    if len(rows) != side or any(len(r) != side for r in rows):
        raise PuzzleError(f"expected {side} rows of {side} digits")
    if any(c >= N_COLOURS for r in rows for c in r):
        raise PuzzleError(f"colours are 0-{N_COLOURS - 1}")
    return Puzzle(kind=NAME, grid=rows)


def render(puzzle: Puzzle, grid: Grid) -> str:
    return "\n".join("".join(str(c) for c in row) for row in grid)


def read_answer(side: int, puzzle: Puzzle, text: str) -> Grid:
    return parse(side, text).grid


def encode(grid: Grid) -> torch.Tensor:
    return torch.tensor(grid, dtype=torch.long) + 1


def decode(tokens: torch.Tensor) -> Grid:
    return (tokens - 1).clamp(min=0).tolist()


def random_augmentation(rng: random.Random) -> Identity | VerticalFlip:
    return rng.choice([Identity(), VerticalFlip()])


class VerticalFlip:
    """Flipping rows commutes with mirroring columns: a true symmetry of the toy task."""

    def apply(self, grid: Grid) -> Grid:
        return [row[:] for row in reversed(grid)]

    def invert(self, grid: Grid) -> Grid:
        return self.apply(grid)


def toy_kind(side: int = 4) -> PuzzleKind:
    """The toy kind on side x side grids."""
    return PuzzleKind(
        name=NAME,
        vocab_size=N_COLOURS + 1,
        format_help="rows of digits 0-4",
        tiers=(f"{side}x{side}",),
        parse=partial(parse, side),
        render=render,
        verify=lambda puzzle, grid: grid == solution(puzzle.grid),
        encode=encode,
        decode=decode,
        random_augmentation=random_augmentation,
        generate=partial(generate, side),
        canonical_key=str,
        canvas_shape=lambda tier: (side, side),
        question_text=lambda puzzle: render(puzzle, puzzle.grid),
        read_answer=partial(read_answer, side),
        solve_exact=lambda puzzle: solution(puzzle.grid),
    )
