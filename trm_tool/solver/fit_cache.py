"""Kinds whose tasks each need a network of their own (ARC): a copy of the shipped network
fitted to each task's demonstrations at test time (fitting.py), kept for the next call."""

from __future__ import annotations

import threading
from collections import OrderedDict

import torch

from ..fitting import FitConfig, FittedTask, ProgressCallback, crop, fit_task, reproduced
from ..model import TRM
from ..puzzles import Grid, Puzzle, PuzzleError, PuzzleKind
from .networks import Network
from .policy import Deadline

FIT_SHARE = 0.8
"""Share of a task's time budget its fit may spend; the rest predicts and votes."""
FITTED_CACHE = 32
"""Fitted networks kept (least recently used dropped): asking again costs no fit."""


class FittedNetwork(Network):
    """A network fitted to one task: row k of its embedding table belongs to its k-th view,
    and it runs on the task's own square canvas."""

    def __init__(self, kind: PuzzleKind, task: FittedTask, steps: int):
        super().__init__(kind, task.model, default_steps=steps, report=task.report)
        self.task = task

    def aligned(self, puzzle: Puzzle) -> Puzzle:
        return self.task.aligned(puzzle)

    def views(self, puzzle: Puzzle, count: int) -> list:
        return list(self.task.views)

    def fresh_views(self, puzzle: Puzzle, seen: set, round: int, count: int) -> list:
        return []  # it has a learned row for its own views only

    def row(self, view) -> int:
        return self.task.views.index(view)

    def encode(self, grid: Grid) -> torch.Tensor:
        return crop(self.kind.encode(grid), self.task.side)

    def consistent(self, puzzle: Puzzle, view) -> bool:
        pairs, side, steps = puzzle.examples, self.task.side, self.default_steps
        return all(reproduced(self.model, self.kind, pairs, side, steps, view, self.row(view)))


class FitCache:
    """Fits each task once (per distinct demonstrations) and keeps the last `FITTED_CACHE`."""

    def __init__(self, kind: PuzzleKind, model: TRM, config: FitConfig, rows: dict[str, int]):
        self.kind, self.model, self.config, self.rows = kind, model, config, rows
        self.fitted: OrderedDict[str, FittedNetwork] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(puzzle: Puzzle) -> str:
        return f"{puzzle.task_id}/{puzzle.examples!r}"

    def networks(
        self, puzzles: list[Puzzle], deadline: Deadline, progress: ProgressCallback | None = None
    ) -> list[Network]:
        """Each puzzle's fitted network, each fit within FIT_SHARE of its share of the time
        left."""
        networks = []
        for index, puzzle in enumerate(puzzles):
            if not puzzle.examples:
                raise PuzzleError(
                    f"This {self.kind.name} model learns each task from its demonstration "
                    "pairs; give at least one input/output example."
                )
            fit_by = deadline.share(FIT_SHARE / (len(puzzles) - index))
            networks.append(self.get(puzzle, fit_by, progress))
        return networks

    def get(
        self, puzzle: Puzzle, deadline: Deadline, progress: ProgressCallback | None = None
    ) -> FittedNetwork:
        """The network fitted to the puzzle's task, from the cache if asked before."""
        key = self.key(puzzle)
        with self._lock:
            if key in self.fitted:
                self.fitted.move_to_end(key)
                return self.fitted[key]
            row = self.rows.get(puzzle.task_id)
            task = fit_task(self.model, self.kind, puzzle, self.config, row, deadline.at, progress)
            network = FittedNetwork(self.kind, task, self.config.supervision_steps)
            self.fitted[key] = network
            while len(self.fitted) > FITTED_CACHE:
                self.fitted.popitem(last=False)
            return network
