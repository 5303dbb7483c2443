"""Sparse puzzles: Royle's 17-given collection (training material in ../shared/data), split
into a training and a held-out validation part."""

from __future__ import annotations

import hashlib
import random
from functools import cache

from ..base import SHARED_ENV, Grid, Puzzle, PuzzleError, shared_dir
from .augment import canonical_key, random_augmentation
from .exact import DEFAULT_NODE_LIMIT, solve_cells
from .grid import NAME, cell_value, to_grid

SPARSE_TIERS = ("royle17", "sparse", "royle17-validation", "sparse-validation")
"""royle17: a 17-given puzzle of the collection's training part; sparse: the same plus 1-13
cells of its own solution (18-30 givens, still unique); the -validation tiers draw the same
from the held-out part, which training never sees. Every draw is seen under a random Sudoku
symmetry."""
ROYLE17_FILE = "data/sudoku/royle17.txt"
MAGICTOUR_FILE = "benchmarks/sudoku/magictour_top1465.txt"
ROYLE17_VALIDATION_EVERY = 25
"""One puzzle in 25 (by a hash of its line) is validation: about 1,960 of 49,091."""
_SPARSE_EXTRA_GIVENS = (1, 13)


def _is_validation_line(line: str) -> bool:
    digest = hashlib.blake2b(line.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % ROYLE17_VALIDATION_EVERY == 0


def _read_shared_lines(relative: str) -> list[str]:
    path = shared_dir() / relative
    if not path.is_file():
        raise PuzzleError(
            f"{path} is missing: sparse Sudoku tiers read the shared folder beside the checkout "
            f"(or ${SHARED_ENV})."
        )
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@cache
def royle17_split() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(training, validation) lines of royle17.txt, split by a hash of each line."""
    lines = _read_shared_lines(ROYLE17_FILE)
    training = tuple(line for line in lines if not _is_validation_line(line))
    validation = tuple(line for line in lines if _is_validation_line(line))
    return training, validation


@cache
def forbidden_keys() -> frozenset[str]:
    """Canonical keys no training draw may have: the validation part and magictour (a test
    set). Keys are equal under every Sudoku symmetry, so no relabelled copy slips through."""
    _, validation = royle17_split()
    lines = list(validation) + _read_shared_lines(MAGICTOUR_FILE)
    return frozenset(canonical_key(to_grid([cell_value(ch) for ch in line])) for line in lines)


def sparse_puzzle(rng: random.Random, tier: str) -> tuple[Puzzle, Grid]:
    """A puzzle of one of the SPARSE_TIERS and its solution (see SPARSE_TIERS)."""
    training, validation = royle17_split()
    held_out = tier.endswith("-validation")
    lines = validation if held_out else training
    while True:
        cells = [cell_value(ch) for ch in rng.choice(lines)]
        report = solve_cells(cells, 1, DEFAULT_NODE_LIMIT)
        if not report.solutions:
            continue
        solution = [d for row in report.solutions[0] for d in row]
        if tier.startswith("sparse"):
            blanks = [i for i in range(81) if cells[i] == 0]
            for i in rng.sample(blanks, rng.randint(*_SPARSE_EXTRA_GIVENS)):
                cells[i] = solution[i]
        if not held_out and canonical_key(to_grid(cells)) in forbidden_keys():
            continue
        augmentation = random_augmentation(rng)
        puzzle = Puzzle(kind=NAME, grid=augmentation.apply(to_grid(cells)))
        return puzzle, augmentation.apply(to_grid(solution))
