"""Reading ARC task JSON (bare, in prose or in a markdown code block), as ARC's files hold it."""

from __future__ import annotations

import json
import re
from itertools import islice

from ..base import BrokenPuzzleError, Grid, Puzzle, PuzzleError
from .grid import Pair, check_grid, short

JSON = json.JSONDecoder()
_JSON_START = re.compile(r'\{\s*"')


def json_error(err: Exception) -> str:
    if isinstance(err, json.JSONDecodeError):
        return f"{err.msg} at line {err.lineno}, column {err.colno}"
    if isinstance(err, RecursionError):
        return "it is nested too deeply"
    return str(err)


def _has_task_keys(value: object) -> bool:
    return isinstance(value, dict) and ("train" in value or "test" in value)


def _is_task_object(value: object) -> bool:
    """A task object, or one keyed by its task id as in ARC's challenge files."""
    if not isinstance(value, dict):
        return False
    return _has_task_keys(value) or (len(value) == 1 and _has_task_keys(*value.values()))


def find_json_task(text: str) -> object | None:
    """The ARC task JSON object in `text` (bare, in prose or a code block); None if the text
    does not look like JSON at all; PuzzleError if it does but cannot be read. Objects
    nested in a broken task are not mistaken for the task."""
    stripped = text.lstrip()
    if not stripped.startswith("{") and '"train"' not in text:
        return None
    starts = [m.start() for m in islice(_JSON_START.finditer(text), 5)]
    if stripped.startswith("{"):
        starts.insert(0, len(text) - len(stripped))
    if not starts:
        return None
    first_error: Exception | None = None
    decoded = []
    for start in starts:
        try:
            value = JSON.raw_decode(text, start)[0]
        except (ValueError, RecursionError) as err:
            first_error = first_error or err
            continue
        if _is_task_object(value):
            return value
        decoded.append(value)
    if first_error is None:
        return decoded[0]
    raise PuzzleError(
        f"Could not read the ARC task JSON: {json_error(first_error)}. Expected a JSON object "
        '{"train": [{"input": grid, "output": grid}, ...], "test": [{"input": grid}]} '
        "with double-quoted keys."
    )


def _json_pair(item: object, n: int) -> Pair:
    if not isinstance(item, dict) or "input" not in item or "output" not in item:
        raise PuzzleError(
            f'Example {n} in "train" needs both an "input" and an "output" grid: '
            '{"input": [[...]], "output": [[...]]}.'
        )
    return check_grid(item["input"], f"example {n} input"), check_grid(
        item["output"], f"example {n} output"
    )


def _json_test_input(item: object, n: int) -> Grid:
    if isinstance(item, dict) and "input" in item:
        item = item["input"]
    elif not isinstance(item, list):
        raise PuzzleError(f'Test {n} in "test" has no "input" grid; expected {{"input": [[...]]}}.')
    return check_grid(item, f"test input {n}")


def _task_id(value: object) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= 64 else None


def puzzles_from_json(task: object) -> list[Puzzle]:
    """One Puzzle per test input of an ARC task JSON object. An object with "train" or "test"
    keys is an ARC task, so what is wrong in it raises BrokenPuzzleError."""
    if not isinstance(task, dict):
        raise PuzzleError(
            f'The JSON is {short(task)}; expected an ARC task object {{"train": [...], '
            '"test": [...]}.'
        )
    task_id = _task_id(task.get("id") or task.get("task_id"))
    if not _has_task_keys(task) and _is_task_object(task):
        ((key, task),) = task.items()
        task_id = _task_id(key)
    try:
        return _task_puzzles(task, task_id)
    except PuzzleError as err:
        if _has_task_keys(task) and not isinstance(err, BrokenPuzzleError):
            raise BrokenPuzzleError(str(err)) from None
        raise


def _task_puzzles(task: dict, task_id: str | None) -> list[Puzzle]:
    train = task.get("train")
    if not isinstance(train, list) or not train:
        raise PuzzleError(
            'The ARC task has no demonstration examples: "train" must be a non-empty list of '
            '{"input": grid, "output": grid} pairs.'
        )
    examples = [_json_pair(item, n) for n, item in enumerate(train, 1)]
    tests = task.get("test")
    tests = [tests] if isinstance(tests, dict) else tests
    if not isinstance(tests, list) or not tests:
        raise PuzzleError(
            'The ARC task is missing its test input: "test" must be a non-empty list of '
            '{"input": grid} objects.'
        )
    inputs = [_json_test_input(item, n) for n, item in enumerate(tests, 1)]
    return [
        Puzzle(kind="arc", grid=grid, examples=examples, style={"format": "json"}, task_id=task_id)
        for grid in inputs
    ]
