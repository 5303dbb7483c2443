"""Reading an ARC task from text (JSON or text blocks), and an answer grid from a reply."""

from __future__ import annotations

from dataclasses import replace

from ..base import Grid, Puzzle, PuzzleError, require_text
from .read_json import find_json_task, puzzles_from_json
from .read_text import parse_row, puzzles_from_text, section_grid
from .tasks import resolve_task_id

FORMAT_HELP = (
    'ARC task JSON {"train":[{"input":G,"output":G},...],"test":[{"input":G}]}, or text '
    'blocks "Example 1" / "Input:" G / "Output:" G, then "Test input:" G. A grid G is rows of '
    "digits 0-9 (spaces or commas optional), a JSON list of rows, or colour names (black blue "
    "red green yellow grey magenta orange azure maroon). At least one example; grids up to 30x30."
)


def parse_all(text: str) -> list[Puzzle]:
    """One Puzzle per test input of the task, each with all the demonstration pairs.
    A task whose demonstrations are those of an ARC-AGI task gets that task's id (which
    selects its learned embedding); a given id that names a different task is dropped."""
    text = require_text(text, "ARC task")
    task = find_json_task(text)
    puzzles = puzzles_from_text(text) if task is None else puzzles_from_json(task)
    return [replace(p, task_id=resolve_task_id(p)) for p in puzzles]


def parse(text: str) -> Puzzle:
    """The task's first test input with its examples (see parse_all for every test)."""
    return parse_all(text)[0]


def read_answer(puzzle: Puzzle, text: str) -> Grid:
    """The last grid written in `text` (digit rows, a JSON list or colour names)."""
    text = require_text(text, "ARC answer")
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if parse_row(line) is not None]
    starts = [i for i in starts if i == 0 or parse_row(lines[i - 1]) is None]
    for start in reversed(starts):
        found = section_grid(lines[start:], "answer grid")
        if found is not None:
            return found[0]
    raise PuzzleError("No grid of digit rows, JSON list or colour names found in the answer.")
