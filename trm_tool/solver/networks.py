"""What each puzzle runs on. A source gives every puzzle of a call its `Network`: the shipped
network for the kinds it was trained on (`Shipped`), or a copy fitted to the puzzle's task
from its demonstrations (`fit_cache.FitCache`, ARC). The search asks no more than this."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import torch

from ..fitting import FitReport, ProgressCallback
from ..model import TRM
from ..puzzles import Grid, Puzzle, PuzzleKind
from .policy import Deadline
from .views import unseen_views, views_of


@dataclass(eq=False)
class Network:
    """The shipped network: embedding row 0 for every view, seeded random views."""

    kind: PuzzleKind
    model: TRM
    seed: int = 0
    default_steps: int | None = None
    """Supervision steps per view unless a call says (None: the model's own)."""
    report: FitReport | None = None
    """How the network was fitted to the task (fitted networks only)."""

    def max_steps(self, asked: int | None) -> int:
        return asked or self.default_steps or self.model.config.max_supervision_steps

    def aligned(self, puzzle: Puzzle) -> Puzzle:
        """The puzzle as the network reads it."""
        return puzzle

    def views(self, puzzle: Puzzle, count: int) -> list:
        """The first round's views."""
        return views_of(self.kind, puzzle, count, self.seed)

    def fresh_views(self, puzzle: Puzzle, seen: set, round: int, count: int) -> list:
        """Views for retry round `round`, none in `seen` (added to it)."""
        return unseen_views(self.kind, puzzle, seen, round, count, self.seed)

    def row(self, view) -> int:
        """The embedding row a view runs with."""
        return 0

    def encode(self, grid: Grid) -> torch.Tensor:
        return self.kind.encode(grid)

    def consistent(self, puzzle: Puzzle, view) -> bool:
        """Whether the network reproduces every demonstration under this view."""
        return False


class ModelSource(Protocol):
    def networks(
        self,
        puzzles: list[Puzzle],
        deadline: Deadline,
        progress: ProgressCallback | None = None,
    ) -> list[Network]:
        """The network each puzzle runs on, ready by `deadline`."""
        ...


class Shipped:
    """Every puzzle runs on the one shipped network."""

    def __init__(self, network: Network):
        self.network = network

    def networks(
        self, puzzles: list[Puzzle], deadline: Deadline, progress: ProgressCallback | None = None
    ) -> list[Network]:
        return [self.network] * len(puzzles)
