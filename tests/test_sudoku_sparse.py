"""Sparse Sudoku tiers from Royle's 17-given collection: 17-30 givens, one solution each, and
never a validation or magictour puzzle in training (by canonical form under the symmetries)."""

import random

import pytest

from trm_tool.puzzles import sudoku as S
from trm_tool.puzzles.base import shared_dir

pytestmark = pytest.mark.skipif(
    not (shared_dir() / S.ROYLE17_FILE).is_file()
    or not (shared_dir() / S.MAGICTOUR_FILE).is_file(),
    reason="needs ../shared/data/sudoku/royle17.txt and the magictour benchmark beside it",
)


def givens(grid):
    return sum(1 for row in grid for d in row if d)


def test_the_split_is_fixed_disjoint_and_about_one_in_25():
    training, validation = S.royle17_split()
    assert not set(training) & set(validation)
    assert len(training) + len(validation) == 49_091
    assert 1_700 < len(validation) < 2_300


@pytest.mark.parametrize("tier", ["royle17", "sparse"])
def test_training_draws_are_unique_sparse_and_never_forbidden(tier):
    rng = random.Random(tier)
    forbidden = S.forbidden_keys()
    low, high = (17, 17) if tier == "royle17" else (18, 30)
    for _ in range(25):
        puzzle, solution = S.generate(rng, tier)
        assert low <= givens(puzzle.grid) <= high
        report = S.solve_exact(puzzle.grid, max_solutions=2)
        assert report.status == "unique" and report.solutions[0] == solution
        assert S.verify(puzzle, solution)
        assert S.canonical_key(puzzle.grid) not in forbidden


def test_validation_draws_come_from_the_validation_part_only():
    _, validation = S.royle17_split()
    keys = {
        S.canonical_key([[int(ch) for ch in line[r * 9 : r * 9 + 9]] for r in range(9)])
        for line in validation
    }
    rng = random.Random(0)
    for _ in range(10):
        puzzle, solution = S.generate(rng, "royle17-validation")
        assert givens(puzzle.grid) == 17 and S.verify(puzzle, solution)
        assert S.canonical_key(puzzle.grid) in keys


def test_a_magictour_puzzle_under_a_symmetry_is_recognised_as_forbidden():
    line = (shared_dir() / S.MAGICTOUR_FILE).read_text().splitlines()[7]
    grid = [[0 if ch == "." else int(ch) for ch in line[r * 9 : r * 9 + 9]] for r in range(9)]
    moved = S.random_augmentation(random.Random(5)).apply(grid)
    assert moved != grid and S.canonical_key(moved) in S.forbidden_keys()
