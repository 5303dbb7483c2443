"""Sets we did not generate: puzzle files, the shared public collections, maze-dataset mazes,
and `trm-tool bench --set/--file` on them with the shipped models."""

import json
import random

import pytest

from trm_tool import cli
from trm_tool.external import load_set, maze_dataset_set, read_puzzle_file, set_names, shared_dir
from trm_tool.puzzles import PuzzleError, get_kind
from trm_tool.puzzles import maze as M
from trm_tool.puzzles import sudoku as S

SUDOKU, MAZE = get_kind("sudoku"), get_kind("maze")


def sudoku_lines(n, seed=0):
    rng = random.Random(seed)
    return [S.to_line(S.generate(rng, "singles")[0].grid) for _ in range(n)]


def test_a_file_with_one_puzzle_per_line(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("\n".join(sudoku_lines(3)) + "\n\n")
    puzzles = read_puzzle_file(SUDOKU, path)
    assert [S.to_line(p.grid) for p in puzzles.puzzles] == sudoku_lines(3)
    assert "3 puzzles" in puzzles.source


def test_a_file_of_grids_separated_by_blank_lines(tmp_path):
    rng = random.Random(1)
    # with a wall ring, so no row is all spaces (that would read as a blank line)
    mazes = [M.generate_maze(rng, 9, 11, style, ring=True)[0] for style in M.STYLES]
    path = tmp_path / "mazes.txt"
    path.write_text("\n\n".join(M.render(m, m.grid) for m in mazes) + "\n")
    assert [p.grid for p in read_puzzle_file(MAZE, path).puzzles] == [m.grid for m in mazes]


def test_a_bad_puzzle_in_a_file_names_its_line(tmp_path):
    path = tmp_path / "bad.txt"
    good = M.render(
        M.generate(random.Random(2), "small")[0], M.generate(random.Random(2), "small")[0].grid
    )
    path.write_text(good + "\n\n#####\n#S  #\n#####\n")
    with pytest.raises(PuzzleError, match="line"):
        read_puzzle_file(MAZE, path)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    with pytest.raises(PuzzleError, match="no puzzles"):
        read_puzzle_file(SUDOKU, empty)


def test_unknown_sets_and_kind_mismatches_are_clear_errors():
    with pytest.raises(PuzzleError, match="Unknown puzzle set"):
        load_set(SUDOKU, "no-such-set")
    with pytest.raises(PuzzleError, match="sudoku puzzles, not maze"):
        load_set(MAZE, "magictour")
    with pytest.raises(PuzzleError, match="algorithm one of"):
        maze_dataset_set("maze-dataset/spiral/small", 1, 0)
    assert "magictour" in set_names("sudoku") and "maze-dataset/wilson/large" in set_names("maze")


@pytest.mark.skipif(
    not (shared_dir() / "benchmarks/sudoku/magictour_top1465.txt").exists(),
    reason="../shared/benchmarks is not beside this checkout",
)
def test_magictour_is_read_whole_or_as_a_seeded_sample():
    whole = load_set(SUDOKU, "magictour")
    assert len(whole.puzzles) == 1465
    sample = load_set(SUDOKU, "magictour", n=5, seed=3)
    assert [p.grid for p in sample.puzzles] == [
        p.grid for p in load_set(SUDOKU, "magictour", 5, 3).puzzles
    ]
    assert all(p.grid in [q.grid for q in whole.puzzles] for p in sample.puzzles)


def test_maze_dataset_mazes_are_walled_lattice_mazes_with_the_route_length_asked():
    pytest.importorskip("maze_dataset")
    mazes = maze_dataset_set("maze-dataset/kruskal/small", 4, seed=0)
    assert [p.grid for p in mazes.puzzles] == [
        p.grid for p in maze_dataset_set("maze-dataset/kruskal/small", 4, seed=0).puzzles
    ]
    for puzzle in mazes.puzzles:
        grid = puzzle.grid
        assert len(grid) % 2 == 1 and 11 <= len(grid) <= 15
        assert all(v == M.WALL for v in grid[0] + grid[-1] + [row[0] for row in grid])
        ends = [
            (r, c)
            for r, row in enumerate(grid)
            for c, v in enumerate(row)
            if v in (M.START, M.GOAL)
        ]
        assert len(ends) == 2 and all(r % 2 == 1 and c % 2 == 1 for r, c in ends)
        route = sum(row.count(M.PATH) for row in M.shortest_path(grid))
        assert route >= (len(grid) + len(grid[0])) // 4
        assert M.parse(M.question_text(puzzle)).grid == grid


def test_bench_on_a_file_reports_the_solved_share_and_records_it(tmp_path, capsys):
    path = tmp_path / "easy.txt"
    path.write_text("\n".join(sudoku_lines(2, seed=4)) + "\n")
    report = tmp_path / "report.json"
    args = ["bench", "--kind", "sudoku", "--file", str(path), "--n", "0", "--json", str(report)]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "easy.txt" in out and "views + 8 retry views" in out
    (row,) = json.loads(report.read_text())
    assert row["n"] == 2 and row["solved"] == 1.0 and row["p50_ms"] > 0


def test_bench_on_a_set_runs_the_supervision_steps_asked(tmp_path, capsys):
    path = tmp_path / "easy.txt"
    path.write_text("\n".join(sudoku_lines(2, seed=5)) + "\n")
    report = tmp_path / "report.json"
    args = ["bench", "--kind", "sudoku", "--file", str(path), "--max-steps", "1"]
    assert cli.main([*args, "--views-external", "1", "--json", str(report)]) == 0
    assert "supervision steps per view: 1)" in capsys.readouterr().out
    (row,) = json.loads(report.read_text())
    assert row["max_steps"] == 1
