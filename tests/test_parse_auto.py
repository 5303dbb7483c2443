"""kind="auto": every kind's own formats are recognised as that kind; junk names what was tried."""

import random

import pytest

import trm_tool
from trm_tool.puzzles import KIND_NAMES, PuzzleError, get_kind


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
