"""A toy puzzle kind for training tests: mirror a small grid left-right and recolour it.

Every answer cell depends on another cell's colour, so the network must mix positions, and a
tiny TRM learns it in well under a minute on a CPU.
"""

from __future__ import annotations

import random

import torch

from trm_tool.puzzles.base import Grid, Identity, Puzzle

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

    def random_augmentation(self, rng: random.Random) -> Identity:
        return Identity()

    def canonical_key(self, grid: Grid) -> str:
        return str(grid)

    def canvas_shape(self, tier: str) -> tuple[int, int]:
        return (self.side, self.side)

    def verify(self, puzzle: Puzzle, grid: Grid) -> bool:
        return grid == self.solution(puzzle.grid)
