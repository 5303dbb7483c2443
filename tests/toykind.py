"""A toy puzzle kind for training tests: mirror a small grid left-right and recolour it.

Every answer cell depends on another cell's colour, so the network must mix positions, and a
tiny TRM learns it in well under a minute on a CPU.
"""

from __future__ import annotations

import random

import torch

from trm_tool.puzzles.base import Grid, Identity, Puzzle, PuzzleError

N_COLOURS = 5


class MirrorRecolour:
    name = "toy"
    vocab_size = N_COLOURS + 1
    tiers = ("4x4",)
    format_help = "rows of digits 0-4"

    def __init__(self, side: int = 4):
        self.side = side

    def encode(self, grid: Grid) -> torch.Tensor:
        return torch.tensor(grid, dtype=torch.long) + 1

    def decode(self, tokens: torch.Tensor) -> Grid:
        return (tokens - 1).clamp(min=0).tolist()

    def solution(self, grid: Grid) -> Grid:
        return [[(c + 1) % N_COLOURS for c in reversed(row)] for row in grid]

    def generate(self, rng: random.Random, tier: str) -> tuple[Puzzle, Grid]:
        grid = [[rng.randrange(N_COLOURS) for _ in range(self.side)] for _ in range(self.side)]
        return Puzzle(kind=self.name, grid=grid), self.solution(grid)

    def random_augmentation(self, rng: random.Random) -> Identity | VerticalFlip:
        return rng.choice([Identity(), VerticalFlip()])

    def parse(self, text: str) -> Puzzle:
        if not isinstance(text, str):
            raise PuzzleError("expected text")
        rows = [[int(c) for c in line.strip()] for line in text.strip().splitlines()]
        if len(rows) != self.side or any(len(r) != self.side for r in rows):
            raise PuzzleError(f"expected {self.side} rows of {self.side} digits")
        if any(c >= N_COLOURS for r in rows for c in r):
            raise PuzzleError(f"colours are 0-{N_COLOURS - 1}")
        return Puzzle(kind=self.name, grid=rows)

    def render(self, puzzle: Puzzle, grid: Grid) -> str:
        return "\n".join("".join(str(c) for c in row) for row in grid)

    def canonical_key(self, grid: Grid) -> str:
        return str(grid)

    def canvas_shape(self, tier: str) -> tuple[int, int]:
        return (self.side, self.side)

    def verify(self, puzzle: Puzzle, grid: Grid) -> bool:
        return grid == self.solution(puzzle.grid)


class VerticalFlip:
    """Flipping rows commutes with mirroring columns: a true symmetry of the toy task."""

    def apply(self, grid: Grid) -> Grid:
        return [row[:] for row in reversed(grid)]

    def invert(self, grid: Grid) -> Grid:
        return self.apply(grid)
