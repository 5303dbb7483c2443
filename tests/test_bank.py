"""The puzzle bank: fresh training puzzles are kept on disk and re-served under symmetries, never
a left-out family or a held-out puzzle."""

import random

from trm_tool.bank import PuzzleBank, grid_text, text_grid
from trm_tool.data import PuzzleStream, held_out
from trm_tool.puzzles import get_kind


def test_grids_round_trip_through_their_text():
    grid = [[0, 1, 9], [35, 2, 3]]
    assert grid_text(grid) == "019/z23"
    assert text_grid(grid_text(grid)) == grid


def served_grids(stream, tier, n):
    kind = stream.kind
    return [kind.decode(stream.next(tier).tokens) for _ in range(n)]


def test_fresh_puzzles_are_banked_and_reserved_under_symmetries(tmp_path):
    sudoku = get_kind("sudoku")
    bank = PuzzleBank(tmp_path, "sudoku")
    first = PuzzleStream(sudoku, ["hard"], seed=1, curriculum=False, bank=bank)
    made = served_grids(first, "hard", 6)
    banked = bank.load("hard")
    assert [p.grid for p, _ in banked] == made
    assert all(sudoku.verify(p, solution) for p, solution in banked)

    again = PuzzleStream(
        sudoku, ["hard"], seed=2, curriculum=False, bank=bank, reuse_share=0.99, min_banked=6
    )
    served = served_grids(again, "hard", 40)
    keys = {sudoku.canonical_key(grid) for grid in made}
    reused = [grid for grid in served if sudoku.canonical_key(grid) in keys]
    assert len(reused) >= 30
    assert any(grid not in made for grid in reused)  # under a symmetry, not as banked
    assert len(bank.load("hard")) == 6 + len(served) - len(reused)


def test_a_young_bank_is_not_reserved(tmp_path):
    sudoku = get_kind("sudoku")
    bank = PuzzleBank(tmp_path, "sudoku")
    stream = PuzzleStream(sudoku, ["hard"], seed=1, curriculum=False, bank=bank, reuse_share=0.99)
    served = served_grids(stream, "hard", 8)
    assert len({sudoku.canonical_key(grid) for grid in served}) == 8


def test_a_left_out_family_and_held_out_puzzles_are_never_reserved(tmp_path):
    maze = get_kind("maze")
    bank = PuzzleBank(tmp_path, "maze")
    rng = random.Random(0)
    for _ in range(12):
        bank.add("small", *maze.generate(rng, "small"))
    held = held_out(maze, "small", 2)
    for puzzle, solution in held:
        bank.add("small", puzzle, solution)
    left_out = bank.load("small")[0][0].family
    stream = PuzzleStream(
        maze,
        ["small"],
        seed=3,
        curriculum=False,
        held_out_size=2,
        leave_out=frozenset({left_out}),
        bank=bank,
        reuse_share=0.99,
    )
    assert stream.banked["small"]
    assert all(p.family != left_out for p, _ in stream.banked["small"])
    held_keys = {maze.canonical_key(p.grid) for p, _ in held}
    assert not any(maze.canonical_key(p.grid) in held_keys for p, _ in stream.banked["small"])
