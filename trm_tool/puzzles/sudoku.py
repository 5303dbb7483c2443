"""Sudoku: reading grids from free-form text, answering in the same format, an exact solver,
augmentation, and a generator with difficulty tiers.

Grids are 9x9 lists of ints, 0 = blank, 1-9 digits. The model's tokens are fixed by the
shipped checkpoints: PAD=0, blank=1, digit d -> d + 1.

The exact solver (bitmask constraint propagation with naked and hidden singles, then
backtracking on the cell with the fewest candidates) labels data, proves uniqueness, rates
difficulty as the number of guesses beyond singles, and is the evals' classical baseline.
"""

from __future__ import annotations

import csv
import hashlib
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

import torch

from .base import SHARED_ENV, Grid, Puzzle, PuzzleError, require_text, shared_dir

NAME = "sudoku"
VOCAB_SIZE = 11
"""PAD=0, blank=1, digits 1..9 -> 2..10."""
TIERS = ("singles", "easy", "medium", "hard", "extreme", "deep")

FORMAT_HELP = (
    "Sudoku: 9x9 grid, digits 1-9, blanks as 0 . _ - * (or space). Accepted: one 81-character "
    "line; 9 lines of 9 cells (spaces, | separators, --- rule lines and box-drawing characters "
    "are fine); a JSON/Python 9x9 list (0 or null/None blank); 81 comma- or space-separated "
    "numbers. The grid may sit inside prose or a ``` code block."
)

Cells = list[int]
"""A grid flattened row-major to 81 ints, the solver's and parser's working form."""

# ---------------------------------------------------------------------------------------------
# Grid helpers


def _flat(grid: object) -> Cells | None:
    """The grid as 81 ints 0-9, or None when it is not a 9x9 grid of such ints."""
    if not isinstance(grid, list | tuple) or len(grid) != 9:
        return None
    cells: Cells = []
    for row in grid:
        if not isinstance(row, list | tuple) or len(row) != 9:
            return None
        for value in row:
            if type(value) is not int or not 0 <= value <= 9:
                return None
            cells.append(value)
    return cells


def _require_cells(grid: object) -> Cells:
    cells = _flat(grid)
    if cells is None:
        raise PuzzleError("Expected a 9x9 Sudoku grid: 9 lists of 9 ints, 0 = blank, 1-9 digits.")
    return cells


def _grid(cells: Cells) -> Grid:
    return [list(cells[r * 9 : r * 9 + 9]) for r in range(9)]


def to_line(grid: Grid, blank: str = ".") -> str:
    """The canonical 81-character form, row by row, `blank` for empty cells."""
    return "".join(str(d) if d else blank for d in _require_cells(grid))


def pretty(grid: Grid) -> str:
    """A human-readable grid with | between boxes and ------+-------+------ between bands."""
    cells = _require_cells(grid)
    lines = []
    for r in range(9):
        if r in (3, 6):
            lines.append("------+-------+------")
        groups = [
            " ".join(str(d) if d else "." for d in cells[r * 9 + c : r * 9 + c + 3])
            for c in (0, 3, 6)
        ]
        lines.append(" | ".join(groups))
    return "\n".join(lines)


_BOX_NAMES = (
    "top-left",
    "top-middle",
    "top-right",
    "middle-left",
    "centre",
    "middle-right",
    "bottom-left",
    "bottom-middle",
    "bottom-right",
)


def _unit_description(unit: int) -> str:
    """Rows, columns and boxes are numbered 1-9 for people; units 0-8, 9-17, 18-26 here."""
    kind, index = divmod(unit, 9)
    if kind == 0:
        return f"row {index + 1}"
    if kind == 1:
        return f"column {index + 1}"
    rows, cols = index // 3 * 3 + 1, index % 3 * 3 + 1
    return (
        f"box {index + 1} (the {_BOX_NAMES[index]} box, rows {rows}-{rows + 2}, "
        f"columns {cols}-{cols + 2})"
    )


def _conflict(cells: Cells) -> str | None:
    """A message naming the first digit given twice in one row, column or box, if any."""
    for u, unit in enumerate(_UNIT_CELLS):
        seen: dict[int, int] = {}
        for i in unit:
            d = cells[i]
            if not d:
                continue
            if d in seen:
                a, b = seen[d], i
                where = (
                    f"at row {a // 9 + 1} column {a % 9 + 1} "
                    f"and row {b // 9 + 1} column {b % 9 + 1}"
                )
                return f"digit {d} appears twice in {_unit_description(u)}, {where}"
            seen[d] = i
    return None


# ---------------------------------------------------------------------------------------------
# Exact solver
#
# A search state is one flat list of 108 ints: [0:81] the cell digits (0 = empty), then the
# used-digit bitmasks of the 9 rows, 9 columns and 9 boxes. One list makes a branch one slice.

_FULL = 0x1FF
_BIT = (0,) + tuple(1 << k for k in range(9))
_DIGIT_OF = {1 << k: k + 1 for k in range(9)}
_POPCOUNT = tuple(bin(m).count("1") for m in range(512))
_SLOTS = tuple((i, 81 + i // 9, 90 + i % 9, 99 + i // 27 * 3 + i % 9 // 3) for i in range(81))
"""For each cell: (index, row-mask slot, column-mask slot, box-mask slot) in the state."""
_UNIT_CELLS = tuple(
    tuple(i for i in range(81) if _SLOTS[i][kind] == 81 + unit)
    for kind, first in ((1, 0), (2, 9), (3, 18))
    for unit in range(first, first + 9)
)

Status = Literal["unique", "multiple", "none", "gave_up"]
DEFAULT_NODE_LIMIT = 200_000


@dataclass
class SolveReport:
    """What the exact solver found.

    solutions: up to `max_solutions` complete grids.
    status: "unique" (exactly one solution, proven), "multiple" (at least two), "none" (no
      solution), or "gave_up" (the node limit ran out first; `solutions` holds any found).
    guesses: search nodes where singles stalled and the solver had to branch; 0 means naked
      and hidden singles alone solve the puzzle. With max_solutions >= 2 the whole search tree
      of a unique puzzle is counted, which makes it a stable difficulty rating.
    nodes: propagation calls made, the work done.
    """

    solutions: list[Grid] = field(default_factory=list)
    status: Status = "none"
    guesses: int = 0
    nodes: int = 0


def _place(s: list[int], i: int, bit: int) -> None:
    _, r, c, b = _SLOTS[i]
    s[i] = _DIGIT_OF[bit]
    s[r] |= bit
    s[c] |= bit
    s[b] |= bit


def _state(cells: Cells) -> list[int] | None:
    """The search state of a grid, or None when two givens clash."""
    s = [0] * 108
    for i, r, c, b in _SLOTS:
        bit = _BIT[cells[i]]
        if bit:
            if (s[r] | s[c] | s[b]) & bit:
                return None
            _place(s, i, bit)
    return s


def _hidden_singles(s: list[int], cand: list[int]) -> int:
    """Place every digit that has one possible cell in some unit: 1 if any was placed, 0 if
    none, -1 on a contradiction (a digit with no cell, or one cell needed by two digits)."""
    full, slots, digit_of = _FULL, _SLOTS, _DIGIT_OF
    progress = 0
    for u, unit in enumerate(_UNIT_CELLS):
        used = s[81 + u]
        if used == full:
            continue
        once = twice = 0
        for i in unit:
            m = cand[i]
            twice |= once & m
            once |= m
        if once | used != full:
            return -1
        single = once & ~twice
        while single:
            bit = single & -single
            single ^= bit
            for i in unit:
                if cand[i] & bit:
                    break
            _, r, c, b = slots[i]
            if s[i] == digit_of[bit]:
                continue
            if s[i] or (s[r] | s[c] | s[b]) & bit:
                return -1
            s[i] = digit_of[bit]
            s[r] |= bit
            s[c] |= bit
            s[b] |= bit
            progress = 1
    return progress


def _propagate(s: list[int]) -> tuple[int, int]:
    """Apply naked and hidden singles to `s` in place until they stall.

    Returns (-1, 0) on a contradiction, (81, 0) when the grid is complete, else the empty
    cell with the fewest candidates and its candidate mask: where the search must guess.
    """
    full, popcount, digit_of = _FULL, _POPCOUNT, _DIGIT_OF
    empty = [slot for slot in _SLOTS if not s[slot[0]]]
    while True:
        best, best_mask, best_count = 81, 0, 10
        progress = False
        cand = [0] * 81
        for i, r, c, b in empty:
            m = full ^ (s[r] | s[c] | s[b])
            count = popcount[m]
            if count == 1:
                s[i] = digit_of[m]
                s[r] |= m
                s[c] |= m
                s[b] |= m
                progress = True
            elif count == 0:
                return -1, 0
            else:
                cand[i] = m
                if count < best_count:
                    best, best_mask, best_count = i, m, count
        if not progress:
            if best == 81:
                return 81, 0
            found = _hidden_singles(s, cand)
            if found <= 0:
                return (-1, 0) if found < 0 else (best, best_mask)
        empty = [slot for slot in empty if not s[slot[0]]]


def _search(
    s: list[int], max_solutions: int, node_limit: int, rng: random.Random | None = None
) -> tuple[list[Cells], int, int, bool]:
    """Depth-first search from state `s`: (solutions, guesses, nodes, gave_up).

    Candidates are tried in increasing order, or shuffled by `rng` (random full grids)."""
    stack = [s]
    solutions: list[Cells] = []
    guesses = nodes = 0
    while stack:
        if nodes >= node_limit:
            return solutions, guesses, nodes, True
        s = stack.pop()
        nodes += 1
        cell, mask = _propagate(s)
        if cell < 0:
            continue
        if cell == 81:
            solutions.append(s[:81])
            if len(solutions) >= max_solutions:
                break
            continue
        guesses += 1
        bits = [1 << k for k in range(8, -1, -1) if mask >> k & 1]
        if rng is not None:
            rng.shuffle(bits)
        for bit in bits:
            child = s[:]
            _place(child, cell, bit)
            stack.append(child)
    return solutions, guesses, nodes, False


def _solve_cells(cells: Cells, max_solutions: int, node_limit: int) -> SolveReport:
    s = _state(cells)
    if s is None:
        return SolveReport(status="none")
    found, guesses, nodes, gave_up = _search(s, max_solutions, node_limit)
    if gave_up:
        status: Status = "gave_up"
    elif not found:
        status = "none"
    else:
        status = "multiple" if len(found) >= 2 else "unique"
    return SolveReport([_grid(f) for f in found], status, guesses, nodes)


def solve_exact(
    grid: Grid, max_solutions: int = 2, node_limit: int = DEFAULT_NODE_LIMIT
) -> SolveReport:
    """Solve a grid exactly. With max_solutions=1 the search stops at the first solution (the
    fast baseline; status "unique" then means "solved", not proven unique); with 2 or more it
    goes on, so "unique" is a proof. PuzzleError if `grid` is not a 9x9 grid of ints 0-9."""
    if max_solutions < 1:
        raise PuzzleError("max_solutions must be at least 1.")
    return _solve_cells(_require_cells(grid), max_solutions, node_limit)


def difficulty(grid: Grid) -> int:
    """Guesses the exact solver needs beyond naked and hidden singles (0 = singles suffice),
    over the whole search tree, so the rating does not depend on lucky first guesses."""
    return solve_exact(grid, max_solutions=2).guesses


# ---------------------------------------------------------------------------------------------
# Reading text
#
# Every reader finds the 81 cells as character spans in the text. The text between the spans
# becomes the puzzle's style ("pieces"), so `render` writes an answer in exactly the input's
# layout by putting new symbols into the same spans.

_CELL_CLASS = r"0-9._*\-"
_SEP_CLASS = r" \t\r\f\v,;|\u00a6\u2500-\u257f"
"""Characters allowed between cells on a grid line: spaces, commas, bars, box drawing."""
_ROW_LINE = re.compile(f"[{_CELL_CLASS}{_SEP_CLASS}]*")
_RULE_LINE = re.compile(r"[\-=+|:~_ \t\r\f\v\u2500-\u257f]*")
_CELL = re.compile(f"[{_CELL_CLASS}]")
_TOKEN = re.compile(f"[{_CELL_CLASS}]+")
_PROSE_MARK = re.compile(r"[\-_.*]{1,3}")
_FIXED_ROW = re.compile(f"[{_CELL_CLASS} ]{{9}}")
_FIXED_LINE = re.compile(f"[{_CELL_CLASS} ]{{81}}")
_RUN = re.compile(f"[{_CELL_CLASS}](?:[ \\t,;|]*[{_CELL_CLASS}])*")
_KNOWN_CHARS = re.compile(f"[{_CELL_CLASS}{_SEP_CLASS}\\-=+:~\\[\\](){{}}\"'\\n]+")
_BLANK_SYMBOLS = "0._-* "
_CELL_SYMBOLS = frozenset("123456789" + _BLANK_SYMBOLS)
_MAX_LIST_STARTS = 100
_MAX_LIST_TOKENS = 400
_PARSE_NODE_LIMIT = 2_000
_MAX_ANSWER_GRIDS = 20


@dataclass
class _Found:
    """A grid located in the text: its cells, their spans, and how to write blanks there."""

    fmt: str
    cells: Cells
    spans: list[tuple[int, int]]
    start: int
    end: int
    blanks: list[str]


@dataclass
class _Miss:
    """Why a reader found no grid; `weight` (cells it did find) ranks competing reasons."""

    weight: int
    reason: str
    from_list: bool = False


_DEFINITE = 10_000
"""Weight of a miss that names a bad value: it outranks any cell count."""


def _cell_value(symbol: str) -> int:
    return 0 if symbol in _BLANK_SYMBOLS else int(symbol)


def _found_from_chars(fmt: str, text: str, positions: list[int], start: int, end: int) -> _Found:
    """A grid whose cells are single characters at `positions` of `text`. Blanks are written
    with the input's first blank symbol other than space (callers mark where spaces go)."""
    symbols = [text[p] for p in positions]
    blank = next((s for s in symbols if s != " " and _cell_value(s) == 0), ".")
    return _Found(
        fmt=fmt,
        cells=[_cell_value(s) for s in symbols],
        spans=[(p, p + 1) for p in positions],
        start=start,
        end=end,
        blanks=[blank] * 81,
    )


# --- JSON / Python lists ---

_LIST_TOKEN = re.compile(
    r"""[ \t\r\n]*(?:(?P<open>\[)|(?P<close>\])|(?P<comma>,)|(?P<num>-?[0-9]+)"""
    r"""|(?P<null>null|None)|(?P<str>"[^"\\\n]{0,81}"|'[^'\\\n]{0,81}')|(?P<sym>[._*\-]))"""
)
_BETWEEN_ROWS = re.compile(r"[ \t\r\n,]*")


@dataclass
class _Item:
    """A scalar in a list: kind is num, null, str (quoted) or sym (a bare blank symbol)."""

    kind: str
    start: int
    end: int
    text: str


@dataclass
class _ListCell:
    """One cell read from a list; context says how a blank is written there: bare (0, null),
    quoted ("" or "."), or char (inside a string of several cells)."""

    symbol: str
    start: int
    end: int
    context: str


def _read_list(text: str, start: int) -> tuple[list | None, int]:
    """The nested list (at most 4 deep) starting at text[start] == "[", and where it ends;
    (None, position) when the text there is not such a list."""
    stack: list[list] = [[]]
    pos = start + 1
    for _ in range(_MAX_LIST_TOKENS):
        m = _LIST_TOKEN.match(text, pos)
        if m is None:
            return None, pos
        pos = m.end()
        kind = m.lastgroup
        if kind == "open":
            if len(stack) >= 4:
                return None, pos
            stack[-1].append([])
            stack.append(stack[-1][-1])
        elif kind == "close":
            done = stack.pop()
            if not stack:
                return done, pos
        elif kind != "comma":
            stack[-1].append(_Item(kind, m.start(kind), m.end(kind), m.group(kind)))
    return None, pos


def _item_cells(item: object) -> list[_ListCell] | None:
    """A list element as cells: one for a number, null or short string, 9 or 81 for a string
    of cell characters; None for anything else."""
    if not isinstance(item, _Item):
        return None
    if item.kind != "str":
        symbol = "0" if item.kind == "null" else item.text
        return [_ListCell(symbol, item.start, item.end, "bare")]
    inner, first = item.text[1:-1], item.start + 1
    if len(inner) <= 1:
        return [_ListCell(inner or " ", first, first + len(inner), "quoted")]
    if len(inner) in (9, 81) and all(ch in _CELL_SYMBOLS for ch in inner):
        return [_ListCell(ch, first + k, first + k + 1, "char") for k, ch in enumerate(inner)]
    return None


def _list_rows(value: list) -> list[list] | None:
    """The rows of a list that could be a grid: its sublists, or itself as one flat row."""
    while len(value) == 1 and isinstance(value[0], list):
        value = value[0]
    if len(value) >= 2 and all(isinstance(item, list) for item in value):
        return value
    if all(isinstance(item, _Item) for item in value):
        return [value]
    return None


def _list_cells(rows: list[list]) -> list[_ListCell] | _Miss:
    """All cells of the rows, or why they do not make a 9x9 grid."""
    if len(rows) not in (1, 9):
        return _Miss(9 * len(rows), f"the list has {len(rows)} rows, expected 9", True)
    cells: list[_ListCell] = []
    for r, row in enumerate(rows):
        row_cells: list[_ListCell] = []
        for item in row:
            parts = _item_cells(item)
            if parts is None:
                shown = repr(item.text[:12]) if isinstance(item, _Item) else "a nested list"
                return _Miss(81, f"row {r + 1} of the list holds {shown}, not a cell", True)
            row_cells.extend(parts)
        if len(rows) == 9 and len(row_cells) != 9:
            reason = f"row {r + 1} of the list has {len(row_cells)} cells, expected 9"
            return _Miss(81, reason, True)
        cells.extend(row_cells)
    if len(cells) == 81:
        return cells
    return _Miss(len(cells), f"found {len(cells)} cells in the list, expected 81", True)


def _list_found(text: str, cells: list[_ListCell], start: int, end: int) -> _Found | _Miss:
    for k, cell in enumerate(cells):
        if cell.symbol not in _CELL_SYMBOLS:
            return _Miss(
                _DEFINITE,
                f"the value {cell.symbol[:12]!r} at row {k // 9 + 1}, column {k % 9 + 1} is out "
                "of range: each cell must be a digit 1-9, or 0 / null for a blank",
                True,
            )
    written = {"bare": "0", "quoted": ".", "char": "."}
    for cell in reversed(cells):
        if _cell_value(cell.symbol) == 0:
            written[cell.context] = text[cell.start : cell.end]
    return _Found(
        fmt="json",
        cells=[_cell_value(cell.symbol) for cell in cells],
        spans=[(cell.start, cell.end) for cell in cells],
        start=start,
        end=end,
        blanks=[written[cell.context] for cell in cells],
    )


def _row_lists(text: str, start: int) -> tuple[list[list], int]:
    """Up to 9 flat lists one after another, like "[5, 3, ...], [6, 0, ...]": rows written
    without an enclosing list. Returns the rows and where the last one ends."""
    rows: list[list] = []
    pos = end = start
    while len(rows) < 9 and text.startswith("[", pos):
        value, after = _read_list(text, pos)
        if value is None or not all(isinstance(item, _Item) for item in value):
            break
        rows.append(value)
        end = after
        pos = _BETWEEN_ROWS.match(text, after).end()
    return rows, end


def _read_json(text: str) -> _Found | _Miss | None:
    """A grid written as a JSON or Python list (nested, flat, or rows one after another)."""
    best: _Miss | None = None
    pos = 0
    for _ in range(_MAX_LIST_STARTS):
        start = text.find("[", pos)
        if start < 0:
            break
        pos = start + 1
        value, end = _read_list(text, start)
        rows = _list_rows(value) if value is not None else None
        if rows is not None and len(rows) == 1 and len(rows[0]) == 9:
            rows, end = _row_lists(text, start)
        if rows is None:
            continue
        cells = _list_cells(rows)
        result = _list_found(text, cells, start, end) if isinstance(cells, list) else cells
        if isinstance(result, _Found):
            return result
        if result.weight >= 20 and (best is None or result.weight > best.weight):
            best = result
    return best


# --- lines of cells ---


@dataclass
class _Line:
    kind: str  # "row", "rule", "empty" or "other"
    start: int
    end: int
    cells: list[int] = field(default_factory=list)
    fixed: bool = False  # spaces are blanks: exactly 9 characters, one per cell
    dashes: bool = False  # every cell is "-" (or "_"): could be a rule line


def _classify(text: str, start: int, end: int) -> _Line:
    line = text[start:end]
    body = line[:-1] if line.endswith("\r") else line
    if _ROW_LINE.fullmatch(body):
        cells = [(m.start(), m.group()) for m in _CELL.finditer(body)]
        if len(body) == 9 and 0 < len(cells) < 9 and _FIXED_ROW.fullmatch(body):
            return _Line("row", start, end, list(range(start, start + 9)), fixed=True)
        if not cells:
            return _Line("empty" if not body.strip() else "rule", start, end)
        dashes = {symbol for _, symbol in cells} in ({"-"}, {"_"})
        if not (dashes and len(cells) != 9):
            return _Line("row", start, end, [start + p for p, _ in cells], dashes=dashes)
    if not body.strip():
        return _Line("empty", start, end)
    if _RULE_LINE.fullmatch(body):
        return _Line("rule", start, end)
    return _Line("other", start, end)


def _lines(text: str) -> Iterator[_Line]:
    start = 0
    while start <= len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        yield _classify(text, start, end)
        start = end + 1


def _blocks(text: str) -> Iterator[tuple[_Line | None, list[_Line]]]:
    """Runs of consecutive grid-like lines (rows, rules, empty lines) holding a row, each with
    the prose line just before it (which may end with the grid's first row)."""
    lead: _Line | None = None
    block: list[_Line] = []
    for line in _lines(text):
        if line.kind != "other":
            block.append(line)
            continue
        if any(b.kind == "row" for b in block):
            yield lead, block
        lead, block = line, []
    if any(b.kind == "row" for b in block):
        yield lead, block


def _lead_row(text: str, line: _Line) -> _Line | None:
    """A first row written after prose on the same line ("Solve this: 53..7...."): the
    longest tail of the line, cut after a space or colon, that reads as a row of 9 cells."""
    for start in range(line.start + 1, line.end):
        if text[start - 1] in " :\t" and not text[start].isspace():
            tail = _classify(text, start, line.end)
            if tail.kind == "row" and len(tail.cells) == 9:
                return tail
    return None


def _rows_with_spaces(text: str, block: list[_Line]) -> list[_Line]:
    """The rows of a block. Where rows use spaces as blanks, a line of 9 spaces is a row too."""
    if not any(line.fixed for line in block):
        return [line for line in block if line.kind == "row"]
    rows = []
    for line in block:
        if line.kind == "empty" and text[line.start : line.end].rstrip("\r") == " " * 9:
            line = _Line("row", line.start, line.end, list(range(line.start, line.start + 9)), True)
        if line.kind == "row":
            rows.append(line)
    return rows


def _read_block(text: str, block: list[_Line], lead: _Line | None = None) -> _Found | _Miss:
    rows = _rows_with_spaces(text, block)
    for chosen in (rows, [r for r in rows if not r.dashes], _nine_row_run(rows)):
        if chosen and sum(len(r.cells) for r in chosen) == 81:
            return _block_found(text, block, chosen)
    head = _lead_row(text, lead) if lead is not None else None
    if head is not None and 9 + sum(len(r.cells) for r in rows) == 81:
        return _block_found(text, [head, *block], [head, *rows])
    total = sum(len(r.cells) for r in rows)
    lines = f" in {len(rows)} lines" if len(rows) > 1 else ""
    reason = f"found {total} cells{lines}, expected 81 (9 rows of 9)"
    if len(rows) == 9:
        bad = [
            f"row {k + 1} has {len(r.cells)} cells" for k, r in enumerate(rows) if len(r.cells) != 9
        ]
        reason += ": " + ", ".join(bad[:3])
    return _Miss(total, reason)


def _nine_row_run(rows: list[_Line]) -> list[_Line]:
    """The first run of exactly 9 consecutive 9-cell rows, if any (stray lines around it)."""
    run: list[_Line] = []
    for row in [*rows, None]:
        if row is not None and len(row.cells) == 9:
            run.append(row)
            continue
        if len(run) == 9:
            return run
        run = []
    return []


def _block_found(text: str, block: list[_Line], rows: list[_Line]) -> _Found:
    """The grid in `rows`, its region widened to the rule lines that frame it."""
    starts = [line.start for line in block]
    first, last = starts.index(rows[0].start), starts.index(rows[-1].start)
    while first > 0 and block[first - 1].kind == "rule":
        first -= 1
    while last + 1 < len(block) and block[last + 1].kind == "rule":
        last += 1
    positions = [p for row in rows for p in row.cells]
    fmt = "line" if len(rows) == 1 else "rows"
    found = _found_from_chars(fmt, text, positions, block[first].start, block[last].end)
    blank = found.blanks[0]
    found.blanks = [" " if row.fixed else blank for row in rows for _ in row.cells]
    return found


def _read_lines(text: str) -> _Found | _Miss | None:
    best: _Miss | None = None
    for lead, block in _blocks(text):
        result = _read_block(text, block, lead)
        if isinstance(result, _Found):
            return result
        if best is None or result.weight > best.weight:
            best = result
    return best


# --- cells inside a line of prose, and lines with spaces as blanks ---


def _run_tokens(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The spans of cell characters in a run, without dashes or dots at either end that only
    punctuate the prose around the grid ("the grid is: 53..7.... - thanks")."""
    tokens = [(t.start(), t.end()) for t in _TOKEN.finditer(text, start, end)]
    count = sum(e - s for s, e in tokens)
    for end_index in (0, -1):
        while count > 81 and _PROSE_MARK.fullmatch(text, *tokens[end_index]):
            s, e = tokens.pop(end_index)
            count -= e - s
    return tokens


def _read_runs(text: str) -> _Found | _Miss | None:
    """81 cells in one stretch of a line: "53..7....6..." or "5,3,0,0,7,..." amid prose."""
    best: _Miss | None = None
    for m in _RUN.finditer(text):
        tokens = _run_tokens(text, m.start(), m.end())
        positions = [p for s, e in tokens for p in range(s, e)]
        if len(positions) == 81:
            return _found_from_chars("line", text, positions, tokens[0][0], tokens[-1][1])
        if len(positions) < 10:
            continue
        miss = _Miss(len(positions), f"found {len(positions)} cells, expected 81")
        run = m.group()
        if "," in run:
            items = [item.strip() for item in run.split(",")]
            wide = next((k for k, item in enumerate(items) if len(item) > 1), None)
            if wide is not None:
                miss = _Miss(
                    _DEFINITE,
                    f"item {wide + 1} of the list, {items[wide][:12]!r}, is out of range: "
                    "each cell must be one digit 1-9 or a blank (0 . _ - *)",
                )
        if best is None or miss.weight > best.weight:
            best = miss
    return best


def _read_fixed_line(text: str) -> _Found | None:
    """A line of exactly 81 characters where spaces are blanks."""
    start = 0
    for line in text.split("\n"):
        body = line[:-1] if line.endswith("\r") else line
        if len(body) == 81 and _FIXED_LINE.fullmatch(body):
            positions = list(range(start, start + 81))
            found = _found_from_chars("line", text, positions, start, start + 81)
            found.blanks = [" "] * 81
            return found
        start += len(line) + 1
    return None


# --- putting it together ---


def _junk_hint(text: str) -> str | None:
    """Name a stray character on a line that is otherwise a run of cells (a likely typo)."""
    for number, line in enumerate(text.split("\n", 200)[:200], start=1):
        junk = _KNOWN_CHARS.sub("", line)
        if 0 < len(junk) <= 2 and len(_CELL.findall(line)) >= 5:
            return (
                f"line {number} contains {junk[0]!r}, which is not a digit 1-9 or a blank "
                "symbol (0 . _ - * or space)"
            )
    return None


def _locate(text: str) -> _Found:
    """Find the grid with the first reader that succeeds, or explain why there is none: a
    malformed list first, then a stray character, then the reader that found most cells."""
    misses: list[_Miss] = []
    for reader in (_read_json, _read_lines, _read_runs, _read_fixed_line):
        result = reader(text)
        if isinstance(result, _Found):
            return result
        if result is not None:
            misses.append(result)
    list_miss = next((m.reason for m in misses if m.from_list), None)
    best = max(misses, key=lambda m: m.weight, default=None)
    reason = list_miss or _junk_hint(text) or (best.reason if best and best.weight >= 10 else None)
    if reason is None:
        raise PuzzleError(f"No Sudoku grid found in the text. {FORMAT_HELP}")
    raise PuzzleError(f"Could not read the Sudoku grid: {reason}. {FORMAT_HELP}")


def _style(text: str, found: _Found) -> dict[str, Any]:
    """How to write a grid back in this input's layout: the text around and between cells."""
    bounds = [found.start] + [p for span in found.spans for p in span] + [found.end]
    pieces = [text[bounds[k] : bounds[k + 1]] for k in range(0, len(bounds), 2)]
    return {"format": found.fmt, "pieces": pieces, "blanks": found.blanks}


def parse(text: str) -> Puzzle:
    """Read a Sudoku from text in any supported format (see FORMAT_HELP).

    PuzzleError, with what is wrong and what is expected, for anything that is not a
    consistent 9x9 puzzle: wrong cell count, bad symbols, repeated givens, no solution."""
    text = require_text(text, "Sudoku puzzle")
    found = _locate(text)
    clash = _conflict(found.cells)
    if clash:
        raise PuzzleError(
            f"The Sudoku breaks the rules: {clash}. Each digit may appear once per row, "
            "column and 3x3 box; check the grid was copied correctly."
        )
    report = _solve_cells(found.cells, 1, _PARSE_NODE_LIMIT)
    if report.status == "none":
        raise PuzzleError(
            "The Sudoku has no solution: its givens contradict each other (checked by an exact "
            "solver), though no digit repeats directly. Check the grid was copied correctly."
        )
    return Puzzle(kind=NAME, grid=_grid(found.cells), style=_style(text, found))


# ---------------------------------------------------------------------------------------------
# Writing answers


def render(puzzle: Puzzle, grid: Grid) -> str:
    """Write `grid` in the puzzle's input layout; a pretty grid when the layout is unknown."""
    cells = _require_cells(grid)
    pieces, blanks = puzzle.style.get("pieces"), puzzle.style.get("blanks")
    if not _is_strings(pieces, 82) or not _is_strings(blanks, 81):
        return pretty(grid)
    out = [pieces[0]]
    for d, blank, piece in zip(cells, blanks, pieces[1:]):
        out.append(str(d) if d else blank)
        out.append(piece)
    return "".join(out)


def _is_strings(value: object, n: int) -> bool:
    return isinstance(value, list) and len(value) == n and all(isinstance(v, str) for v in value)


def _line_style() -> dict[str, Any]:
    return {"format": "line", "pieces": [""] * 82, "blanks": ["."] * 81}


def verify(puzzle: Puzzle, grid: Grid) -> bool:
    """True iff `grid` is a completed, valid Sudoku that keeps every given of `puzzle`.
    Never raises: anything malformed is simply not a solution."""
    cells, givens = _flat(grid), _flat(getattr(puzzle, "grid", None))
    if cells is None or givens is None or 0 in cells:
        return False
    if any(g and g != c for g, c in zip(givens, cells)):
        return False
    return all(len({cells[i] for i in unit}) == 9 for unit in _UNIT_CELLS)


# ---------------------------------------------------------------------------------------------
# Tokens


def encode(grid: Grid) -> torch.Tensor:
    """A grid as a [9, 9] int64 tensor of token ids: blank -> 1, digit d -> d + 1."""
    cells = _require_cells(grid)
    return torch.tensor([d + 1 for d in cells], dtype=torch.int64).reshape(9, 9)


def decode(tokens: torch.Tensor) -> Grid:
    """Token ids back to a grid; anything but a digit token (2-10) becomes a blank."""
    if tokens.numel() != 81:
        raise PuzzleError(
            f"Expected 81 Sudoku tokens, got a tensor of shape {tuple(tokens.shape)}."
        )
    ids = tokens.reshape(81).to(torch.int64).tolist()
    return _grid([t - 1 if 2 <= t <= 10 else 0 for t in ids])


# ---------------------------------------------------------------------------------------------
# Augmentation and canonical keys


@dataclass(frozen=True)
class SudokuAugmentation:
    """A symmetry of Sudoku: relabel digits, reorder rows (bands, rows within a band) and
    columns (stacks, columns within a stack), then optionally transpose.

    digits[d] is the new label of digit d (digits[0] == 0); output row i is input row rows[i],
    output column j is input column cols[j]."""

    digits: tuple[int, ...]
    rows: tuple[int, ...]
    cols: tuple[int, ...]
    transpose: bool

    def apply(self, grid: Grid) -> Grid:
        out = [[self.digits[grid[r][c]] for c in self.cols] for r in self.rows]
        return [list(col) for col in zip(*out)] if self.transpose else out

    def invert(self, grid: Grid) -> Grid:
        if self.transpose:
            grid = [list(col) for col in zip(*grid)]
        relabel = [0] * 10
        for d, new in enumerate(self.digits):
            relabel[new] = d
        out = [[0] * 9 for _ in range(9)]
        for i, r in enumerate(self.rows):
            for j, c in enumerate(self.cols):
                out[r][c] = relabel[grid[i][j]]
        return out


def _line_order(rng: random.Random) -> tuple[int, ...]:
    """A random order of 9 rows (or columns) that keeps each band (stack) together."""
    bands = rng.sample(range(3), 3)
    return tuple(3 * band + k for band in bands for k in rng.sample(range(3), 3))


def random_augmentation(rng: random.Random) -> SudokuAugmentation:
    """A uniformly random element of the Sudoku symmetry group used for data and voting."""
    digits = (0, *rng.sample(range(1, 10), 9))
    return SudokuAugmentation(digits, _line_order(rng), _line_order(rng), rng.random() < 0.5)


def _digit_fingerprints(cells: Cells) -> list[int]:
    """For each digit, how often it shares a mini-row (a row's three cells in one box) and a
    mini-column with each other digit. Complete grids look alike to colour refinement alone;
    these counts tell them apart, and reordering lines within a band or stack keeps them."""
    together = [[[0, 0] for _ in range(10)] for _ in range(10)]
    for line in range(9):
        for third in range(3):
            mini_row = [cells[line * 9 + third * 3 + k] for k in range(3)]
            mini_col = [cells[(third * 3 + k) * 9 + line] for k in range(3)]
            for axis, triple in enumerate((mini_row, mini_col)):
                for a in triple:
                    for b in triple:
                        together[a][b][axis] += 1
    return [0] + [
        hash(tuple(sorted(tuple(together[d][e]) for e in range(1, 10) if e != d)))
        for d in range(1, 10)
    ]


def _refined_colours(cells: Cells, rounds: int = 3) -> list[int]:
    """Colour refinement of the grid's structure, blind to the names of digits, rows, columns,
    bands and stacks, so equal for grids that differ by relabelling and reordering."""
    by_digit = [[i for i in range(81) if cells[i] == d] for d in range(10)]
    digit_colour = _digit_fingerprints(cells)
    cell_colour = [1 if d else 0 for d in cells]
    row_colour, col_colour = [0] * 9, [0] * 9
    band_colour, stack_colour = [0] * 3, [0] * 3
    for _ in range(rounds):
        cell_colour = [
            hash((cell_colour[i], row_colour[i // 9], col_colour[i % 9], digit_colour[cells[i]]))
            for i in range(81)
        ]
        row_colour = [
            hash((band_colour[r // 3], tuple(sorted(cell_colour[r * 9 : r * 9 + 9]))))
            for r in range(9)
        ]
        col_colour = [
            hash((stack_colour[c // 3], tuple(sorted(cell_colour[c::9])))) for c in range(9)
        ]
        band_colour = [hash(tuple(sorted(row_colour[3 * b : 3 * b + 3]))) for b in range(3)]
        stack_colour = [hash(tuple(sorted(col_colour[3 * s : 3 * s + 3]))) for s in range(3)]
        digit_colour = [0] + [
            hash(tuple(sorted(cell_colour[i] for i in where))) for where in by_digit[1:]
        ]
    return sorted(cell_colour) + sorted(row_colour) + sorted(col_colour) + sorted(digit_colour)


def canonical_key(grid: Grid) -> str:
    """A key equal for grids related by any augmentation (digit relabelling, band/stack and
    row/column-within permutations, transposition), for deduplicating held-out data.

    Made by colour refinement rather than a true canonical form, so it is fast (about a
    millisecond). Unrelated grids could in principle share a key, which at worst drops a
    training puzzle. Only ints are hashed, so keys are the same in every process."""
    cells = _require_cells(grid)
    transposed = [cells[c * 9 + r] for r in range(9) for c in range(9)]
    colours = min(_refined_colours(cells), _refined_colours(transposed))
    return hashlib.blake2b(repr(colours).encode(), digest_size=16).hexdigest()


# ---------------------------------------------------------------------------------------------
# Generator


@dataclass(frozen=True)
class _Tier:
    """How to make puzzles of one difficulty: carve cells away from a random solution while
    singles alone still solve the puzzle (or merely while it stays unique), down to a target
    count of givens, then keep it if its `difficulty` is in range."""

    singles_only: bool
    givens: tuple[int, int]  # stop at a random count in this range; (0, 0) carves to minimal
    guesses: tuple[int, int]


DEEP_GUESSES = 8
"""Guesses that make a puzzle deep: about the hardest fifth of random minimal puzzles (3+
guesses), ~125 ms each to find; public hard collections (magictour top1465) need far more."""
_TIER_RULES = {
    "singles": _Tier(singles_only=True, givens=(36, 45), guesses=(0, 0)),
    "easy": _Tier(singles_only=True, givens=(28, 35), guesses=(0, 0)),
    "medium": _Tier(singles_only=True, givens=(0, 0), guesses=(0, 0)),
    "hard": _Tier(singles_only=False, givens=(0, 0), guesses=(1, 2)),
    "extreme": _Tier(singles_only=False, givens=(0, 0), guesses=(3, 10**9)),
    "deep": _Tier(singles_only=False, givens=(0, 0), guesses=(DEEP_GUESSES, 10**9)),
}
_CARVE_NODE_LIMIT = 2_000
_CARVES_PER_SOLUTION = 8
"""Puzzles tried from one solution grid before drawing a new one; the witnesses found while
carving it make later carvings of the same grid cheaper."""


def _random_solution(rng: random.Random) -> Cells:
    """A random complete grid: three independent diagonal boxes, then a randomised search."""
    cells = [0] * 81
    for box in (0, 4, 8):
        top, left = box // 3 * 3, box % 3 * 3
        for k, d in enumerate(rng.sample(range(1, 10), 9)):
            cells[(top + k // 3) * 9 + left + k % 3] = d
    s = _state(cells)
    assert s is not None
    solutions, *_ = _search(s, 1, DEFAULT_NODE_LIMIT, rng)
    return solutions[0]


class _Unavoidable:
    """Sets of cells of one solution grid that a unique puzzle must keep a given in: where
    another valid grid differs from it. Each is filed under every cell it contains."""

    def __init__(self) -> None:
        self.by_cell: list[list[int]] = [[] for _ in range(81)]

    def add(self, solution: Cells, other: Cells) -> None:
        cells = [i for i in range(81) if solution[i] != other[i]]
        mask = sum(1 << i for i in cells)
        for i in cells:
            self.by_cell[i].append(mask)

    def needs(self, i: int, givens: int) -> bool:
        """Whether cell i is the last given of a known set (so it cannot be blanked)."""
        bit = 1 << i
        return any(mask & givens == bit for mask in self.by_cell[i])


def _other_solution(s: list[int], i: int, removed: int) -> Cells | None:
    """A solution of state `s` (cell i just emptied of `removed`) with another digit at i, or
    None if there is none. A search that runs out of nodes counts as a solution: []."""
    _, r, c, b = _SLOTS[i]
    others = _FULL ^ (s[r] | s[c] | s[b]) ^ _BIT[removed]
    while others:
        bit = others & -others
        others ^= bit
        trial = s[:]
        _place(trial, i, bit)
        found, _, _, gave_up = _search(trial, 1, _CARVE_NODE_LIMIT)
        if found or gave_up:
            return found[0] if found else []
    return None


def _solved_by_singles(s: list[int]) -> bool:
    return _propagate(s[:])[0] == 81


def _carve(solution: Cells, rng: random.Random, rule: _Tier, known: _Unavoidable) -> Cells:
    """Blank cells of `solution` in random order while the puzzle stays unique (or solvable
    by singles), down to the tier's target count of givens."""
    s = _state(solution)
    assert s is not None
    target = rng.randint(*rule.givens)
    givens, count = (1 << 81) - 1, 81
    for i in rng.sample(range(81), 81):
        if count <= target:
            break
        if known.needs(i, givens):
            continue
        d = s[i]
        bit = _BIT[d]
        _, r, c, b = _SLOTS[i]
        trial = s[:]
        trial[i] = 0
        trial[r] ^= bit
        trial[c] ^= bit
        trial[b] ^= bit
        if rule.singles_only:
            keep = _solved_by_singles(trial)
        else:
            other = _other_solution(trial, i, d)
            if other:
                known.add(solution, other)
            keep = other is None
        if keep:
            s = trial
            givens ^= 1 << i
            count -= 1
    return s[:81]


def generate(rng: random.Random, tier: str) -> tuple[Puzzle, Grid]:
    """A fresh puzzle with a unique solution, of difficulty `tier`, and its solution.

    singles: 36-45 givens, easy: 28-35, medium: as few as singles allow (about 22-28); all
    three are solved by naked and hidden singles alone. hard: 1-2 guesses, extreme: 3 or more,
    deep: DEEP_GUESSES or more (see `difficulty`), all minimal (no given can be removed).
    The SPARSE_TIERS are drawn from Royle's 17-given collection instead (`sparse_puzzle`).
    Deterministic given `rng`."""
    if tier in SPARSE_TIERS:
        return sparse_puzzle(rng, tier)
    rule = _TIER_RULES.get(tier)
    if rule is None:
        known = ", ".join(TIERS + SPARSE_TIERS)
        raise PuzzleError(f"Unknown Sudoku tier {tier!r}; expected one of: {known}.")
    low, high = rule.guesses
    while True:
        solution = _random_solution(rng)
        known = _Unavoidable()
        for _ in range(_CARVES_PER_SOLUTION):
            puzzle = _carve(solution, rng, rule, known)
            report = _solve_cells(puzzle, 2, DEFAULT_NODE_LIMIT)
            if report.status == "unique" and low <= report.guesses <= high:
                return Puzzle(kind=NAME, grid=_grid(puzzle)), _grid(solution)


# ---------------------------------------------------------------------------------------------
# Sparse puzzles: Royle's 17-given collection (training material in ../shared/data)


SPARSE_TIERS = ("royle17", "sparse", "royle17-validation", "sparse-validation")
"""royle17: a 17-given puzzle of the collection's training part; sparse: the same plus 1-13
cells of its own solution (18-30 givens, still unique); the -validation tiers draw the same
from the held-out part, which training never sees. Every draw is seen under a random Sudoku
symmetry."""
ROYLE17_FILE = "data/sudoku/royle17.txt"
MAGICTOUR_FILE = "benchmarks/sudoku/magictour_top1465.txt"
ROYLE17_VALIDATION_EVERY = 25
"""One puzzle in 25 (by a hash of its line) is validation: about 1,960 of 49,091."""
_SPARSE_EXTRA_GIVENS = (1, 13)


def _is_validation_line(line: str) -> bool:
    digest = hashlib.blake2b(line.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % ROYLE17_VALIDATION_EVERY == 0


def _read_lines(relative: str) -> list[str]:
    path = shared_dir() / relative
    if not path.is_file():
        raise PuzzleError(
            f"{path} is missing: sparse Sudoku tiers read the shared folder beside the checkout "
            f"(or ${SHARED_ENV})."
        )
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@cache
def royle17_split() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(training, validation) lines of royle17.txt, split by a hash of each line."""
    lines = _read_lines(ROYLE17_FILE)
    training = tuple(line for line in lines if not _is_validation_line(line))
    validation = tuple(line for line in lines if _is_validation_line(line))
    return training, validation


@cache
def forbidden_keys() -> frozenset[str]:
    """Canonical keys no training draw may have: the validation part and magictour (a test
    set). Keys are equal under every Sudoku symmetry, so no relabelled copy slips through."""
    _, validation = royle17_split()
    lines = list(validation) + _read_lines(MAGICTOUR_FILE)
    return frozenset(canonical_key(_grid([_cell_value(ch) for ch in line])) for line in lines)


def sparse_puzzle(rng: random.Random, tier: str) -> tuple[Puzzle, Grid]:
    """A puzzle of one of the SPARSE_TIERS and its solution (see SPARSE_TIERS)."""
    training, validation = royle17_split()
    held_out = tier.endswith("-validation")
    lines = validation if held_out else training
    while True:
        cells = [_cell_value(ch) for ch in rng.choice(lines)]
        report = _solve_cells(cells, 1, DEFAULT_NODE_LIMIT)
        if not report.solutions:
            continue
        solution = report.solutions[0]
        if tier.startswith("sparse"):
            blanks = [i for i in range(81) if cells[i] == 0]
            for i in rng.sample(blanks, rng.randint(*_SPARSE_EXTRA_GIVENS)):
                cells[i] = solution[i]
        if not held_out and canonical_key(_grid(cells)) in forbidden_keys():
            continue
        augmentation = random_augmentation(rng)
        puzzle = Puzzle(kind=NAME, grid=augmentation.apply(_grid(cells)))
        return puzzle, augmentation.apply(_grid(solution))


# ---------------------------------------------------------------------------------------------
# Data files


def _line_cells(line: str, what: str, row: int) -> Cells:
    line = line.strip()
    if len(line) != 81 or any(ch not in "123456789" + _BLANK_SYMBOLS for ch in line):
        raise PuzzleError(
            f"CSV row {row}: the {what} must be 81 characters of digits and blanks (. or 0)."
        )
    return [_cell_value(ch) for ch in line]


def read_csv(path: str | Path) -> Iterator[tuple[Puzzle, Grid]]:
    """Puzzles and solutions from a Sudoku-Extreme style CSV (source,question,answer,rating)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"question", "answer"} - set(reader.fieldnames or ())
        if missing:
            raise PuzzleError(f"{path}: the CSV lacks the column(s) {', '.join(sorted(missing))}.")
        for row_number, row in enumerate(reader, start=2):
            question = _line_cells(row["question"] or "", "question", row_number)
            answer = _line_cells(row["answer"] or "", "answer", row_number)
            puzzle = Puzzle(kind=NAME, grid=_grid(question), style=_line_style())
            yield puzzle, _grid(answer)


# ---------------------------------------------------------------------------------------------
# The puzzle kind and its protocol extras


def question_text(puzzle: Puzzle) -> str:
    """The puzzle as one would show it to an LLM: a pretty grid with box separators."""
    return pretty(puzzle.grid)


def read_answer(puzzle: Puzzle, text: str) -> Grid:
    """The solution grid in free text such as an LLM's reply: the last complete grid in it
    (the reply may repeat the question first), else the last grid; PuzzleError if none.
    The grid is not checked against the rules here; `verify` judges it."""
    text = require_text(text, "Sudoku answer")
    grids: list[Cells] = []
    pos = 0
    while pos < len(text) and len(grids) < _MAX_ANSWER_GRIDS:
        try:
            found = _locate(text[pos:])
        except PuzzleError:
            break
        grids.append(found.cells)
        pos += found.end
    if not grids:
        raise PuzzleError(f"No 9x9 Sudoku grid found in the answer. {FORMAT_HELP}")
    complete = [cells for cells in grids if 0 not in cells]
    return _grid((complete or grids)[-1])


def exact_solution(puzzle: Puzzle) -> Grid | None:
    """The classical exact solver's first solution, or None when there is none."""
    cells = _flat(puzzle.grid)
    if cells is None:
        return None
    report = _solve_cells(cells, 1, DEFAULT_NODE_LIMIT)
    return report.solutions[0] if report.solutions else None


def canvas_shape(tier: str) -> tuple[int, int]:
    return (9, 9)


class Sudoku:
    """The Sudoku puzzle kind (see base.PuzzleKind)."""

    name = NAME
    vocab_size = VOCAB_SIZE
    format_help = FORMAT_HELP
    tiers = TIERS

    parse = staticmethod(parse)
    render = staticmethod(render)
    verify = staticmethod(verify)
    encode = staticmethod(encode)
    decode = staticmethod(decode)
    random_augmentation = staticmethod(random_augmentation)
    generate = staticmethod(generate)
    canonical_key = staticmethod(canonical_key)
    canvas_shape = staticmethod(canvas_shape)
    question_text = staticmethod(question_text)
    read_answer = staticmethod(read_answer)
    solve_exact = staticmethod(exact_solution)


KIND = Sudoku()
