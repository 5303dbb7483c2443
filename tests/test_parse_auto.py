"""kind="auto": every kind's own formats are recognised as that kind; junk names what was tried."""

import random

import pytest

import trm_tool
from trm_tool.puzzles import KIND_NAMES, BrokenPuzzleError, PuzzleError, get_kind


def sample(kind_name: str, seed: int):
    kind = get_kind(kind_name)
    tier = kind.tiers[0]
    return kind, kind.generate(random.Random(seed), tier)


@pytest.mark.parametrize("kind_name", KIND_NAMES)
@pytest.mark.parametrize("seed", range(5))
def test_auto_detects_each_kind_from_its_own_text(kind_name, seed):
    kind, (puzzle, _) = sample(kind_name, seed)
    text = kind.question_text(puzzle)
    detected = trm_tool.parse("auto", f"Could you solve this for me?\n\n{text}\n\nThanks!")
    assert detected.kind == kind_name
    assert detected.grid == puzzle.grid


@pytest.mark.parametrize("junk", ["hello there", "1 2 3", "{}", "#####\n#   #\n#####"])
def test_auto_rejects_non_puzzles_naming_every_kind_tried(junk):
    with pytest.raises(PuzzleError) as err:
        trm_tool.parse("auto", junk)
    for name in KIND_NAMES:
        assert f"{name}:" in str(err.value)


CLASSIC = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
BROKEN = {
    "sudoku, digit twice in a row": (
        "\n".join(("55" + CLASSIC[2:])[r * 9 : r * 9 + 9] for r in range(9)),
        "The Sudoku breaks the rules: digit 5 appears twice in row 1",
    ),
    "sudoku without a solution": (
        "12345678.\n........9\n" + "\n".join(["........."] * 7),
        "The Sudoku has no solution",
    ),
    "maze with the goal walled off": ("#####\n#S#G#\n#####", "The goal is unreachable"),
    "json maze with a bad value": (
        '{"grid": [[0, 7], [0, 0]], "start": [0, 0], "goal": [1, 0]}',
        "Unknown value 7 in the JSON grid",
    ),
    "arc task with a ragged grid": (
        '{"train": [{"input": [[1, 2], [3]], "output": [[1]]}], "test": [{"input": [[1]]}]}',
        "The example 1 input is not rectangular",
    ),
    "arc text without a test input": (
        "Example 1\nInput:\n12\nOutput:\n21\n\nTest output:\n12",
        "The ARC task is missing its test input",
    ),
}


@pytest.mark.parametrize("name", BROKEN)
def test_a_puzzle_that_breaks_its_rules_leads_with_the_cause(name):
    """Text that one kind recognises but finds wrong gets that kind's reason first, not
    "Could not recognise the puzzle"; the other kinds' reasons follow."""
    text, cause = BROKEN[name]
    with pytest.raises(BrokenPuzzleError) as err:
        trm_tool.parse("auto", text)
    assert str(err.value).startswith(cause)
    assert "the other kinds:" in str(err.value)


@pytest.mark.parametrize("bad", [None, 42, ["a"], b"bytes", ""])
def test_auto_and_unknown_kinds_raise_only_puzzle_errors(bad):
    with pytest.raises(PuzzleError):
        trm_tool.parse("auto", bad)
    with pytest.raises(PuzzleError, match="Unknown puzzle kind"):
        trm_tool.parse("chess", "anything")


def test_render_answers_in_the_puzzles_own_format():
    kind, (puzzle, solution) = sample("maze", 0)
    text = trm_tool.render(puzzle, solution)
    assert kind.read_answer(puzzle, text) == solution
    assert trm_tool.verify(puzzle, solution) is True
