"""Reading an ARC task written as text: "Example 1 / Input: / Output: / Test input:" blocks
with grids written as digit rows, JSON lists or colour names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..base import BrokenPuzzleError, Grid, Puzzle, PuzzleError
from .grid import COLOUR_CODES, COLOUR_NAMES, SIDE, Pair, check_grid
from .read_json import JSON, json_error

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


def parse_row(line: str) -> _Row | None:
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
        return JSON.raw_decode(text)[0], None
    except (ValueError, RecursionError) as err:
        return None, err


def _colour_style(rows: list[_Row]) -> dict[str, Any]:
    """Colour-name style that answers with the names this grid used ("gray", "cyan", ...)."""
    names = list(COLOUR_NAMES)
    for row in rows:
        for code, word in zip(row.cells, row.words):
            names[code] = word
    return {"format": "colours", "names": names}


def section_grid(lines: list[str], label: str) -> tuple[Grid, dict[str, Any]] | None:
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
        row = parse_row(line)
        if row is None and rows:
            break
        if row is not None:
            rows.append(row)
        if len(rows) > SIDE:
            raise PuzzleError(f"The {label} has more than 30 rows; ARC grids are at most 30x30.")
    if not rows:
        if error is not None:
            raise PuzzleError(
                f"The {label} looks like a JSON list but is not valid JSON: {json_error(error)}."
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


def puzzles_from_text(text: str) -> list[Puzzle]:
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
        found = section_grid(section.lines, label)
        if found is None:
            continue
        styles.append(found[1])
        if section.test:
            tests.append(found)
        elif section.role == "input":
            if pending is not None:
                raise BrokenPuzzleError(
                    f"Example {n} has an input grid but no output grid; every example needs "
                    "'Input:' and 'Output:' grids."
                )
            pending = found
        elif pending is None:
            raise BrokenPuzzleError(f"Example {n} has an output grid but no input grid before it.")
        else:
            examples.append((pending[0], found[0]))
            pending = None
    if pending is not None and tests:
        raise BrokenPuzzleError(
            f"Example {len(examples) + 1} has an input grid but no output grid."
        )
    if pending is not None:
        tests.append(pending)
    if not examples:
        raise PuzzleError(
            "No ARC demonstration examples found. Expected ARC task JSON "
            '{"train": [{"input": grid, "output": grid}], "test": [{"input": grid}]} or text '
            "blocks 'Example 1' / 'Input:' grid / 'Output:' grid, then 'Test input:' grid."
        )
    if not tests:
        raise BrokenPuzzleError(
            "The ARC task is missing its test input: after the examples, add 'Test input:' "
            "and the grid whose output you want."
        )
    return [
        Puzzle(kind="arc", grid=grid, examples=examples, style=_settled(style, styles))
        for grid, style in tests
    ]
