"""Maze kind: parsing every supported format, rendering, exact checking, generation, fuzzing."""

from __future__ import annotations

import json
import random
import time

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from trm_tool.data import to_example
from trm_tool.puzzles import get_kind
from trm_tool.puzzles import maze as M
from trm_tool.puzzles.base import Grid, Puzzle, PuzzleError
from trm_tool.puzzles.maze.grid import neighbours

OPEN, WALL, START, GOAL, PATH = M.OPEN, M.WALL, M.START, M.GOAL, M.PATH


# ---------------------------------------------------------------------------------------------
# Helpers: our own writers, so the parser is checked against text it did not produce itself


@st.composite
def mazes(draw, max_side: int = 8) -> Grid:
    """Any solvable maze: random walls, distinct S and G, and an L-shaped corridor opened
    between them so the goal is always reachable."""
    height = draw(st.integers(1, max_side))
    width = draw(st.integers(2 if height == 1 else 1, max_side))
    cells = [(r, c) for r in range(height) for c in range(width)]
    start, goal = draw(st.lists(st.sampled_from(cells), min_size=2, max_size=2, unique=True))
    grid = [[draw(st.sampled_from((OPEN, WALL))) for _ in range(width)] for _ in range(height)]
    (sr, sc), (gr, gc) = start, goal
    for c in range(min(sc, gc), max(sc, gc) + 1):
        grid[sr][c] = OPEN
    for r in range(min(sr, gr), max(sr, gr) + 1):
        grid[r][gc] = OPEN
    grid[sr][sc], grid[gr][gc] = START, GOAL
    return grid


def write_text(grid: Grid, glyphs: dict[int, str], spaced: bool = False) -> str:
    return "\n".join((" " if spaced else "").join(glyphs[code] for code in row) for row in grid)


WRAPPERS = {
    "plain": "{}",
    "prose": "Please solve this maze for me:\n{}\nThanks, and use the shortest route!",
    "fence": "Here you go.\n\n```text\n{}\n```\n",
}


def cells_with(grid: Grid, code: int) -> list[tuple[int, int]]:
    return [(r, c) for r, row in enumerate(grid) for c, value in enumerate(row) if value == code]


def has_open(grid: Grid) -> bool:
    return any(code == OPEN for row in grid for code in row)


def path_cells(grid: Grid) -> int:
    return sum(code == PATH for row in grid for code in row)


def shortest_moves(grid: Grid) -> int:
    return len(M.path_coordinates(M.shortest_path(grid))) - 1


def random_route(grid: Grid, rng: random.Random) -> list[tuple[int, int]]:
    """Some simple S-to-G route found by randomised depth-first search (rarely the shortest)."""
    (start,), (goal,) = cells_with(grid, START), cells_with(grid, GOAL)
    stack, seen = [[start]], {start}
    while stack:
        route = stack.pop()
        if route[-1] == goal:
            return route
        r, c = route[-1]
        near = [(r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)]
        steps = [
            (y, x)
            for y, x in near
            if 0 <= y < len(grid)
            and 0 <= x < len(grid[0])
            and grid[y][x] != WALL
            and (y, x) not in seen
        ]
        rng.shuffle(steps)
        for step in steps:
            seen.add(step)
            stack.append([*route, step])
    raise AssertionError("maze without a route")


SAMPLE = "#######\n#S....#\n#.###.#\n#...#G#\n#######"


# ---------------------------------------------------------------------------------------------
# Tokens and the kind


def test_kind_is_registered_and_complete():
    kind = get_kind("maze")
    assert kind is M.KIND
    assert (kind.name, kind.vocab_size, kind.tiers) == (
        "maze",
        6,
        ("small", "medium", "large", "hard"),
    )
    assert len(kind.format_help) <= 400
    assert kind.canvas_shape("small") == (12, 12) and kind.canvas_shape("hard") == (30, 30)


def test_encode_uses_the_fixed_vocabulary_at_the_grid_size():
    grid = [[WALL, OPEN, START], [GOAL, PATH, OPEN]]
    tokens = M.encode(grid)
    assert tokens.dtype == torch.int64 and tokens.shape == (2, 3)
    assert tokens.tolist() == [[1, 2, 3], [4, 5, 2]]
    assert M.decode(tokens) == grid
    assert M.decode(torch.tensor([[0, 9, 1]])) == [[OPEN, OPEN, WALL]]
    with pytest.raises(ValueError):
        M.encode([[7]])


# ---------------------------------------------------------------------------------------------
# Parsing and rendering round trips


@settings(max_examples=150, deadline=None)
@given(
    grid=mazes(),
    wall=st.sampled_from(M.WALL_GLYPHS),
    open_glyph=st.sampled_from(M.OPEN_GLYPHS),
    goal=st.sampled_from(M.GOAL_GLYPHS),
    spaced=st.booleans(),
    wrapper=st.sampled_from(sorted(WRAPPERS)),
)
def test_text_formats_round_trip(grid, wall, open_glyph, goal, spaced, wrapper):
    # One space between cells is only recognisable when open cells are not spaces themselves
    # and the grid has some open cell to show it.
    spaced = spaced and open_glyph != " " and has_open(grid)
    glyphs = {WALL: wall, OPEN: open_glyph, START: "S", GOAL: goal}
    puzzle = M.parse(WRAPPERS[wrapper].format(write_text(grid, glyphs, spaced)))
    assert puzzle.kind == "maze"
    assert puzzle.grid == grid
    rendered = M.render(puzzle, puzzle.grid)
    assert rendered == write_text(grid, glyphs, spaced)
    assert M.parse(rendered).grid == grid


@settings(max_examples=100, deadline=None)
@given(
    grid=mazes(),
    coordinates=st.booleans(),
    goal_key=st.sampled_from(["goal", "end", "target"]),
    bare_list=st.booleans(),
    fenced=st.booleans(),
)
def test_json_formats_round_trip(grid, coordinates, goal_key, bare_list, fenced):
    (start,), (goal,) = cells_with(grid, START), cells_with(grid, GOAL)
    if coordinates:
        plain = [[WALL if code == WALL else OPEN for code in row] for row in grid]
        value = {"grid": plain, "start": list(start), goal_key: list(goal)}
    else:
        value = grid if bare_list else {"grid": grid}
    text = json.dumps(value)
    puzzle = M.parse(f"```json\n{text}\n```" if fenced else text)
    assert puzzle.grid == grid
    assert M.parse(M.render(puzzle, puzzle.grid)).grid == grid


def test_json_object_inside_prose_is_found():
    text = 'Solve {"grid": [[0, 1, 0], [0, 0, 0]], "start": [0, 0], "end": [0, 2]} please.'
    assert M.parse(text).grid == [[START, WALL, GOAL], [OPEN, OPEN, OPEN]]


def test_a_json_maze_followed_by_a_question_is_read():
    text = '{"grid": [[0, 1, 0], [0, 0, 0]], "start": [0, 0], "goal": [0, 2]}\nShortest route?'
    assert M.parse(text).grid == [[START, WALL, GOAL], [OPEN, OPEN, OPEN]]


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10**6),
    style=st.sampled_from(M.STYLES),
    wall=st.sampled_from(M.WALL_GLYPHS),
    open_glyph=st.sampled_from(M.OPEN_GLYPHS),
    spaced=st.booleans(),
    mark=st.sampled_from(["o", "*", "+"]),
)
def test_rendered_solution_reads_back_as_the_same_path(seed, style, wall, open_glyph, spaced, mark):
    rng = random.Random(seed)
    question, solution = M.generate_maze(rng, rng.randint(3, 12), rng.randint(3, 12), style)
    glyphs = {WALL: wall, OPEN: open_glyph, START: "S", GOAL: "G"}
    spaced = spaced and open_glyph != " " and has_open(question.grid)
    puzzle = M.parse(write_text(question.grid, glyphs, spaced))
    rendered = M.render(puzzle, solution, path_mark=mark)
    assert rendered.count(mark) == path_cells(solution)
    question_text = M.render(puzzle, puzzle.grid)
    answer = f"The maze:\n{question_text}\n\nSolved:\n{rendered}\nDone."
    read_back = M.read_solution(puzzle, answer, path_mark=mark)
    assert read_back == solution
    assert M.path_coordinates(read_back) == M.path_coordinates(solution)


def test_json_solution_lists_the_path_and_moves():
    puzzle = M.parse('{"grid": [[0, 0, 0], [0, 1, 0]], "start": [1, 0], "goal": [1, 2]}')
    solution = M.shortest_path(puzzle.grid)
    answer = json.loads(M.render(puzzle, solution))
    assert answer["path"] == [[1, 0], [0, 0], [0, 1], [0, 2], [1, 2]]
    assert answer["moves"] == "URRD"
    assert answer["grid"] == [[0, 0, 0], [0, 1, 0]]
    assert M.read_solution(puzzle, json.dumps(answer)) == solution
    assert M.verify(puzzle, M.read_solution(puzzle, json.dumps(answer)))


def test_path_coordinates_and_moves_follow_the_route():
    puzzle = M.parse(SAMPLE)
    solution = M.shortest_path(puzzle.grid)
    assert M.render(puzzle, solution) == ("#######\n#Soooo#\n#.###o#\n#...#G#\n#######")
    assert M.path_coordinates(solution) == [(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (2, 5), (3, 5)]
    assert M.path_moves(solution) == "RRRRDD"
    assert M.path_coordinates(puzzle.grid) == [] and M.path_moves(puzzle.grid) == ""


def test_parse_records_glyphs_and_tolerates_layout_spaces():
    puzzle = M.parse("  X X X X\n  X S 0 X\n  X 0 E X   \n  X X X X")
    assert puzzle.grid == [[1, 1, 1, 1], [1, 2, 0, 1], [1, 0, 3, 1], [1, 1, 1, 1]]
    assert puzzle.style == {
        "format": "text",
        "wall": "X",
        "open": "0",
        "start": "S",
        "goal": "E",
        "spaced": True,
    }


@pytest.mark.parametrize("label", ["row {n}: ", "Row {n} :", "row {n}:"])
def test_row_labels_are_read(label):
    rows = ["#####", "#S..#", "##.##", "#..G#", "#####"]
    text = "My maze:\n" + "\n".join(label.format(n=r + 1) + row for r, row in enumerate(rows))
    assert M.parse(text).grid == M.parse("\n".join(rows)).grid


def test_sudoku_is_not_a_maze():
    sudoku = (
        "53..7....\n6..195...\n.98....6.\n8...6...3\n4..8.3..1\n"
        "7...2...6\n.6....28.\n...419..5\n....8..79"
    )
    with pytest.raises(PuzzleError, match="No maze found"):
        M.parse(sudoku)
    with pytest.raises(PuzzleError):
        M.parse(sudoku.replace(".", "0"))
    with pytest.raises(PuzzleError):
        M.parse(json.dumps([[5, 3, 0, 0, 7, 0, 0, 0, 0]] * 9))


# ---------------------------------------------------------------------------------------------
# Rejections, each with a message naming the problem


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("#####\n#S..#\n#..\n#..G#\n#####", r"Ragged rows: row 3 has 3 cells but row 1 has 5"),
        ("#####\n#...#\n#..G#\n#####", "no start"),
        ("#####\n#S..#\n#...#\n#####\n\nthe goal G is somewhere", "no goal"),
        ("#####\n#S.G#\n#..G#\n#####", "2 goals"),
        ("#####\n#S.E#\n#.SG#\n#####", "2 starts"),
        ("#####\n#S#G#\n#####", "unreachable"),
        ("\n".join(["S" + "." * 30] + ["." * 30 + "G"] + ["." * 31] * 29), r"too large: 31x31"),
        ("#####\n#S?.#\n#..G#\n#####", r"Unknown symbol '\?' in the maze at row 2, column 3"),
        ("#####\n#S.\t#\n#..G#", r"Unknown symbol '\\t'"),
        ("#####\n#S..#\n#..G#\n\n#####\n#S..#\n#..G#", "2 separate maze grids"),
        ("no maze here at all", "No maze found"),
        ('{"grid": [[0, 1], [0]], "start": [0, 0], "goal": [1, 0]}', "row 2 has 1 cells"),
        ('{"grid": [[0, 1], [0, 0]], "start": [0, 1], "goal": [1, 0]}', "not an open cell"),
        ('{"grid": [[0, 1], [0, 0]], "start": [5, 0], "goal": [1, 0]}', "inside the 2x2 grid"),
        ('{"grid": [[0, 7], [0, 0]], "start": [0, 0], "goal": [1, 0]}', "Unknown value 7"),
        ('{"grid": [[0, 0], [0, 0]], "start": [0, 0]}', "no goal"),
        ('{"grid": [[0, 1], [1, 0]], "start": [0, 0], "goal": [1, 1]}', "unreachable"),
        ('{"maze": [[0, 0]]}', 'needs a "grid" key'),
        ('{"grid": [[0, 0]', "looks like JSON but does not parse"),
    ],
)
def test_bad_mazes_are_rejected_with_a_reason(text, expected):
    with pytest.raises(PuzzleError, match=expected):
        M.parse(text)


@pytest.mark.parametrize("value", [None, 7, 2.5, ["#S.G#"], {"grid": []}, b"#S.G#", "", "   \n "])
def test_non_text_and_empty_input_is_a_puzzle_error(value):
    with pytest.raises(PuzzleError):
        M.parse(value)


# ---------------------------------------------------------------------------------------------
# Verification


@settings(max_examples=100, deadline=None)
@given(grid=mazes())
def test_verify_accepts_shortest_path_and_rejects_every_one_cell_change(grid):
    puzzle = Puzzle(kind="maze", grid=grid)
    solution = M.shortest_path(grid)
    assert solution is not None and M.verify(puzzle, solution)
    for r, row in enumerate(solution):
        for c, code in enumerate(row):
            for other in {OPEN, WALL, START, GOAL, PATH} - {code}:
                changed = [line[:] for line in solution]
                changed[r][c] = other
                assert not M.verify(puzzle, changed), (r, c, code, other)


@settings(max_examples=100, deadline=None)
@given(grid=mazes(), seed=st.integers(0, 2**32))
def test_verify_accepts_a_marked_route_only_when_it_is_shortest(grid, seed):
    route = random_route(grid, random.Random(seed))
    marked = [row[:] for row in grid]
    for r, c in route[1:-1]:
        marked[r][c] = PATH
    is_shortest = len(route) - 1 == shortest_moves(grid)
    assert M.verify(Puzzle(kind="maze", grid=grid), marked) == is_shortest


def test_verify_rejects_a_longer_route():
    puzzle = M.parse("S.G\n.#.\n...")
    detour = [[START, OPEN, GOAL], [PATH, WALL, PATH], [PATH, PATH, PATH]]
    assert not M.verify(puzzle, detour)
    assert M.verify(puzzle, [[START, PATH, GOAL], [OPEN, WALL, OPEN], [OPEN, OPEN, OPEN]])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 9) | st.floats() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=2), inner),
    max_leaves=20,
)


@settings(deadline=None)
@given(candidate=json_values)
def test_verify_never_raises_on_malformed_grids(candidate):
    puzzle = M.parse(SAMPLE)
    assert M.verify(puzzle, candidate) is False
    assert M.verify(puzzle, [[True] * 7] * 5) is False
    assert M.verify(puzzle, puzzle.grid[:-1]) is False


# ---------------------------------------------------------------------------------------------
# Solver, augmentation, dedup


def test_count_shortest_paths_counts_ties():
    assert M.count_shortest_paths(M.parse("S..\n...\n..G").grid) == 6
    assert M.count_shortest_paths(M.parse(SAMPLE).grid) == 1
    assert M.count_shortest_paths([[START, WALL, GOAL]]) == 0
    assert M.count_shortest_paths([[START, OPEN, OPEN]]) == 0
    assert M.shortest_path([[START, WALL, GOAL]]) is None


@settings(max_examples=50, deadline=None)
@given(grid=mazes(), seed=st.integers(0, 2**32))
def test_augmentation_inverts_and_keeps_solutions_valid(grid, seed):
    augmentation = M.random_augmentation(random.Random(seed))
    solution = M.shortest_path(grid)
    assert augmentation.invert(augmentation.apply(grid)) == grid
    augmented = Puzzle(kind="maze", grid=augmentation.apply(grid))
    assert M.verify(augmented, augmentation.apply(solution))


@settings(max_examples=50, deadline=None)
@given(grid=mazes())
def test_every_dihedral_view_inverts_and_shares_the_canonical_key(grid):
    keys = set()
    for index in range(8):
        view = M.Dihedral(index).apply(grid)
        assert M.Dihedral(index).invert(view) == grid
        keys.add(M.canonical_key(view))
    assert len(keys) == 1


def test_canonical_key_tells_different_mazes_apart():
    assert M.canonical_key(M.parse("S.G").grid) != M.canonical_key(M.parse("SG.").grid)


# ---------------------------------------------------------------------------------------------
# Generation


def test_hard_tier_is_30x30_with_a_long_unique_shortest_path():
    rng = random.Random(7)
    for _ in range(4):
        puzzle, solution = M.generate(rng, "hard")
        assert len(puzzle.grid) == 30 and all(len(row) == 30 for row in puzzle.grid)
        assert path_cells(solution) > 110
        assert M.shortest_path(puzzle.grid) == solution
        assert M.verify(puzzle, solution)


@pytest.mark.parametrize(
    ("tier", "low", "high"), [("small", 6, 12), ("medium", 13, 20), ("large", 21, 30)]
)
def test_tiers_make_solvable_unique_mazes_in_their_size_range(tier, low, high):
    rng = random.Random(tier)
    for _ in range(15):
        puzzle, solution = M.generate(rng, tier)
        assert low <= len(puzzle.grid) <= high and low <= len(puzzle.grid[0]) <= high
        assert M.count_shortest_paths(puzzle.grid) >= 1
        assert M.shortest_path(puzzle.grid) == solution
        assert M.verify(puzzle, solution)
        assert M.parse(M.render(puzzle, puzzle.grid)).grid == puzzle.grid


@pytest.mark.parametrize("style", M.STYLES)
@pytest.mark.parametrize(("height", "width"), [(2, 3), (3, 2), (5, 9), (30, 17)])
def test_generate_maze_any_size_and_style(style, height, width):
    puzzle, solution = M.generate_maze(random.Random(1), height, width, style, ties=False)
    assert (len(puzzle.grid), len(puzzle.grid[0])) == (height, width)
    assert M.count_shortest_paths(puzzle.grid) == 1 and M.verify(puzzle, solution)


@pytest.mark.parametrize("style", M.STYLES)
@pytest.mark.parametrize("ring", [True, False])
def test_every_style_makes_valid_mazes_with_the_route_length_asked(style, ring):
    rng = random.Random(style)
    for height, width in [(9, 14), (17, 11), (30, 30)]:
        need = (height + width) // 2
        puzzle, solution = M.generate_maze(rng, height, width, style, min_path=need, ring=ring)
        grid = puzzle.grid
        assert (len(grid), len(grid[0])) == (height, width)
        assert sum(row.count(START) for row in grid) == sum(row.count(GOAL) for row in grid) == 1
        assert path_cells(solution) >= need
        assert M.verify(puzzle, solution) and M.shortest_path(grid) == solution
        border = grid[0] + grid[-1] + [row[0] for row in grid] + [row[-1] for row in grid]
        assert all(code == WALL for code in border) or not ring


def test_ties_are_kept_or_cut_as_asked_and_labelled_with_the_canonical_route():
    rng = random.Random(4)
    tied = [M.generate_maze(rng, 15, 15, "open_field", ties=True) for _ in range(10)]
    assert any(M.count_shortest_paths(p.grid) > 1 for p, _ in tied)
    assert all(M.shortest_path(p.grid) == s for p, s in tied)
    untied = [M.generate_maze(rng, 15, 15, "open_field", ties=False) for _ in range(5)]
    assert all(M.count_shortest_paths(p.grid) == 1 for p, _ in untied)


def test_ends_anywhere_keep_the_minimum_route_and_are_not_always_the_farthest_pair():
    rng = random.Random(8)
    farthest = 0
    for _ in range(10):
        puzzle, solution = M.generate_maze(rng, 20, 20, "perfect", min_path=20, far_ends=False)
        assert path_cells(solution) >= 20
        start = next(
            (r, c) for r, row in enumerate(puzzle.grid) for c, v in enumerate(row) if v == START
        )
        farthest += path_cells(solution) + 1 == max(M.distances(puzzle.grid, start))
    assert farthest < 10


def test_verify_accepts_any_shortest_route_and_rejects_a_longer_one():
    two_ways = Puzzle(
        kind="maze",
        grid=[[START, OPEN, OPEN], [OPEN, WALL, OPEN], [OPEN, OPEN, OPEN], [OPEN, WALL, GOAL]],
    )
    assert M.count_shortest_paths(two_ways.grid) == 2
    over_the_top = [[START, PATH, PATH], [OPEN, WALL, PATH], [OPEN, OPEN, PATH], [OPEN, WALL, GOAL]]
    round_the_side = [
        [START, OPEN, OPEN],
        [PATH, WALL, OPEN],
        [PATH, PATH, PATH],
        [OPEN, WALL, GOAL],
    ]
    assert M.verify(two_ways, over_the_top) and M.verify(two_ways, round_the_side)
    detour_maze = Puzzle(
        kind="maze", grid=[[START, OPEN, OPEN, GOAL], [OPEN, WALL, WALL, OPEN], [OPEN] * 4]
    )
    direct = [[START, PATH, PATH, GOAL], [OPEN, WALL, WALL, OPEN], [OPEN] * 4]
    detour = [[START, OPEN, OPEN, GOAL], [PATH, WALL, WALL, PATH], [PATH] * 4]
    assert M.verify(detour_maze, direct) and not M.verify(detour_maze, detour)


def test_the_training_target_marks_every_shortest_route_and_decoding_keeps_one():
    two_ways = Puzzle(
        kind="maze",
        grid=[[START, OPEN, OPEN], [OPEN, WALL, OPEN], [OPEN, OPEN, OPEN], [OPEN, WALL, GOAL]],
    )
    both = [[START, PATH, PATH], [PATH, WALL, PATH], [PATH, PATH, PATH], [OPEN, WALL, GOAL]]
    assert M.KIND.training_target(two_ways, M.shortest_path(two_ways.grid)) == both
    example = to_example(M.KIND, two_ways, M.shortest_path(two_ways.grid))
    assert example.labels.tolist() == M.encode(both).tolist()
    answer = M.decode(M.encode(both))
    assert M.verify(two_ways, answer) and path_cells(answer) == 4
    assert answer in (
        [[START, PATH, PATH], [OPEN, WALL, PATH], [OPEN, OPEN, PATH], [OPEN, WALL, GOAL]],
        [[START, OPEN, OPEN], [PATH, WALL, OPEN], [PATH, PATH, PATH], [OPEN, WALL, GOAL]],
    )


def test_decoding_leaves_marks_that_are_not_shortest_routes_for_the_check_to_refuse():
    field = Puzzle(kind="maze", grid=[[START, OPEN, OPEN, GOAL], [OPEN] * 4, [OPEN] * 4])
    everything = [[START, PATH, PATH, GOAL], [PATH] * 4, [PATH] * 4]
    assert M.decode(M.encode(everything)) == everything  # a "mark it all" model gets nothing
    stray = [[START, PATH, PATH, GOAL], [OPEN, PATH, OPEN, OPEN], [OPEN] * 4]
    gap = [[START, PATH, OPEN, GOAL], [OPEN] * 4, [OPEN] * 4]
    for marks in (stray, gap):
        assert M.decode(M.encode(marks)) == marks and not M.verify(field, marks)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), style=st.sampled_from(M.STYLES))
def test_every_generated_target_decodes_to_a_route_the_check_accepts(seed, style):
    puzzle, solution = M.generate_maze(random.Random(seed), 14, 17, style, ties=True)
    target = M.KIND.training_target(puzzle, solution)
    assert path_cells(target) >= path_cells(solution)
    assert M.verify(puzzle, M.decode(M.encode(target)))
    assert M.decode(M.encode(solution)) == solution


def test_the_auxiliary_target_counts_steps_to_the_goal():
    puzzle = Puzzle(kind="maze", grid=[[START, OPEN, WALL], [WALL, OPEN, GOAL], [OPEN, WALL, WALL]])
    assert M.KIND.auxiliary_target(puzzle) == [[3, 2, -1], [-1, 1, 0], [-1, -1, -1]]
    assert M.goal_steps(Puzzle(kind="maze", grid=[[START, OPEN]])) == [[-1, -1]]


def test_random_walls_keep_roughly_the_asked_wall_fraction():
    puzzle, _ = M.generate_maze(random.Random(3), 30, 30, "random_walls", wall_fraction=0.3)
    walls = sum(code == WALL for row in puzzle.grid for code in row) / 900
    assert 0.25 <= walls <= 0.4


def test_generation_is_deterministic_and_checks_its_arguments():
    assert M.generate(random.Random(5), "medium") == M.generate(random.Random(5), "medium")
    with pytest.raises(ValueError, match="tier"):
        M.generate(random.Random(0), "impossible")
    with pytest.raises(ValueError, match="style"):
        M.generate_maze(random.Random(0), 5, 5, "spiral")
    with pytest.raises(ValueError, match="sides"):
        M.generate_maze(random.Random(0), 31, 5)


# ---------------------------------------------------------------------------------------------
# Maze-Hard CSV


def test_read_csv(tmp_path):
    rng = random.Random(11)
    pairs = [M.generate_maze(rng, side, side, "random_walls") for side in (6, 30)]
    glyph = {WALL: "#", OPEN: " ", START: "S", GOAL: "G", PATH: "o"}
    lines = ["source,question,answer,rating"]
    for puzzle, solution in pairs:
        question = "".join(glyph[code] for row in puzzle.grid for code in row)
        answer = "".join(glyph[code] for row in solution for code in row)
        lines.append(f'test,"{question}","{answer}",{path_cells(solution)}')
    path = tmp_path / "mazes.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rows = list(M.read_csv(path))
    assert [(p.grid, s) for p, s in rows] == [(p.grid, s) for p, s in pairs]
    assert all(M.verify(p, s) for p, s in rows)
    assert M.parse(M.render(rows[1][0], rows[1][0].grid)).grid == pairs[1][0].grid

    path.write_text('source,question,answer,rating\nx,"#S G#","#SoG#",1\n', encoding="utf-8")
    with pytest.raises(PuzzleError, match="line 2"):
        list(M.read_csv(path))


# ---------------------------------------------------------------------------------------------
# Fuzz: nothing but PuzzleError ever escapes parse, and no call is slow


def fuzz_inputs(rng: random.Random) -> list[object]:
    """10,000+ random, malformed and huge inputs."""
    valid = [M.render(p, p.grid) for p, _ in (M.generate(rng, "small") for _ in range(40))]
    valid += [json.dumps({"grid": [[1, 0], [0, 0]], "start": [1, 0], "goal": [0, 1]})]
    alphabet = M.WALL_GLYPHS + M.OPEN_GLYPHS + "SGE\n\n{}[],:\"'`~o?\t\r1234567890"
    inputs: list[object] = [None, 0, 12.5, [], ["#S.G#"], {"grid": [[0]]}, b"#S.G#", ("S", "G")]
    for _ in range(500):
        document = {"grid": random_json(rng, 4), "start": random_json(rng, 2)}
        inputs.append(json.dumps({**document, rng.choice(["goal", "end"]): random_json(rng, 2)}))
    for _ in range(2500):
        inputs.append(rng.randbytes(rng.randint(0, 300)).decode("utf-8", errors="replace"))
        inputs.append("".join(chr(rng.randint(0, 0x10FFFF)) for _ in range(rng.randint(0, 80))))
        inputs.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 400))))
        inputs.append(mutate(rng.choice(valid), rng))
    inputs += [
        "x" * 1_000_000,
        "#" * 199_999 + "S",
        ("#S.G#\n" * 40_000)[:199_000],
        "S" + " " * 150_000 + "G",
        "[" * 100_000,
        "{" * 100_000,
        '{"grid":' * 20_000,
        '{"grid": ' + "[" * 5_000 + "]" * 5_000 + "}",
        "[[" + "9" * 5_000 + "]]",
        "```\n" * 40_000,
        "\n".join("#" * 30 for _ in range(6_000)),
    ]
    return inputs


def random_json(rng: random.Random, depth: int) -> object:
    """Mostly maze-shaped JSON values (lists of lists of small ints) with odd things mixed in."""
    if depth == 0 or rng.random() < 0.2:
        return rng.choice([0, 1, 2, 3, -1, 7, 1.5, True, None, "#", "S", [], {}])
    return [random_json(rng, depth - 1) for _ in range(rng.randint(0, 6))]


def mutate(text: str, rng: random.Random) -> str:
    """A valid maze text truncated, padded, or with junk spliced in."""
    how = rng.randrange(5)
    if how == 0:
        return text[: rng.randint(0, len(text))]
    if how == 1:
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        lines[i] += rng.choice(["#", " ", ".", "  ", "##", "S", "G"])
        return "\n".join(lines)
    if how == 2:
        i = rng.randint(0, len(text))
        return text[:i] + rng.choice("?!@é█ok\x00\u2028\ufeff{}") + text[i:]
    if how == 3:
        return text * rng.randint(2, 5)
    return "\n".join(line[::-1] if rng.random() < 0.3 else line for line in text.split("\n"))


def test_fuzz_parse_only_raises_puzzle_error_and_is_fast():
    inputs = fuzz_inputs(random.Random(2024))
    assert len(inputs) >= 10_000
    slowest, accepted = 0.0, 0
    for value in inputs:
        began = time.perf_counter()
        try:
            M.parse(value)
            accepted += 1
        except PuzzleError:
            pass
        elapsed = time.perf_counter() - began
        assert elapsed < 2.0, (elapsed, repr(value)[:80])
        slowest = max(slowest, elapsed)
    print(f"\nfuzz: {len(inputs)} inputs, {accepted} parsed, slowest call {slowest * 1000:.1f} ms")
    assert accepted > 0


@pytest.mark.parametrize("border", [(2, 0, 2, 0), (0, 2, 1, 2), (1, 1, 1, 1), (2, 2, 2, 2)])
def test_borders_of_any_thickness_keep_the_route_length_asked(border):
    rng = random.Random(str(border))
    for style in ("perfect", "braided", "random_walls"):
        need = 60
        puzzle, solution = M.generate_maze(rng, 30, 29, style, min_path=need, border=border)
        grid = puzzle.grid
        top, bottom, left, right = border
        assert all(code == WALL for row in grid[:top] + grid[len(grid) - bottom :] for code in row)
        assert all(code == WALL for row in grid for code in row[:left] + row[len(row) - right :])
        assert path_cells(solution) >= need and M.verify(puzzle, solution)


def test_random_walls_reach_dense_and_sparse_wall_shares():
    rng = random.Random(11)
    for fraction in (0.0, 0.55):
        puzzle, solution = M.generate_maze(rng, 24, 24, "random_walls", wall_fraction=fraction)
        walls = sum(row.count(WALL) for row in puzzle.grid) / (24 * 24)
        assert M.verify(puzzle, solution) and abs(walls - fraction) < 0.25


def _all_shortest_routes(grid: Grid) -> list[list[tuple[int, int]]]:
    """Every shortest S-G route as its inner cells, by brute force (small mazes only)."""
    start = next((r, c) for r, row in enumerate(grid) for c, v in enumerate(row) if v == START)
    goal = next((r, c) for r, row in enumerate(grid) for c, v in enumerate(row) if v == GOAL)
    width = len(grid[0])
    to_goal = M.distances(grid, goal)

    def onward(cell):
        left = to_goal[cell[0] * width + cell[1]]
        if left == 0:
            return [[]]
        nexts = [n for n in neighbours(grid, cell) if to_goal[n[0] * width + n[1]] == left - 1]
        return [[n, *rest] for n in nexts for rest in onward(n)]

    return [route[:-1] for route in onward(start)]


def test_the_nearest_route_is_the_shortest_route_the_logits_favour_most():
    field = [[OPEN] * 5 for _ in range(4)]
    field[0][0], field[3][4], field[1][2] = START, GOAL, WALL
    puzzle = Puzzle(kind="maze", grid=field)
    routes = _all_shortest_routes(field)
    assert len(routes) > 5
    union = M.encode(M.KIND.training_target(puzzle, M.shortest_path(field)))
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):
        logits = torch.randn(4, 5, M.VOCAB_SIZE, generator=generator)
        gain = logits.log_softmax(-1)[..., 5] - logits.log_softmax(-1)[..., 2]
        best = max(routes, key=lambda route: sum(gain[r, c].item() for r, c in route))
        labels = M.nearest_route(union[None], logits[None])[0]
        marked = {(r, c) for r in range(4) for c in range(5) if labels[r, c] == 5}
        assert marked == set(best)
        assert ((labels == union) | (labels == 2)).all()  # only other routes' marks are cleared
        assert M.verify(puzzle, M.decode(labels))


def test_nearest_routes_of_a_padded_batch_of_many_mazes_each_verify():
    from trm_tool.data import collate

    rng = random.Random(3)
    pairs = [
        M.generate_maze(rng, 9 + i, 12 - i, style, ties=True) for i, style in enumerate(M.STYLES)
    ]
    pairs.append((Puzzle(kind="maze", grid=[[START, WALL, GOAL]]), [[START, WALL, GOAL]]))
    examples = [to_example(M.KIND, puzzle, solution) for puzzle, solution in pairs]
    _, labels, _ = collate(examples, (15, 15))
    logits = torch.randn(*labels.shape, M.VOCAB_SIZE, generator=torch.Generator().manual_seed(1))
    nearest = M.nearest_route(labels, logits)
    assert (nearest[labels == -100] == -100).all()
    for (puzzle, _), example, chosen in zip(pairs, examples, nearest):
        height, width = example.labels.shape
        answer = M.decode(chosen[:height, :width])
        if M.solve_exact(puzzle) is None:  # no route: the labels stay as they were
            assert chosen[:height, :width].tolist() == example.labels.tolist()
        else:
            assert M.verify(puzzle, answer)
