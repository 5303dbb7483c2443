"""The rules and the exact solver: bitmask constraint propagation with naked and hidden
singles, then backtracking on the cell with the fewest candidates. It labels data, proves
uniqueness, rates difficulty as the number of guesses beyond singles, and is the evals'
classical baseline.

A search state is one flat list of 108 ints: [0:81] the cell digits (0 = empty), then the
used-digit bitmasks of the 9 rows, 9 columns and 9 boxes. One list makes a branch one slice.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from ..base import Grid, Puzzle, PuzzleError
from .grid import Cells, cells_of, require_cells, to_grid

FULL = 0x1FF
BIT = (0,) + tuple(1 << k for k in range(9))
_DIGIT_OF = {1 << k: k + 1 for k in range(9)}
_POPCOUNT = tuple(bin(m).count("1") for m in range(512))
SLOTS = tuple((i, 81 + i // 9, 90 + i % 9, 99 + i // 27 * 3 + i % 9 // 3) for i in range(81))
"""For each cell: (index, row-mask slot, column-mask slot, box-mask slot) in the state."""
UNIT_CELLS = tuple(
    tuple(i for i in range(81) if SLOTS[i][kind] == 81 + unit)
    for kind, first in ((1, 0), (2, 9), (3, 18))
    for unit in range(first, first + 9)
)
Status = Literal["unique", "multiple", "none", "gave_up"]
DEFAULT_NODE_LIMIT = 200_000
_BOX_NAMES = (
    "top-left",
    "top-middle",
    "top-right",
    "middle-left",
    "centre",
    "middle-right",
    "bottom-left",
    "bottom-middle",
    "bottom-right",
)


def _unit_description(unit: int) -> str:
    """Rows, columns and boxes are numbered 1-9 for people; units 0-8, 9-17, 18-26 here."""
    kind, index = divmod(unit, 9)
    if kind == 0:
        return f"row {index + 1}"
    if kind == 1:
        return f"column {index + 1}"
    rows, cols = index // 3 * 3 + 1, index % 3 * 3 + 1
    return (
        f"box {index + 1} (the {_BOX_NAMES[index]} box, rows {rows}-{rows + 2}, "
        f"columns {cols}-{cols + 2})"
    )


def conflict(cells: Cells) -> str | None:
    """A message naming the first digit given twice in one row, column or box, if any."""
    for u, unit in enumerate(UNIT_CELLS):
        seen: dict[int, int] = {}
        for i in unit:
            d = cells[i]
            if not d:
                continue
            if d in seen:
                a, b = seen[d], i
                where = (
                    f"at row {a // 9 + 1} column {a % 9 + 1} "
                    f"and row {b // 9 + 1} column {b % 9 + 1}"
                )
                return f"digit {d} appears twice in {_unit_description(u)}, {where}"
            seen[d] = i
    return None


@dataclass
class SolveReport:
    """What the exact solver found.

    solutions: up to `max_solutions` complete grids.
    status: "unique" (exactly one solution, proven), "multiple" (at least two), "none" (no
      solution), or "gave_up" (the node limit ran out first; `solutions` holds any found).
    guesses: search nodes where singles stalled and the solver had to branch; 0 means naked
      and hidden singles alone solve the puzzle. With max_solutions >= 2 the whole search tree
      of a unique puzzle is counted, which makes it a stable difficulty rating.
    nodes: propagation calls made, the work done.
    """

    solutions: list[Grid] = field(default_factory=list)
    status: Status = "none"
    guesses: int = 0
    nodes: int = 0


def place(s: list[int], i: int, bit: int) -> None:
    _, r, c, b = SLOTS[i]
    s[i] = _DIGIT_OF[bit]
    s[r] |= bit
    s[c] |= bit
    s[b] |= bit


def start_state(cells: Cells) -> list[int] | None:
    """The search state of a grid, or None when two givens clash."""
    s = [0] * 108
    for i, r, c, b in SLOTS:
        bit = BIT[cells[i]]
        if bit:
            if (s[r] | s[c] | s[b]) & bit:
                return None
            place(s, i, bit)
    return s


def _hidden_singles(s: list[int], cand: list[int]) -> int:
    """Place every digit that has one possible cell in some unit: 1 if any was placed, 0 if
    none, -1 on a contradiction (a digit with no cell, or one cell needed by two digits)."""
    full, slots, digit_of = FULL, SLOTS, _DIGIT_OF
    progress = 0
    for u, unit in enumerate(UNIT_CELLS):
        used = s[81 + u]
        if used == full:
            continue
        once = twice = 0
        for i in unit:
            m = cand[i]
            twice |= once & m
            once |= m
        if once | used != full:
            return -1
        single = once & ~twice
        while single:
            bit = single & -single
            single ^= bit
            for i in unit:
                if cand[i] & bit:
                    break
            _, r, c, b = slots[i]
            if s[i] == digit_of[bit]:
                continue
            if s[i] or (s[r] | s[c] | s[b]) & bit:
                return -1
            s[i] = digit_of[bit]
            s[r] |= bit
            s[c] |= bit
            s[b] |= bit
            progress = 1
    return progress


def propagate(s: list[int]) -> tuple[int, int]:
    """Apply naked and hidden singles to `s` in place until they stall.

    Returns (-1, 0) on a contradiction, (81, 0) when the grid is complete, else the empty
    cell with the fewest candidates and its candidate mask: where the search must guess.
    """
    full, popcount, digit_of = FULL, _POPCOUNT, _DIGIT_OF
    empty = [slot for slot in SLOTS if not s[slot[0]]]
    while True:
        best, best_mask, best_count = 81, 0, 10
        progress = False
        cand = [0] * 81
        for i, r, c, b in empty:
            m = full ^ (s[r] | s[c] | s[b])
            count = popcount[m]
            if count == 1:
                s[i] = digit_of[m]
                s[r] |= m
                s[c] |= m
                s[b] |= m
                progress = True
            elif count == 0:
                return -1, 0
            else:
                cand[i] = m
                if count < best_count:
                    best, best_mask, best_count = i, m, count
        if not progress:
            if best == 81:
                return 81, 0
            found = _hidden_singles(s, cand)
            if found <= 0:
                return (-1, 0) if found < 0 else (best, best_mask)
        empty = [slot for slot in empty if not s[slot[0]]]


def search(
    s: list[int], max_solutions: int, node_limit: int, rng: random.Random | None = None
) -> tuple[list[Cells], int, int, bool]:
    """Depth-first search from state `s`: (solutions, guesses, nodes, gave_up).

    Candidates are tried in increasing order, or shuffled by `rng` (random full grids)."""
    stack = [s]
    solutions: list[Cells] = []
    guesses = nodes = 0
    while stack:
        if nodes >= node_limit:
            return solutions, guesses, nodes, True
        s = stack.pop()
        nodes += 1
        cell, mask = propagate(s)
        if cell < 0:
            continue
        if cell == 81:
            solutions.append(s[:81])
            if len(solutions) >= max_solutions:
                break
            continue
        guesses += 1
        bits = [1 << k for k in range(8, -1, -1) if mask >> k & 1]
        if rng is not None:
            rng.shuffle(bits)
        for bit in bits:
            child = s[:]
            place(child, cell, bit)
            stack.append(child)
    return solutions, guesses, nodes, False


def solve_cells(cells: Cells, max_solutions: int, node_limit: int) -> SolveReport:
    s = start_state(cells)
    if s is None:
        return SolveReport(status="none")
    found, guesses, nodes, gave_up = search(s, max_solutions, node_limit)
    if gave_up:
        status: Status = "gave_up"
    elif not found:
        status = "none"
    else:
        status = "multiple" if len(found) >= 2 else "unique"
    return SolveReport([to_grid(f) for f in found], status, guesses, nodes)


def solve_exact(
    grid: Grid, max_solutions: int = 2, node_limit: int = DEFAULT_NODE_LIMIT
) -> SolveReport:
    """Solve a grid exactly. With max_solutions=1 the search stops at the first solution (the
    fast baseline; status "unique" then means "solved", not proven unique); with 2 or more it
    goes on, so "unique" is a proof. PuzzleError if `grid` is not a 9x9 grid of ints 0-9."""
    if max_solutions < 1:
        raise PuzzleError("max_solutions must be at least 1.")
    return solve_cells(require_cells(grid), max_solutions, node_limit)


def difficulty(grid: Grid) -> int:
    """Guesses the exact solver needs beyond naked and hidden singles (0 = singles suffice),
    over the whole search tree, so the rating does not depend on lucky first guesses."""
    return solve_exact(grid, max_solutions=2).guesses


def exact_solution(puzzle: Puzzle) -> Grid | None:
    """The classical exact solver's first solution, or None when there is none."""
    cells = cells_of(puzzle.grid)
    if cells is None:
        return None
    report = solve_cells(cells, 1, DEFAULT_NODE_LIMIT)
    return report.solutions[0] if report.solutions else None


def verify(puzzle: Puzzle, grid: Grid) -> bool:
    """True iff `grid` is a completed, valid Sudoku that keeps every given of `puzzle`.
    Never raises: anything malformed is simply not a solution."""
    cells, givens = cells_of(grid), cells_of(getattr(puzzle, "grid", None))
    if cells is None or givens is None or 0 in cells:
        return False
    if any(g and g != c for g, c in zip(givens, cells)):
        return False
    return all(len({cells[i] for i in unit}) == 9 for unit in UNIT_CELLS)
