"""Puzzle families for validation: each a named way of drawing puzzles, with the training tiers
that would put it in a model's training mix (none for sets made by others).

A model can learn a generator's habits instead of the task, so promotion looks at every family,
above all the ones no training run saw (magictour, maze-dataset), and at the worst family first.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection
from dataclasses import dataclass

from trm_tool.external import load_set, maze_dataset_set
from trm_tool.puzzles import Grid, Puzzle, get_kind
from trm_tool.puzzles import maze as maze_kind

VALIDATION_SEED = 12345
Pairs = list[tuple[Puzzle, Grid | None]]
"""Puzzles with their solution, or None where only the exact check can judge an answer."""


@dataclass(frozen=True)
class Family:
    name: str
    draw: Callable[[int, int], Pairs]  # (n, seed) -> pairs
    trained_by: tuple[str, ...] = ()
    """Training tiers that put this family (or puzzles drawn the same way) in a run's mix."""
    generator_family: str | None = None
    """The `Puzzle.family` of its puzzles, which a run may leave out of those tiers."""

    def in_mix(self, training_tiers: Collection[str], left_out: Collection[str] = ()) -> bool:
        return (
            bool(set(self.trained_by) & set(training_tiers))
            and self.generator_family not in left_out
        )


def tier_family(kind_name: str, tier: str, trained_by: tuple[str, ...] | None = None) -> Family:
    """Fresh puzzles of a generator tier, from the validation seed."""

    def draw(n: int, seed: int) -> Pairs:
        kind = get_kind(kind_name)
        rng = random.Random(f"validation/{seed}/{kind_name}/{tier}")
        return [kind.generate(rng, tier) for _ in range(n)]

    return Family(tier, draw, (tier,) if trained_by is None else trained_by)


def external_family(kind_name: str, name: str, label: str | None = None) -> Family:
    """A set we did not make (a file in ../shared/benchmarks or maze-dataset): never trained on."""

    def draw(n: int, seed: int) -> Pairs:
        if name.startswith("maze-dataset/"):
            puzzles = maze_dataset_set(name, n, seed).puzzles
        else:
            puzzles = load_set(get_kind(kind_name), name, n, seed).puzzles
        return [(puzzle, None) for puzzle in puzzles]

    return Family(label or name, draw)


def maze_style_family(
    style: str, sides: tuple[int, int], min_path: int | None, size: str
) -> Family:
    """Our generator's mazes of one style and size (every style is in each maze tier)."""

    def draw(n: int, seed: int) -> Pairs:
        rng = random.Random(f"validation/{seed}/maze/{style}/{size}")
        pairs = []
        for _ in range(n):
            height, width = rng.randint(*sides), rng.randint(*sides)
            pairs.append(maze_kind.generate_maze(rng, height, width, style, min_path=min_path))
        return pairs

    tiers = ("small", "medium") if size == "small" else ("large", "hard")
    return Family(f"{style}/{size}", draw, tiers, generator_family=style)


def sudoku_families() -> list[Family]:
    tiers = [
        tier_family("sudoku", t) for t in ("singles", "easy", "hard", "extreme", "deep", "deeper")
    ]
    return [
        *tiers,
        tier_family("sudoku", "royle17-validation", trained_by=("royle17",)),
        tier_family("sudoku", "sparse-validation", trained_by=("sparse",)),
        external_family("sudoku", "magictour"),
    ]


def maze_families() -> list[Family]:
    small = [maze_style_family(s, (6, 12), None, "small") for s in maze_kind.STYLES]
    hard = [
        maze_style_family(s, (30, 30), maze_kind.HARD_MIN_PATH, "30x30")
        for s in maze_kind.HARD_STYLES
    ]
    dataset = [
        external_family("maze", f"maze-dataset/{algorithm}/large", f"maze-dataset {algorithm} 29")
        for algorithm in ("dfs", "wilson", "kruskal", "recursive_division", "percolation")
    ] + [external_family("maze", "maze-dataset/dfs_percolation/large", "maze-dataset dfs+perc 29")]
    return [*small, *hard, *dataset]


FAMILIES: dict[str, Callable[[], list[Family]]] = {
    "sudoku": sudoku_families,
    "maze": maze_families,
}
