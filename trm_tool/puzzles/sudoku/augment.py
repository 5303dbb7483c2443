"""The symmetries of Sudoku (for training data and test-time voting), and canonical keys equal
under all of them (for keeping held-out puzzles out of training)."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from ..base import Grid
from .grid import Cells, require_cells


@dataclass(frozen=True)
class SudokuAugmentation:
    """A symmetry of Sudoku: relabel digits, reorder rows (bands, rows within a band) and
    columns (stacks, columns within a stack), then optionally transpose.

    digits[d] is the new label of digit d (digits[0] == 0); output row i is input row rows[i],
    output column j is input column cols[j]."""

    digits: tuple[int, ...]
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    transpose: bool

    def apply(self, grid: Grid) -> Grid:
        out = [[self.digits[grid[r][c]] for c in self.cols] for r in self.rows]
        return [list(col) for col in zip(*out)] if self.transpose else out

    def invert(self, grid: Grid) -> Grid:
        if self.transpose:
            grid = [list(col) for col in zip(*grid)]
        relabel = [0] * 10
        for d, new in enumerate(self.digits):
            relabel[new] = d
        out = [[0] * 9 for _ in range(9)]
        for i, r in enumerate(self.rows):
            for j, c in enumerate(self.cols):
                out[r][c] = relabel[grid[i][j]]
        return out


def _line_order(rng: random.Random) -> tuple[int, ...]:
    """A random order of 9 rows (or columns) that keeps each band (stack) together."""
    bands = rng.sample(range(3), 3)
    return tuple(3 * band + k for band in bands for k in rng.sample(range(3), 3))


def random_augmentation(rng: random.Random) -> SudokuAugmentation:
    """A uniformly random element of the Sudoku symmetry group used for data and voting."""
    digits = (0, *rng.sample(range(1, 10), 9))
    return SudokuAugmentation(digits, _line_order(rng), _line_order(rng), rng.random() < 0.5)


def _digit_fingerprints(cells: Cells) -> list[int]:
    """For each digit, how often it shares a mini-row (a row's three cells in one box) and a
    mini-column with each other digit. Complete grids look alike to colour refinement alone;
    these counts tell them apart, and reordering lines within a band or stack keeps them."""
    together = [[[0, 0] for _ in range(10)] for _ in range(10)]
    for line in range(9):
        for third in range(3):
            mini_row = [cells[line * 9 + third * 3 + k] for k in range(3)]
            mini_col = [cells[(third * 3 + k) * 9 + line] for k in range(3)]
            for axis, triple in enumerate((mini_row, mini_col)):
                for a in triple:
                    for b in triple:
                        together[a][b][axis] += 1
    return [0] + [
        hash(tuple(sorted(tuple(together[d][e]) for e in range(1, 10) if e != d)))
        for d in range(1, 10)
    ]


def _refined_colours(cells: Cells, rounds: int = 3) -> list[int]:
    """Colour refinement of the grid's structure, blind to the names of digits, rows, columns,
    bands and stacks, so equal for grids that differ by relabelling and reordering."""
    by_digit = [[i for i in range(81) if cells[i] == d] for d in range(10)]
    digit_colour = _digit_fingerprints(cells)
    cell_colour = [1 if d else 0 for d in cells]
    row_colour, col_colour = [0] * 9, [0] * 9
    band_colour, stack_colour = [0] * 3, [0] * 3
    for _ in range(rounds):
        cell_colour = [
            hash((cell_colour[i], row_colour[i // 9], col_colour[i % 9], digit_colour[cells[i]]))
            for i in range(81)
        ]
        row_colour = [
            hash((band_colour[r // 3], tuple(sorted(cell_colour[r * 9 : r * 9 + 9]))))
            for r in range(9)
        ]
        col_colour = [
            hash((stack_colour[c // 3], tuple(sorted(cell_colour[c::9])))) for c in range(9)
        ]
        band_colour = [hash(tuple(sorted(row_colour[3 * b : 3 * b + 3]))) for b in range(3)]
        stack_colour = [hash(tuple(sorted(col_colour[3 * s : 3 * s + 3]))) for s in range(3)]
        digit_colour = [0] + [
            hash(tuple(sorted(cell_colour[i] for i in where))) for where in by_digit[1:]
        ]
    return sorted(cell_colour) + sorted(row_colour) + sorted(col_colour) + sorted(digit_colour)


def canonical_key(grid: Grid) -> str:
    """A key equal for grids related by any augmentation (digit relabelling, band/stack and
    row/column-within permutations, transposition), for deduplicating held-out data.

    Made by colour refinement rather than a true canonical form, so it is fast (about a
    millisecond). Unrelated grids could in principle share a key, which at worst drops a
    training puzzle. Only ints are hashed, so keys are the same in every process."""
    cells = require_cells(grid)
    transposed = [cells[c * 9 + r] for r in range(9) for c in range(9)]
    colours = min(_refined_colours(cells), _refined_colours(transposed))
    return hashlib.blake2b(repr(colours).encode(), digest_size=16).hexdigest()
