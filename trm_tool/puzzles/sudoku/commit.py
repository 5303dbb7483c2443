"""Commit rounds: when no view's answer solves a sparse Sudoku, most of the answers' cells are
still right. The cells the views agree on most, and that break no rule, become givens of the
next round, so the model meets a denser puzzle, the kind it solves best. A wrong commit only
costs the rounds after it: every answer is still checked against the user's puzzle."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

from ..base import Grid, Puzzle
from .exact import UNIT_CELLS


def commit(puzzle: Puzzle, answers: list[tuple[Grid, float]], share: float) -> Puzzle | None:
    """`puzzle` with `share` of its blanks (at least one) filled from `answers` (grid, halting
    confidence): per blank cell the digit most answers give; the cells where most answers agree
    (ties: the more confident) go first, and no cell whose digit clashes with another cell's
    digit in a row, column or box. None when no cell qualifies."""
    flat = [digit for row in puzzle.grid for digit in row]
    blanks = [i for i, digit in enumerate(flat) if digit == 0]
    if not blanks or not answers:
        return None
    agreed, support = list(flat), {}
    for i in blanks:
        tally: Counter = Counter()
        weight: Counter = Counter()
        for grid, confidence in answers:
            digit = grid[i // 9][i % 9]
            tally[digit] += 1
            weight[digit] += confidence
        digit, count = tally.most_common(1)[0]
        agreed[i] = digit
        support[i] = (count, weight[digit])
    clashing = clashes(agreed)
    ranked = sorted(
        (i for i in blanks if i not in clashing and 1 <= agreed[i] <= 9),
        key=lambda i: support[i],
        reverse=True,
    )
    if not ranked:
        return None
    filled = list(flat)
    for i in ranked[: max(1, int(share * len(blanks)))]:
        filled[i] = agreed[i]
    return replace(puzzle, grid=[filled[r * 9 : r * 9 + 9] for r in range(9)])


def clashes(flat: list[int]) -> set[int]:
    """Cells (flat indices) whose digit appears again in one of their row, column or box."""
    out: set[int] = set()
    for unit in UNIT_CELLS:
        seen: dict[int, list[int]] = {}
        for i in unit:
            if flat[i]:
                seen.setdefault(flat[i], []).append(i)
        for cells in seen.values():
            if len(cells) > 1:
                out.update(cells)
    return out
