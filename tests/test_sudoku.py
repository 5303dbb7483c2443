"""Sudoku: every text format round-trips, bad input gets a PuzzleError that says why, the
exact solver, verification, augmentation, canonical keys, the generator's tiers, and a fuzz
run showing parse raises nothing but PuzzleError and never hangs."""

import json
import random
import time
from functools import cache

import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from trm_tool.puzzles import get_kind
from trm_tool.puzzles.base import BrokenPuzzleError, Puzzle, PuzzleError
from trm_tool.puzzles.sudoku import (
    FORMAT_HELP,
    KIND,
    TIERS,
    canonical_key,
    decode,
    difficulty,
    encode,
    generate,
    parse,
    pretty,
    random_augmentation,
    read_answer,
    read_csv,
    render,
    solve_exact,
    to_line,
    verify,
)
from trm_tool.puzzles.sudoku.generate import DEEP_GUESSES, DEEPER_GUESSES

CLASSIC = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
CLASSIC_SOLUTION = (
    "534678912672195348198342567859761423426853791713924856961537284287419635345286179"
)
HARD = "8..........36......7..9.2...5...7.......457.....1...3...1....68..85...1..9....4.."

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def grid_of(line: str) -> list[list[int]]:
    return [[0 if ch in ".0" else int(ch) for ch in line[r * 9 : r * 9 + 9]] for r in range(9)]


def symbol(d: int, blank: str = ".") -> str:
    return str(d) if d else blank


@cache
def solutions() -> tuple[tuple[tuple[int, ...], ...], ...]:
    """A few distinct solution grids for the property tests to draw from."""
    rng = random.Random(7)
    return tuple(tuple(map(tuple, generate(rng, "singles")[1])) for _ in range(6))


@st.composite
def puzzles(draw) -> tuple[list[list[int]], list[list[int]]]:
    """A puzzle (some cells of a valid solution blanked) and that solution."""
    solution = [list(row) for row in draw(st.sampled_from(solutions()))]
    solution = random_augmentation(draw(st.randoms(use_true_random=False))).apply(solution)
    keep = draw(st.lists(st.booleans(), min_size=81, max_size=81).filter(lambda k: sum(k) >= 17))
    grid = [[solution[r][c] if keep[r * 9 + c] else 0 for c in range(9)] for r in range(9)]
    return grid, solution


# --- writers: one grid in each supported format, the way a person or an LLM might write it ---


def box_drawing(g):
    def row(r):
        return (
            "│ " + " │ ".join(" ".join(symbol(d) for d in r[c : c + 3]) for c in (0, 3, 6)) + " │"
        )

    lines = ["┌───────┬───────┬───────┐"]
    for i, r in enumerate(g):
        if i in (3, 6):
            lines.append("├───────┼───────┼───────┤")
        lines.append(row(r))
    lines.append("└───────┴───────┴───────┘")
    return "\n".join(lines)


def plus_rules(g):
    lines = []
    for i, r in enumerate(g):
        if i in (3, 6):
            lines.append("---+---+---")
        lines.append("|".join("".join(symbol(d, "-") for d in r[c : c + 3]) for c in (0, 3, 6)))
    return "\n".join(lines)


WRITERS = {
    "line dots": lambda g: "".join(symbol(d) for r in g for d in r),
    "line zeros": lambda g: "".join(symbol(d, "0") for r in g for d in r),
    "line underscores": lambda g: "".join(symbol(d, "_") for r in g for d in r),
    "line stars": lambda g: "".join(symbol(d, "*") for r in g for d in r),
    "line spaces": lambda g: "".join(symbol(d, " ") for r in g for d in r),
    "rows packed": lambda g: "\n".join("".join(symbol(d) for d in r) for r in g),
    "rows spaced": lambda g: "\n".join(" ".join(symbol(d, "0") for d in r) for r in g),
    "rows dashes crlf": lambda g: "\r\n".join("".join(symbol(d, "-") for d in r) for r in g),
    "rows commas": lambda g: "\n".join(", ".join(symbol(d, "0") for d in r) for r in g),
    "pretty": pretty,
    "box drawing": box_drawing,
    "plus rules": plus_rules,
    "json zeros": lambda g: json.dumps(g),
    "json null": lambda g: json.dumps([[d or None for d in r] for r in g]),
    "python None": lambda g: repr([[d or None for d in r] for r in g]),
    "json indented": lambda g: json.dumps({"puzzle": g}, indent=2),
    "numpy print": lambda g: "[" + "\n ".join("[" + " ".join(map(str, r)) + "]" for r in g) + "]",
    "row lists": lambda g: ",\n".join(repr(r) for r in g),
    "row strings": lambda g: json.dumps(["".join(symbol(d) for d in r) for r in g]),
    "quoted cells": lambda g: json.dumps([[symbol(d) for d in r] for r in g]),
    "81 commas": lambda g: ",".join(str(d) for r in g for d in r),
    "81 spaces": lambda g: " ".join(str(d) for r in g for d in r),
    "markdown table": lambda g: "\n".join(
        "| " + " | ".join(symbol(d) for d in r) + " |" for r in g
    ),
}


@pytest.mark.parametrize("fmt", WRITERS)
@PROPERTY
@given(case=puzzles())
def test_every_format_round_trips(fmt, case):
    grid, solution = case
    text = WRITERS[fmt](grid)
    puzzle = parse(text)
    assert puzzle.grid == grid
    assert parse(render(puzzle, solution)).grid == solution
    assert parse(render(puzzle, grid)).grid == grid
    assert render(puzzle, grid) in text  # the same layout, character for character


@PROPERTY
@given(case=puzzles())
def test_rows_with_spaces_for_blanks_round_trip(case):
    grid, solution = case
    # an all-blank row reads as an empty line unless some row shows the fixed-width layout
    assume(any(0 in row and set(row) != {0} for row in grid))
    text = "\n".join("".join(symbol(d, " ") for d in r) for r in grid)
    puzzle = parse(text)
    assert puzzle.grid == grid
    assert parse(render(puzzle, solution)).grid == solution
    assert render(puzzle, grid) == text


AROUND = [
    lambda t: f"Please solve this sudoku:\n{t}\nthanks",
    lambda t: f"Here it is:\n\n```\n{t}\n```\n\nCan you do it? thanks",
    lambda t: f"```text\n{t}\n```",
]
ON_ONE_LINE = [
    lambda t: f"I tried for hours (really!) - the grid is: {t} - thanks",
    lambda t: f"Solve `{t}` thanks",
]


@pytest.mark.parametrize("wrap", AROUND)
@pytest.mark.parametrize("fmt", ["line dots", "pretty", "box drawing", "json null", "81 commas"])
def test_grids_are_found_inside_prose_and_code_blocks(wrap, fmt):
    grid = grid_of(CLASSIC)
    puzzle = parse(wrap(WRITERS[fmt](grid)))
    assert puzzle.grid == grid
    assert "thanks" not in render(puzzle, grid_of(CLASSIC_SOLUTION))


@pytest.mark.parametrize("wrap", ON_ONE_LINE)
@pytest.mark.parametrize("fmt", ["line dots", "line zeros", "json zeros", "81 commas"])
def test_one_line_grids_are_found_inside_a_sentence(wrap, fmt):
    grid = grid_of(CLASSIC)
    puzzle = parse(wrap(WRITERS[fmt](grid)))
    assert puzzle.grid == grid
    assert parse(render(puzzle, grid_of(CLASSIC_SOLUTION))).grid == grid_of(CLASSIC_SOLUTION)


@pytest.mark.parametrize("lead", ["Solve this sudoku:", "Please solve: ", "puzzle"])
@pytest.mark.parametrize("separator", ["", " "])
def test_a_first_row_on_the_same_line_as_the_prose_is_read(lead, separator):
    rows = [CLASSIC[r * 9 : r * 9 + 9] for r in range(9)]
    rows = [separator.join(row) for row in rows]
    text = f"{lead} {rows[0]}\n" + "\n".join(rows[1:]) + "\nthanks!"
    puzzle = parse(text)
    assert puzzle.grid == grid_of(CLASSIC)
    answer = render(puzzle, grid_of(CLASSIC_SOLUTION))
    assert parse(answer).grid == grid_of(CLASSIC_SOLUTION) and lead not in answer


@pytest.mark.parametrize("label", ["row {n}: ", "Row {n} :", "ROW {n}:\t", "  row {n}:"])
@pytest.mark.parametrize("separator", ["", " "])
def test_row_labels_are_read_and_kept_in_the_answer(label, separator):
    rows = [separator.join(CLASSIC[r * 9 : r * 9 + 9]) for r in range(9)]
    text = "Solve:\n" + "\n".join(label.format(n=r + 1) + row for r, row in enumerate(rows))
    puzzle = parse(text)
    assert puzzle.grid == grid_of(CLASSIC)
    answer = render(puzzle, grid_of(CLASSIC_SOLUTION))
    assert answer.splitlines()[8].startswith(label.format(n=9))
    assert parse(answer).grid == grid_of(CLASSIC_SOLUTION)
    assert read_answer(puzzle, f"Here it is:\n{answer}") == grid_of(CLASSIC_SOLUTION)


def test_a_rule_break_under_row_labels_is_named():
    rows = [CLASSIC[r * 9 : r * 9 + 9] for r in range(9)]
    rows[0] = "55" + rows[0][2:]
    text = "\n".join(f"row {r + 1}: {row}" for r, row in enumerate(rows))
    with pytest.raises(BrokenPuzzleError, match="digit 5 appears twice in row 1"):
        parse(text)


def test_render_without_a_known_layout_is_pretty_and_to_line_is_canonical():
    grid = grid_of(CLASSIC)
    assert render(Puzzle(kind="sudoku", grid=grid), grid) == pretty(grid)
    assert pretty(grid).splitlines()[3] == "------+-------+------"
    assert to_line(grid) == CLASSIC
    assert to_line(grid, blank="0") == CLASSIC.replace(".", "0")


REJECTIONS = {
    "80 cells": (CLASSIC[:80], ["found 80 cells", "expected 81"]),
    "82 cells": (CLASSIC + "1", ["found 82 cells", "expected 81"]),
    "short row": (
        "\n".join(CLASSIC[r * 9 : r * 9 + 9] if r != 3 else CLASSIC[27:35] for r in range(9)),
        ["found 80 cells", "row 4 has 8 cells"],
    ),
    "eight rows": ("\n".join(CLASSIC[r * 9 : r * 9 + 9] for r in range(8)), ["found 72 cells"]),
    "letter in grid": (CLASSIC[:10] + "x" + CLASSIC[11:], ["'x'", "not a digit"]),
    "ten in json": (
        json.dumps([[10, *row[1:]] if r == 0 else row for r, row in enumerate(grid_of(CLASSIC))]),
        ["'10'", "row 1, column 1", "out of range"],
    ),
    "word in json": (
        json.dumps([["a", *row[1:]] if r == 0 else row for r, row in enumerate(grid_of(CLASSIC))]),
        ["'a'", "out of range"],
    ),
    "json eight rows": (json.dumps(grid_of(CLASSIC)[:8]), ["8 rows", "expected 9"]),
    "json short row": (
        json.dumps([row[:8] if r == 4 else row for r, row in enumerate(grid_of(CLASSIC))]),
        ["row 5", "8 cells", "expected 9"],
    ),
    "two-digit number in a list": (",".join(["5", "10"] + ["0"] * 79), ["'10'", "out of range"]),
    "repeat in a row": ("55" + CLASSIC[2:], ["digit 5", "twice in row 1"]),
    "repeat in a column": (CLASSIC[:18] + "4" + CLASSIC[19:], ["digit 4", "twice in column 1"]),
    "repeat in a box": (CLASSIC[:10] + "8" + CLASSIC[11:], ["digit 8", "twice in box 1"]),
    "no solution": ("12345678." + "........9" + "." * 63, ["no solution"]),
    "no grid": ("hello there, how are you?", ["No Sudoku grid", "81-character"]),
    "empty": ("  \n ", ["empty"]),
    "too long": ("." * 300_000, ["300,000 characters"]),
}


@pytest.mark.parametrize("name", REJECTIONS)
def test_bad_puzzles_are_rejected_with_a_message_naming_the_problem(name):
    text, phrases = REJECTIONS[name]
    with pytest.raises(PuzzleError) as err:
        parse(text)
    for phrase in phrases:
        assert phrase in str(err.value)


@pytest.mark.parametrize("bad", [None, 81, 1.5, ["53..7"], {"grid": CLASSIC}, b"53..7", (1, 2)])
def test_non_text_input_raises_puzzle_error(bad):
    with pytest.raises(PuzzleError, match="as text"):
        parse(bad)


def test_rules_lines_of_nine_dashes_are_not_taken_for_rows_when_that_makes_81():
    rows = [CLASSIC[r * 9 : r * 9 + 9] for r in range(9)]
    text = "|---|---|---|\n" + "\n".join(
        "|" + "|".join(row[c : c + 3] for c in (0, 3, 6)) + "|" for row in rows
    )
    assert parse(text.replace(".", "-")).grid == grid_of(CLASSIC)


# --- the exact solver ---


def test_solver_solves_proves_unique_and_rates():
    report = solve_exact(grid_of(CLASSIC))
    assert report.status == "unique" and report.guesses == 0
    assert report.solutions == [grid_of(CLASSIC_SOLUTION)]
    hard = solve_exact(grid_of(HARD))
    assert hard.status == "unique" and hard.guesses >= 1
    assert verify(Puzzle(kind="sudoku", grid=grid_of(HARD)), hard.solutions[0])
    assert difficulty(grid_of(HARD)) == hard.guesses


def test_solver_reports_multiple_none_and_gave_up():
    empty = [[0] * 9 for _ in range(9)]
    assert solve_exact(empty).status == "multiple"
    assert len(solve_exact(empty, max_solutions=5).solutions) == 5
    assert solve_exact(grid_of("12345678." + "........9" + "." * 63)).status == "none"
    assert solve_exact(grid_of("11" + "." * 79)).status == "none"
    assert solve_exact(grid_of(HARD), node_limit=2).status == "gave_up"
    with pytest.raises(PuzzleError):
        solve_exact([[0] * 9])
    with pytest.raises(PuzzleError):
        solve_exact(empty, max_solutions=0)


def test_solver_is_fast_on_hard_puzzles():
    rng = random.Random(3)
    grids = [generate(rng, "extreme")[0].grid for _ in range(4)] + [grid_of(HARD)]
    start = time.process_time()
    for grid in grids:
        assert solve_exact(grid, max_solutions=1).status == "unique"
    per_puzzle = (time.process_time() - start) / len(grids)
    print(f"exact solver: {per_puzzle * 1000:.1f} ms CPU per hard puzzle")
    assert per_puzzle < 0.25


# --- verification ---


@PROPERTY
@given(case=puzzles(), cell=st.integers(0, 80), digit=st.integers(0, 9))
def test_verify_accepts_the_solution_and_rejects_any_one_cell_change(case, cell, digit):
    grid, solution = case
    puzzle = Puzzle(kind="sudoku", grid=grid)
    found = solve_exact(grid, max_solutions=1).solutions[0]
    assert verify(puzzle, found) and verify(puzzle, solution)
    r, c = divmod(cell, 9)
    changed = [row[:] for row in found]
    changed[r][c] = digit if digit != found[r][c] else (digit % 9) + 1
    assert not verify(puzzle, changed)


@pytest.mark.parametrize(
    "bad",
    [None, [], [[1] * 9] * 8, [[1] * 8] * 9, [["1"] * 9] * 9, [[1.0] * 9] * 9, "grid", [[10] * 9]],
)
def test_verify_returns_false_for_malformed_grids(bad):
    assert verify(Puzzle(kind="sudoku", grid=grid_of(CLASSIC)), bad) is False


def test_verify_rejects_a_valid_grid_that_drops_a_given():
    other = random_augmentation(random.Random(1)).apply(grid_of(CLASSIC_SOLUTION))
    assert verify(Puzzle(kind="sudoku", grid=other), other)
    assert not verify(Puzzle(kind="sudoku", grid=grid_of(CLASSIC)), other)


# --- tokens ---


def test_encode_decode_use_the_fixed_vocabulary():
    grid = grid_of(CLASSIC)
    tokens = encode(grid)
    assert tokens.shape == (9, 9) and tokens.dtype == torch.int64
    assert tokens[0, 0] == 6 and tokens[0, 2] == 1
    assert decode(tokens) == grid
    assert decode(torch.tensor([[0, 1, 2, 10, 11, -3, 5, 5, 5]] * 9))[0] == [
        0,
        0,
        1,
        9,
        0,
        0,
        4,
        4,
        4,
    ]
    assert KIND.vocab_size == 11


# --- augmentation and canonical keys ---


@PROPERTY
@given(
    grid=st.lists(st.lists(st.integers(0, 9), min_size=9, max_size=9), min_size=9, max_size=9),
    rng=st.randoms(use_true_random=False),
)
def test_augment_then_invert_is_the_identity(grid, rng):
    augmentation = random_augmentation(rng)
    assert augmentation.invert(augmentation.apply(grid)) == grid
    assert augmentation.apply(augmentation.invert(grid)) == grid


@PROPERTY
@given(case=puzzles(), rng=st.randoms(use_true_random=False))
def test_augmentation_keeps_solutions_valid_and_keys_equal(case, rng):
    grid, solution = case
    augmentation = random_augmentation(rng)
    moved = Puzzle(kind="sudoku", grid=augmentation.apply(grid))
    assert verify(moved, augmentation.apply(solution))
    assert sum(row.count(0) for row in moved.grid) == sum(row.count(0) for row in grid)
    assert canonical_key(moved.grid) == canonical_key(grid)
    assert canonical_key(augmentation.apply(solution)) == canonical_key(solution)


def test_canonical_keys_tell_puzzles_apart_and_are_cheap():
    rng = random.Random(11)
    grids = [generate(rng, "easy")[0].grid for _ in range(20)]
    grids += [[list(row) for row in sol] for sol in solutions()]
    start = time.process_time()
    keys = {canonical_key(grid) for grid in grids}
    per_key = (time.process_time() - start) / len(grids)
    assert len(keys) == len(grids)
    assert per_key < 0.005


# --- generator ---


LEAST_GUESSES = {"extreme": 3, "deep": DEEP_GUESSES, "deeper": DEEPER_GUESSES}


@cache
def generated(tier: str, n: int) -> tuple:
    rng = random.Random(f"test/{tier}")
    return tuple(generate(rng, tier) for _ in range(n))


@pytest.mark.parametrize("tier", TIERS)
def test_generated_puzzles_are_unique_and_match_their_tier(tier):
    for puzzle, solution in generated(tier, 4):
        report = solve_exact(puzzle.grid)
        assert report.status == "unique" and report.solutions == [solution]
        assert verify(puzzle, solution)
        givens = sum(d != 0 for row in puzzle.grid for d in row)
        assert 17 <= givens <= 45
        if tier in ("singles", "easy", "medium"):
            assert report.guesses == 0
        elif tier == "hard":
            assert 1 <= report.guesses <= 2
        else:
            assert report.guesses >= LEAST_GUESSES[tier] and givens <= 30
        assert parse(render(puzzle, puzzle.grid)).grid == puzzle.grid


def test_tiers_get_harder():
    givens = {
        tier: sum(sum(d != 0 for row in p.grid for d in row) for p, _ in generated(tier, 4))
        for tier in ("singles", "easy", "medium")
    }
    assert givens["singles"] > givens["easy"] > givens["medium"]
    hard = sum(solve_exact(p.grid).guesses for p, _ in generated("hard", 4))
    extreme = sum(solve_exact(p.grid).guesses for p, _ in generated("extreme", 4))
    assert extreme > hard


def test_generator_is_deterministic_and_rejects_unknown_tiers():
    assert generate(random.Random(5), "hard") == generate(random.Random(5), "hard")
    assert generate(random.Random(5), "hard") != generate(random.Random(6), "hard")
    with pytest.raises(PuzzleError, match="extreme"):
        generate(random.Random(0), "impossible")


# --- the kind as the rest of the project sees it ---


def test_kind_implements_the_protocol():
    kind = get_kind("sudoku")
    assert kind is KIND and kind.name == "sudoku" and kind.tiers == TIERS
    assert kind.canvas_shape("extreme") == (9, 9)
    assert len(kind.format_help) <= 400 and FORMAT_HELP == kind.format_help
    puzzle = kind.parse(CLASSIC)
    assert kind.solve_exact(puzzle) == grid_of(CLASSIC_SOLUTION)
    assert kind.parse(kind.question_text(puzzle)).grid == puzzle.grid


def test_read_answer_takes_the_last_complete_grid():
    puzzle = parse(CLASSIC)
    reply = f"Puzzle:\n{pretty(grid_of(CLASSIC))}\n\nSolution:\n{pretty(grid_of(CLASSIC_SOLUTION))}"
    assert read_answer(puzzle, reply) == grid_of(CLASSIC_SOLUTION)
    assert read_answer(puzzle, f"Only this: {CLASSIC}") == grid_of(CLASSIC)
    with pytest.raises(PuzzleError):
        read_answer(puzzle, "I could not solve it.")


def test_read_csv(tmp_path):
    path = tmp_path / "extreme.csv"
    path.write_text(
        "source,question,answer,rating\n"
        f"classic,{CLASSIC},{CLASSIC_SOLUTION},0\n"
        f"zeros,{CLASSIC.replace('.', '0')},{CLASSIC_SOLUTION},3\n"
    )
    rows = list(read_csv(path))
    assert len(rows) == 2
    for puzzle, answer in rows:
        assert puzzle.grid == grid_of(CLASSIC) and answer == grid_of(CLASSIC_SOLUTION)
        assert verify(puzzle, answer) and render(puzzle, answer) == CLASSIC_SOLUTION
    path.write_text(f"source,question,answer,rating\nbad,{CLASSIC[:80]},{CLASSIC_SOLUTION},0\n")
    with pytest.raises(PuzzleError, match="row 2"):
        list(read_csv(path))


# --- fuzz: only PuzzleError, never slow ---


def fuzz_inputs(rng: random.Random):
    """Random and malformed inputs: bytes, unicode, near-grids, junk, huge texts, non-text."""
    alphabet = "0123456789._-*| \n\t,;[]{}\"'│─┼+=xO#"
    texts = [WRITERS[fmt](grid_of(CLASSIC)) for fmt in WRITERS]
    for _ in range(2000):
        yield rng.randbytes(rng.randint(0, 400)).decode("utf-8", "replace")
    for _ in range(2000):
        yield "".join(
            chr(rng.choice([rng.randint(0, 0x7F), rng.randint(0, 0x10FFFF)]))
            for _ in range(rng.randint(0, 300))
        )
    for _ in range(2000):
        yield "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 400)))
    for _ in range(3000):
        text = list(rng.choice(texts))
        for _ in range(rng.randint(1, 6)):
            action, at = rng.randrange(4), rng.randrange(len(text) + 1)
            if action == 0:
                text.insert(at, rng.choice(alphabet))
            elif action == 1 and at < len(text):
                del text[at]
            elif at < len(text):
                text[at] = rng.choice(alphabet)
        cut = rng.randint(0, len(text))
        yield "".join(text[:cut] if rng.random() < 0.3 else text) + rng.choice(["", "\n", "9" * 40])
    for _ in range(1000):
        rows = [
            [rng.choice([rng.randint(-3, 12), None, "x", [1]]) for _ in range(rng.randint(7, 10))]
            for _ in range(rng.randint(7, 10))
        ]
        yield json.dumps(rows)
    for piece in ["[", "[[", "1", ".", "|", "-", "9 ", "5,", "53..7....\n", "─┼", "[1,", '["']:
        yield piece * (1_000_000 // len(piece))
        yield piece * (199_999 // len(piece))
    yield from [None, 7, 3.5, [CLASSIC], {"puzzle": CLASSIC}, b"53..7", object()]


def test_fuzz_parse_raises_only_puzzle_errors_quickly():
    """CPU time per call, so a busy machine does not make the bound flaky."""
    slowest, count = (0.0, ""), 0
    for text in fuzz_inputs(random.Random(2024)):
        count += 1
        start = time.process_time()
        try:
            parse(text)
        except PuzzleError:
            pass
        elapsed = time.process_time() - start
        if elapsed > slowest[0]:
            slowest = (elapsed, repr(text)[:40])
    print(f"fuzz: {count} inputs, slowest parse {slowest[0] * 1000:.1f} ms CPU on {slowest[1]}")
    assert count >= 10_000
    assert slowest[0] < 2.0
