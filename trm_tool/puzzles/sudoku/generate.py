"""The generator: random solution grids carved down to unique puzzles of a difficulty tier."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..base import Grid, Puzzle, PuzzleError
from .exact import (
    BIT,
    DEFAULT_NODE_LIMIT,
    FULL,
    SLOTS,
    place,
    propagate,
    search,
    solve_cells,
    start_state,
)
from .grid import NAME, Cells, to_grid
from .sparse import SPARSE_TIERS, sparse_puzzle

TIERS = ("singles", "easy", "medium", "hard", "extreme", "deep", "deeper")


@dataclass(frozen=True)
class _Tier:
    """How to make puzzles of one difficulty: carve cells away from a random solution while
    singles alone still solve the puzzle (or merely while it stays unique), down to a target
    count of givens, then keep it if its `difficulty` is in range."""

    singles_only: bool
    givens: tuple[int, int]  # stop at a random count in this range; (0, 0) carves to minimal
    guesses: tuple[int, int]


DEEP_GUESSES = 8
"""Guesses that make a puzzle deep: about the hardest fifth of random minimal puzzles (3+
guesses), ~125 ms each to find; public hard collections need far more (magictour top1465:
median 23, quartiles 13 and 54)."""
DEEPER_GUESSES = 20
"""Guesses that make a puzzle deeper: about the hardest 15% of deep puzzles (median 26),
~1.2 s each to find on one core."""
_TIER_RULES = {
    "singles": _Tier(singles_only=True, givens=(36, 45), guesses=(0, 0)),
    "easy": _Tier(singles_only=True, givens=(28, 35), guesses=(0, 0)),
    "medium": _Tier(singles_only=True, givens=(0, 0), guesses=(0, 0)),
    "hard": _Tier(singles_only=False, givens=(0, 0), guesses=(1, 2)),
    "extreme": _Tier(singles_only=False, givens=(0, 0), guesses=(3, 10**9)),
    "deep": _Tier(singles_only=False, givens=(0, 0), guesses=(DEEP_GUESSES, 10**9)),
    "deeper": _Tier(singles_only=False, givens=(0, 0), guesses=(DEEPER_GUESSES, 10**9)),
}
_CARVE_NODE_LIMIT = 2_000
_CARVES_PER_SOLUTION = 8
"""Puzzles tried from one solution grid before drawing a new one; the witnesses found while
carving it make later carvings of the same grid cheaper."""


def _random_solution(rng: random.Random) -> Cells:
    """A random complete grid: three independent diagonal boxes, then a randomised search."""
    cells = [0] * 81
    for box in (0, 4, 8):
        top, left = box // 3 * 3, box % 3 * 3
        for k, d in enumerate(rng.sample(range(1, 10), 9)):
            cells[(top + k // 3) * 9 + left + k % 3] = d
    s = start_state(cells)
    assert s is not None
    solutions, *_ = search(s, 1, DEFAULT_NODE_LIMIT, rng)
    return solutions[0]


class _Unavoidable:
    """Sets of cells of one solution grid that a unique puzzle must keep a given in: where
    another valid grid differs from it. Each is filed under every cell it contains."""

    def __init__(self) -> None:
        self.by_cell: list[list[int]] = [[] for _ in range(81)]

    def add(self, solution: Cells, other: Cells) -> None:
        cells = [i for i in range(81) if solution[i] != other[i]]
        mask = sum(1 << i for i in cells)
        for i in cells:
            self.by_cell[i].append(mask)

    def needs(self, i: int, givens: int) -> bool:
        """Whether cell i is the last given of a known set (so it cannot be blanked)."""
        bit = 1 << i
        return any(mask & givens == bit for mask in self.by_cell[i])


def _other_solution(s: list[int], i: int, removed: int) -> Cells | None:
    """A solution of state `s` (cell i just emptied of `removed`) with another digit at i, or
    None if there is none. A search that runs out of nodes counts as a solution: []."""
    _, r, c, b = SLOTS[i]
    others = FULL ^ (s[r] | s[c] | s[b]) ^ BIT[removed]
    while others:
        bit = others & -others
        others ^= bit
        trial = s[:]
        place(trial, i, bit)
        found, _, _, gave_up = search(trial, 1, _CARVE_NODE_LIMIT)
        if found or gave_up:
            return found[0] if found else []
    return None


def _solved_by_singles(s: list[int]) -> bool:
    return propagate(s[:])[0] == 81


def _carve(solution: Cells, rng: random.Random, rule: _Tier, known: _Unavoidable) -> Cells:
    """Blank cells of `solution` in random order while the puzzle stays unique (or solvable
    by singles), down to the tier's target count of givens."""
    s = start_state(solution)
    assert s is not None
    target = rng.randint(*rule.givens)
    givens, count = (1 << 81) - 1, 81
    for i in rng.sample(range(81), 81):
        if count <= target:
            break
        if known.needs(i, givens):
            continue
        d = s[i]
        bit = BIT[d]
        _, r, c, b = SLOTS[i]
        trial = s[:]
        trial[i] = 0
        trial[r] ^= bit
        trial[c] ^= bit
        trial[b] ^= bit
        if rule.singles_only:
            keep = _solved_by_singles(trial)
        else:
            other = _other_solution(trial, i, d)
            if other:
                known.add(solution, other)
            keep = other is None
        if keep:
            s = trial
            givens ^= 1 << i
            count -= 1
    return s[:81]


def generate(rng: random.Random, tier: str) -> tuple[Puzzle, Grid]:
    """A fresh puzzle with a unique solution, of difficulty `tier`, and its solution.

    singles: 36-45 givens, easy: 28-35, medium: as few as singles allow (about 22-28); all
    three are solved by naked and hidden singles alone. hard: 1-2 guesses, extreme: 3 or more,
    deep: DEEP_GUESSES or more (see `difficulty`), deeper: DEEPER_GUESSES or more, all
    minimal (no given can be removed).
    The SPARSE_TIERS are drawn from Royle's 17-given collection instead (`sparse_puzzle`).
    Deterministic given `rng`."""
    if tier in SPARSE_TIERS:
        return sparse_puzzle(rng, tier)
    rule = _TIER_RULES.get(tier)
    if rule is None:
        known = ", ".join(TIERS + SPARSE_TIERS)
        raise PuzzleError(f"Unknown Sudoku tier {tier!r}; expected one of: {known}.")
    low, high = rule.guesses
    while True:
        solution = _random_solution(rng)
        known = _Unavoidable()
        for _ in range(_CARVES_PER_SOLUTION):
            puzzle = _carve(solution, rng, rule, known)
            report = solve_cells(puzzle, 2, DEFAULT_NODE_LIMIT)
            if report.status == "unique" and low <= report.guesses <= high:
                return Puzzle(kind=NAME, grid=to_grid(puzzle)), to_grid(solution)


def canvas_shape(tier: str) -> tuple[int, int]:
    return (9, 9)
