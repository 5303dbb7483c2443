"""Training and held-out data for any puzzle kind, as plain tensors.

Training examples are generated fresh by the puzzle kind (unlimited, correctly labelled), either
with a curriculum over its difficulty tiers or, as in the paper, as a fixed pool of base
puzzles seen under random augmentations. Held-out sets come from their own fixed seed, and the
training stream skips any puzzle whose canonical form is in a held-out set.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import cache

import torch
from torch import Tensor

from .bank import PuzzleBank
from .puzzles import Grid, Puzzle, PuzzleKind

HELD_OUT_SEED = 20_251_006
IGNORE = -100
"""Label value for positions that carry no answer (canvas padding)."""


@dataclass
class Example:
    """One training or evaluation example as the model sees it."""

    tokens: Tensor  # [H, W] question tokens
    labels: Tensor  # [H, W] answer tokens, IGNORE where there is nothing to predict
    puzzle_id: int  # row of the per-puzzle embedding, 0 when the model has none
    aux: Tensor | None = None  # [H, W] the kind's auxiliary target, -1 where none; None: no such


def to_example(kind: PuzzleKind, puzzle: Puzzle, solution: Grid, puzzle_id: int = 0) -> Example:
    tokens = kind.encode(puzzle.grid)
    target = kind.training_target(puzzle, solution) if kind.training_target else solution
    labels = kind.encode(target)
    labels = torch.where(labels == 0, torch.full_like(labels, IGNORE), labels)
    aux = torch.tensor(kind.auxiliary_target(puzzle)) if kind.auxiliary_target else None
    return Example(tokens, labels, puzzle_id, aux)


def pad_to(t: Tensor, shape: tuple[int, int], value: int) -> Tensor:
    """Pad an [H, W] tensor at the bottom and right to `shape`."""
    height, width = t.shape
    return torch.nn.functional.pad(t, (0, shape[1] - width, 0, shape[0] - height), value=value)


def collate(examples: list[Example], canvas: tuple[int, int]) -> tuple[Tensor, Tensor, Tensor]:
    """Stack examples on one canvas -> tokens [B, H, W], labels [B, H, W], puzzle_ids [B]."""
    tokens = torch.stack([pad_to(e.tokens, canvas, 0) for e in examples])
    labels = torch.stack([pad_to(e.labels, canvas, IGNORE) for e in examples])
    ids = torch.tensor([e.puzzle_id for e in examples], dtype=torch.long)
    return tokens, labels, ids


def collate_aux(examples: list[Example], canvas: tuple[int, int]) -> Tensor | None:
    """The examples' auxiliary targets on one canvas, [B, H, W], -1 where none; None where
    the kind has none."""
    if any(e.aux is None for e in examples):
        return None
    return torch.stack([pad_to(e.aux, canvas, -1) for e in examples])


def aux_labels(aux: Tensor, classes: int) -> Tensor:
    """Auxiliary targets as the labels of a head of `classes` outputs: the value mod classes
    (steps to a maze's goal mod 8 tell which neighbour is one step closer), IGNORE where none."""
    return torch.where(aux >= 0, aux % classes, torch.full_like(aux, IGNORE))


@cache
def held_out(kind: PuzzleKind, tier: str, n: int) -> tuple[tuple[Puzzle, Grid], ...]:
    """The fixed held-out set of a kind and tier: the same n puzzles on every machine.

    Kinds with a fixed evaluation split (ARC) give its first n test pairs (all when n is 0),
    whose outputs training never sees; generated kinds give n puzzles from a held-out seed."""
    if kind.evaluation_puzzles is not None:
        pairs = [(puzzle, answers[0]) for puzzle, answers in kind.evaluation_puzzles(tier)]
        return tuple(pairs[:n] if n else pairs)
    if n < 1:
        raise ValueError(f"a held-out set of generated {kind.name} puzzles needs n >= 1, not {n}")
    rng = random.Random(f"{HELD_OUT_SEED}/{kind.name}/{tier}")
    return tuple(kind.generate(rng, tier) for _ in range(n))


def training_task_ids(kind: PuzzleKind, tiers: list[str]) -> list[str]:
    """Ids of the tasks that get a learned embedding each: kinds whose training material is a
    fixed set of tasks (ARC) have them; generated kinds have none. Sorted: position = row."""
    if kind.training_task_ids is None:
        return []
    return sorted({t for tier in tiers for t in kind.training_task_ids(tier)})


def task_rows(task_ids: list[str]) -> dict[str, int]:
    """Row of each task's learned embedding."""
    return {task_id: row for row, task_id in enumerate(task_ids)}


@cache
def held_out_keys(kind: PuzzleKind, tiers: tuple[str, ...], n: int) -> frozenset[str]:
    """Canonical keys of the first n held-out puzzles per tier, which training must never
    see (none when n is 0)."""
    if n == 0:
        return frozenset()
    return frozenset(
        kind.canonical_key(puzzle.grid) for tier in tiers for puzzle, _ in held_out(kind, tier, n)
    )


def tier_weights(n_tiers: int, progress: float) -> list[float]:
    """Curriculum: the hardest tier in play rises linearly with progress (0..1); the tiers
    below it stay in the mix with half the weight, so easy skills are not forgotten."""
    top = min(n_tiers - 1, int(progress * n_tiers))
    return [1.0 if i == top else 0.5 if i < top else 0.0 for i in range(n_tiers)]


class PuzzleStream:
    """Endless training examples: fresh puzzles (with a curriculum), a fixed augmented pool, or
    fresh puzzles kept in a `bank` of which a `reuse_share` of the examples are re-served under
    a random augmentation (once a tier's bank holds `min_banked`, so a young bank is not
    served over and over). The trainer asks for a tier first (`choose_tier`) and then for
    examples of it, so every batch holds one tier and runs on that tier's canvas. Puzzles of a
    `leave_out` family (`Puzzle.family`) or in a held-out set are never drawn, banked or not."""

    def __init__(
        self,
        kind: PuzzleKind,
        tiers: list[str],
        seed: int,
        curriculum: bool = True,
        pool_size: int = 0,
        held_out_size: int = 0,
        puzzle_ids: dict[str, int] | None = None,
        leave_out: frozenset[str] = frozenset(),
        bank: PuzzleBank | None = None,
        reuse_share: float = 0.0,
        min_banked: int = 256,
    ):
        unknown = leave_out - set(kind.families)
        if unknown or (leave_out and leave_out >= set(kind.families)):
            raise ValueError(
                f"cannot leave out {sorted(leave_out)}: {kind.name} families are "
                f"{list(kind.families) or 'its tiers (choose them with tiers)'}, "
                "and at least one must stay"
            )
        self.kind, self.tiers, self.curriculum = kind, tiers, curriculum
        self.leave_out = leave_out
        self.rng = random.Random(seed)
        self.progress = 0.0
        self.puzzle_ids = puzzle_ids or {}
        if 0 < pool_size < len(tiers):
            raise ValueError(f"a pool of {pool_size} puzzles cannot cover {len(tiers)} tiers")
        self.excluded = held_out_keys(kind, tuple(tiers), held_out_size)
        self.pool: dict[str, list[tuple[Puzzle, Grid]]] = {}
        for i in range(pool_size):
            tier = tiers[i % len(tiers)]
            self.pool.setdefault(tier, []).append(self._fresh(tier))
        self.bank, self.reuse_share, self.min_banked = bank, reuse_share, min_banked
        self.banked = {tier: self._allowed(bank.load(tier)) if bank else [] for tier in tiers}

    def _allowed(self, pairs: list[tuple[Puzzle, Grid]]) -> list[tuple[Puzzle, Grid]]:
        return [
            (puzzle, solution)
            for puzzle, solution in pairs
            if puzzle.family not in self.leave_out
            and self.kind.canonical_key(puzzle.grid) not in self.excluded
        ]

    def _fresh(self, tier: str) -> tuple[Puzzle, Grid]:
        while True:
            puzzle, solution = self.kind.generate(self.rng, tier)
            if puzzle.family in self.leave_out:
                continue
            if self.kind.canonical_key(puzzle.grid) not in self.excluded:
                return puzzle, solution

    def _weights(self) -> list[float]:
        if not self.curriculum:
            return [1.0] * len(self.tiers)
        return tier_weights(len(self.tiers), self.progress)

    def active_tiers(self) -> list[str]:
        return [t for t, w in zip(self.tiers, self._weights()) if w > 0]

    def choose_tier(self) -> str:
        """The tier of the next batch: drawn by the curriculum's weights (uniform without)."""
        return self.rng.choices(self.tiers, weights=self._weights())[0]

    def next(self, tier: str) -> Example:
        """One example of `tier`: a fresh puzzle (banked, with a bank), or a pool or bank puzzle
        under a random augmentation."""
        if self.pool:
            puzzle, solution = self._augmented(self.rng.choice(self.pool[tier]))
        elif len(self.banked[tier]) >= self.min_banked and self.rng.random() < self.reuse_share:
            puzzle, solution = self._augmented(self.rng.choice(self.banked[tier]))
        else:
            puzzle, solution = self._fresh(tier)
            if self.bank is not None:
                self.bank.add(tier, puzzle, solution)
                self.banked[tier].append((puzzle, solution))
        return to_example(self.kind, puzzle, solution, self.puzzle_ids.get(puzzle.task_id or "", 0))

    def _augmented(self, pair: tuple[Puzzle, Grid]) -> tuple[Puzzle, Grid]:
        augmentation = self.kind.random_augmentation(self.rng)
        return pair[0].map_grids(augmentation.apply), augmentation.apply(pair[1])


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% confidence interval of a success rate (Wilson score)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)
