"""Commit rounds: the cells failed answers agree on become givens of the next round, and a
wrong commit can never turn into a wrong verified answer."""

import dataclasses
import random

import torch

from trm_tool.puzzles import get_kind
from trm_tool.puzzles.sudoku import commit, verify
from trm_tool.puzzles.sudoku.commit import clashes
from trm_tool.solver import Solver, load_solver

SUDOKU = get_kind("sudoku")


def puzzle_and_solution(seed: int = 0, tier: str = "extreme"):
    return SUDOKU.generate(random.Random(seed), tier)


def with_cell(grid, row, col, digit):
    out = [r[:] for r in grid]
    out[row][col] = digit
    return out


def blanks_of(grid):
    return [(r, c) for r in range(9) for c in range(9) if grid[r][c] == 0]


def test_the_cells_all_answers_agree_on_go_first_and_givens_stay():
    puzzle, solution = puzzle_and_solution()
    blanks = blanks_of(puzzle.grid)
    # every answer is right except in one cell of its own, so exactly those cells are split
    answers = []
    for r, c in blanks[:3]:
        wrong = solution[r][c] % 9 + 1
        answers.append((with_cell(solution, r, c, wrong), 0.5))
    share = 0.1
    out = commit(puzzle, answers, share)
    added = [(r, c) for r, c in blanks if out.grid[r][c]]
    assert len(added) == max(1, int(share * len(blanks)))
    assert not set(added) & set(blanks[:3])  # split cells wait
    assert all(out.grid[r][c] == solution[r][c] for r, c in added)
    kept = [(r, c) for r in range(9) for c in range(9) if puzzle.grid[r][c]]
    assert all(out.grid[r][c] == puzzle.grid[r][c] for r, c in kept)
    assert verify(puzzle, solution)  # the committed cells are the solution's: still solvable


def test_a_digit_that_clashes_is_never_committed():
    puzzle, solution = puzzle_and_solution(1)
    (r, c), *_ = blanks_of(puzzle.grid)
    clash = next(d for d in range(1, 10) if d != solution[r][c])
    broken = with_cell(solution, r, c, clash)  # now clashes with the cell holding `clash`
    out = commit(puzzle, [(broken, 1.0)] * 4, 0.99)
    assert out.grid[r][c] == 0
    assert not clashes([d for row in out.grid for d in row])


def test_nothing_to_commit_gives_none():
    puzzle, solution = puzzle_and_solution(2)
    assert commit(puzzle, [], 0.05) is None
    assert commit(dataclasses.replace(puzzle, grid=solution), [(solution, 1.0)], 0.05) is None
    all_clash = [[1] * 9 for _ in range(9)]
    assert commit(puzzle, [(all_clash, 1.0)], 0.05) is None


def test_a_retry_round_solves_the_committed_puzzle_and_answers_are_checked_against_the_callers():
    """The shipped model, held to one supervision step so its first round misses: the retry
    round runs on the puzzle with cells committed from the first round's answers, and the
    answer returned is judged on the user's puzzle, not the committed one."""
    shipped = load_solver("sudoku", device="cpu")
    seen = []

    def recording(puzzle, answers, share):
        committed = commit(puzzle, answers, share)
        seen.append((puzzle, len(answers), committed))
        return committed

    kind = dataclasses.replace(shipped.kind, commit=recording)
    cpu = torch.device("cpu")
    hurried = Solver(kind, shipped.model, shipped.card, cpu, 4, max_steps=1, retry_views=4)
    for seed in range(3):
        puzzle, _ = puzzle_and_solution(seed, "deep")
        result = hurried.solve(SUDOKU.render(puzzle, puzzle.grid), max_seconds=0)
        if result.views == 4:  # solved in the first round: nothing to commit
            continue
        asked, n_answers, committed = seen[-1]
        assert asked.grid == puzzle.grid and n_answers == 4
        assert len(blanks_of(committed.grid)) < len(blanks_of(puzzle.grid))
        assert result.views == 8
        assert result.verified == verify(puzzle, result.grid)
    assert seen, "one step per view should miss at least one of three deep puzzles"


def test_kinds_without_commit_retry_the_same_puzzle():
    assert get_kind("maze").commit is None and get_kind("arc").commit is None
