"""Training puzzles made by worker processes, for training that outruns one core's generator.

On a GPU one optimizer step of our small networks takes milliseconds, while one core makes a
few hard Sudoku or maze puzzles a second, so `train` and `pretrain` would wait on
`kind.generate`. A `Feed` wraps a kind: its `generate` hands out puzzles that a pool of
processes made ahead (fresh ones first); when none is ready it re-serves one already made under
a random symmetry of the kind, as the paper trains on an augmented pool. The held-out sets are
made by the workers too, from the same fixed seeds (data.held_out), so training still never
sees them and evaluation scores the same puzzles as on one core.

    with Feed(get_kind("sudoku"), ["hard", "deep"], workers=14, held_out_size=100) as feed:
        train(config, kind=feed.kind())
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import random
from collections import deque
from multiprocessing.pool import AsyncResult

from .data import held_out
from .puzzles import Grid, Puzzle, PuzzleKind, get_kind

Pair = tuple[Puzzle, Grid]
KEPT = 50_000
"""Puzzles kept per tier for re-serving."""


def _start_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _make(kind: str, tier: str, seed: str, count: int) -> list[Pair]:
    rng = random.Random(seed)
    generate = get_kind(kind).generate
    return [generate(rng, tier) for _ in range(count)]


def _held_out(kind: str, tier: str, n: int) -> list[Pair]:
    return list(held_out(get_kind(kind), tier, n))


class Feed:
    """A kind whose puzzles come from `workers` processes; see the module docstring."""

    def __init__(
        self,
        kind: PuzzleKind,
        tiers: list[str],
        workers: int,
        held_out_size: int,
        chunk: int = 16,
        seed: int = 0,
    ):
        """`chunk`: puzzles per worker job, enough that the hand-over costs little, few enough
        that fresh puzzles arrive steadily."""
        self.base, self.tiers, self.chunk, self.seed = kind, tiers, chunk, seed
        context = multiprocessing.get_context("spawn")
        self.pool = context.Pool(max(1, workers), initializer=_start_worker)
        self.held: dict[str, AsyncResult] = {}
        if kind.evaluation_puzzles is None and held_out_size:
            for tier in tiers:
                self.held[tier] = self.pool.apply_async(_held_out, (kind.name, tier, held_out_size))
        self.jobs = 0
        self.depth = max(2, 2 * max(1, workers) // len(tiers))
        """Jobs waiting or running per tier."""
        self.pending: dict[str, deque[AsyncResult]] = {tier: deque() for tier in tiers}
        self.ready: dict[str, deque[Pair]] = {tier: deque() for tier in tiers}
        self.made: dict[str, list[Pair]] = {tier: [] for tier in tiers}
        self.fresh = {tier: 0 for tier in tiers}
        self.reused = {tier: 0 for tier in tiers}
        for tier in tiers:
            for _ in range(self.depth):
                self._submit(tier)

    def __enter__(self) -> Feed:
        return self

    def __exit__(self, *exc) -> None:
        self.pool.terminate()

    def kind(self) -> PuzzleKind:
        """The wrapped kind: `generate` from the feed; generated held-out sets (waited for
        here) as a fixed evaluation split."""
        changes: dict = {"generate": self.generate}
        if self.held:
            sets = {tier: job.get() for tier, job in self.held.items()}
            changes["evaluation_puzzles"] = lambda tier: [(p, [s]) for p, s in sets[tier]]
        return dataclasses.replace(self.base, **changes)

    def generate(self, rng: random.Random, tier: str) -> Pair:
        """A fresh puzzle when one is ready, else one already made under a random symmetry."""
        self._collect(tier)
        if not self.ready[tier] and not self.made[tier]:
            self._wait(tier)
        if self.ready[tier]:
            pair = self.ready[tier].popleft()
            self._keep(tier, pair, rng)
            self.fresh[tier] += 1
            return pair
        puzzle, solution = rng.choice(self.made[tier])
        augmentation = self.base.random_augmentation(rng)
        self.reused[tier] += 1
        return puzzle.map_grids(augmentation.apply), augmentation.apply(solution)

    def stats(self) -> dict:
        """Per tier: puzzles served fresh and re-served."""
        return {
            tier: {"fresh": self.fresh[tier], "reused": self.reused[tier]} for tier in self.tiers
        }

    def _submit(self, tier: str) -> None:
        seed = f"feed/{self.seed}/{self.base.name}/{tier}/{self.jobs}"
        self.jobs += 1
        self.pending[tier].append(
            self.pool.apply_async(_make, (self.base.name, tier, seed, self.chunk))
        )

    def _collect(self, tier: str) -> None:
        """Take every finished job of the tier, and start as many new ones."""
        pending = self.pending[tier]
        for job in [job for job in pending if job.ready()]:
            pending.remove(job)
            self.ready[tier].extend(job.get())
            self._submit(tier)

    def _wait(self, tier: str) -> None:
        self.ready[tier].extend(self.pending[tier].popleft().get())
        self._submit(tier)

    def _keep(self, tier: str, pair: Pair, rng: random.Random) -> None:
        made = self.made[tier]
        if len(made) < KEPT:
            made.append(pair)
        else:
            made[rng.randrange(KEPT)] = pair
