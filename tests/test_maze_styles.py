"""evals/maze_styles.py: its validation set and a real run with the shipped maze model."""

import re

from evals import maze_styles
from trm_tool.puzzles import maze


def test_the_validation_set_is_fixed_takes_styles_in_turn_and_keeps_to_the_sides():
    first = maze_styles.maze_set(2 * len(maze.STYLES), (6, 8))
    again = maze_styles.maze_set(2 * len(maze.STYLES), (6, 8))
    assert [p.grid for _, p, _ in first] == [p.grid for _, p, _ in again]
    assert [style for style, _, _ in first] == list(maze.STYLES) * 2
    for _, puzzle, solution in first:
        assert 6 <= len(puzzle.grid) <= 8 and 6 <= len(puzzle.grid[0]) <= 8
        assert maze.verify(puzzle, solution)


def test_the_route_is_at_least_min_path_cells():
    for _, _, solution in maze_styles.maze_set(2, (12, 12), ("random_walls",), min_path=30):
        assert sum(row.count(maze.PATH) for row in solution) >= 30


def test_the_shipped_model_solves_small_validation_mazes(capsys):
    maze_styles.main(["--sides", "6-8", "--n", "6", "--views", "8"])
    out = capsys.readouterr().out
    right, total = map(int, re.search(r"all: (\d+)/(\d+)", out).groups())
    assert total == 6 and right >= 5, out
