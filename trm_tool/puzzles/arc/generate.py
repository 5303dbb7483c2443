"""Training and evaluation material per tier: pairs of the ARC-AGI corpora (arc1, arc2) or
grid-operation tasks (operations), each with the ids of the tasks that get a learned row."""

from __future__ import annotations

import random
from dataclasses import replace

from ..base import Grid, Puzzle
from .augment import random_augmentation
from .grid import SIDE
from .operations import GRID_OPERATIONS, OPERATIONS, operation_task
from .tasks import load_tasks, training_material

NAME = "arc"
TIERS = ("arc1", "arc2", OPERATIONS)
DEFAULT_MAX_SECONDS = 120.0
"""Time budget per task on a CPU: most of it fits the network to the task (fitting.py)."""


def _check_tier(tier: str) -> str:
    if tier not in TIERS:
        raise ValueError(f"Unknown ARC tier {tier!r}; expected one of {list(TIERS)}.")
    return tier


def canvas_shape(tier: str) -> tuple[int, int]:
    """Every ARC grid shares one 30x30 canvas."""
    return SIDE, SIDE


def generate(rng: random.Random, tier: str) -> tuple[Puzzle, Grid]:
    """A uniformly drawn pair of the tier's training material (TRM paper protocol: all
    pairs of the training tasks, demonstration pairs only of the evaluation tasks), with
    the task's other pairs as examples, all under one random augmentation."""
    if _check_tier(tier) == OPERATIONS:
        return operation_task(rng, rng.choice(sorted(GRID_OPERATIONS)))
    tasks, index = training_material(tier)
    task_number, pair_number = rng.choice(index)
    task_id, pairs = tasks[task_number]
    augmentation = random_augmentation(rng)
    inp, out = pairs[pair_number]
    others = [pair for p, pair in enumerate(pairs) if p != pair_number]
    puzzle = Puzzle(kind=NAME, grid=inp, examples=others, task_id=task_id)
    return puzzle.map_grids(augmentation.apply), augmentation.apply(out)


def training_task_ids(tier: str) -> list[str]:
    """Ids of every task with training material in the tier (training and evaluation
    tasks), sorted: position i is row i of the learned per-task embedding; the
    operations tier has a row per operation."""
    if _check_tier(tier) == OPERATIONS:
        return sorted(f"op/{name}" for name in GRID_OPERATIONS)
    tasks, _ = training_material(tier)
    return [task_id for task_id, _ in tasks]


def evaluation_puzzles(tier: str) -> list[tuple[Puzzle, list[Grid]]]:
    """One (Puzzle, [expected output]) per test input of every evaluation task, in task
    order; the tests of one task share its task_id, so per-task scores group by it. The
    operations tier's are 100 seeded tasks under ids no task row has (they are fitted)."""
    if _check_tier(tier) == OPERATIONS:
        rng = random.Random("operations/evaluation")
        names = sorted(GRID_OPERATIONS)
        tasks = [operation_task(rng, names[i % len(names)]) for i in range(100)]
        return [
            (replace(puzzle, task_id=f"operations/{i:03d}"), [out])
            for i, (puzzle, out) in enumerate(tasks)
        ]
    return [
        (Puzzle(kind=NAME, grid=inp, examples=list(task.train), task_id=task.task_id), [out])
        for task in load_tasks(_check_tier(tier), "evaluation")
        for inp, out in zip(task.test_inputs, task.test_outputs)
    ]
