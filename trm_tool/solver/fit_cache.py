"""Kinds whose tasks each need a network of their own (ARC): a copy of the shipped network
fitted to each task's demonstrations at test time (fitting.py), kept for the next call."""

from __future__ import annotations

import threading
from collections import OrderedDict

import torch

from ..fitting import (
    FitConfig,
    FittedTask,
    ProgressCallback,
    crop,
    fit_task,
    reproduced,
    task_side,
)
from ..model import TRM
from ..puzzles import Grid, Puzzle, PuzzleError, PuzzleKind
from .networks import Network
from .policy import Deadline

FIT_SHARE = 0.8
"""Share of a task's time budget its fit may spend; the rest predicts and votes."""
FITTED_CACHE = 32
"""Fitted networks kept (least recently used dropped): asking again costs no fit."""
FITTED_CACHE_BYTES = 256 * 2**20
"""Memory the kept networks may hold together; the least recently used go first."""
MAX_FIT_BYTES = 2 * 2**30
"""A fit whose estimated memory (fit_bytes) is larger is refused with a message instead of
risking an out-of-memory kill of the whole process."""


def warm_up_optimizer() -> None:
    """Build one AdamW now: its first construction in a process imports torch._dynamo (about
    9 s on a busy 2-core CPU), which would otherwise come out of the first fit's budget."""
    torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))])


def tensor_bytes(model: torch.nn.Module) -> int:
    """Bytes held by a network's parameters and buffers."""
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)


def fit_bytes(model: TRM, config: FitConfig, side: int) -> int:
    """An upper estimate of one fit's memory: the copy with its gradients and two AdamW
    moments, plus what a batch keeps for the backward pass on a side x side canvas
    (activations of every block of every latent step with gradient, attention scores too)."""
    c = model.config
    tokens = side * side + c.puzzle_prefix_len
    per_block = tokens * c.hidden * (4 + 2 * c.expansion) + c.n_heads * tokens * tokens
    kept = config.batch_size * per_block * c.n_blocks * (c.n_latent_steps + 1)
    return 4 * tensor_bytes(model) + 4 * kept


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
    """Fits each task once (per distinct demonstrations) and keeps the last `FITTED_CACHE`,
    within `max_cache_bytes`; refuses a fit estimated above `max_fit_bytes`."""

    def __init__(
        self,
        kind: PuzzleKind,
        model: TRM,
        config: FitConfig,
        rows: dict[str, int],
        max_fit_bytes: int = MAX_FIT_BYTES,
        max_cache_bytes: int = FITTED_CACHE_BYTES,
    ):
        self.kind, self.model, self.config, self.rows = kind, model, config, rows
        self.max_fit_bytes, self.max_cache_bytes = max_fit_bytes, max_cache_bytes
        self.fitted: OrderedDict[str, FittedNetwork] = OrderedDict()
        self._sizes: dict[str, int] = {}
        self._lock = threading.Lock()
        warm_up_optimizer()

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
            self._check_memory(puzzle)
            row = self.rows.get(puzzle.task_id)
            task = fit_task(self.model, self.kind, puzzle, self.config, row, deadline.at, progress)
            network = FittedNetwork(self.kind, task, self.config.supervision_steps)
            self.fitted[key], self._sizes[key] = network, tensor_bytes(task.model)
            while len(self.fitted) > FITTED_CACHE or (
                len(self.fitted) > 1 and sum(self._sizes.values()) > self.max_cache_bytes
            ):
                self._sizes.pop(self.fitted.popitem(last=False)[0])
            return network

    def _check_memory(self, puzzle: Puzzle) -> None:
        grids = [puzzle.grid, *(grid for pair in puzzle.examples for grid in pair)]
        need = fit_bytes(self.model, self.config, task_side(self.kind, grids))
        if need > self.max_fit_bytes:
            raise PuzzleError(
                f"Fitting this {self.kind.name} task would need about {need / 2**20:,.0f} MiB, "
                f"more than this solver's limit of {self.max_fit_bytes / 2**20:,.0f} MiB; "
                "give a task with smaller grids."
            )
