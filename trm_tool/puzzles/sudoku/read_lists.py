"""Reading a Sudoku written as a JSON or Python list: nested rows, one flat list, or rows one
after another, with 0, null/None or quoted blanks."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .grid import CELL_SYMBOLS, cell_value
from .spans import DEFINITE, Found, Miss

_MAX_LIST_STARTS = 100
_MAX_LIST_TOKENS = 400
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
    if len(inner) in (9, 81) and all(ch in CELL_SYMBOLS for ch in inner):
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


def _list_cells(rows: list[list]) -> list[_ListCell] | Miss:
    """All cells of the rows, or why they do not make a 9x9 grid."""
    if len(rows) not in (1, 9):
        return Miss(9 * len(rows), f"the list has {len(rows)} rows, expected 9", True)
    cells: list[_ListCell] = []
    for r, row in enumerate(rows):
        row_cells: list[_ListCell] = []
        for item in row:
            parts = _item_cells(item)
            if parts is None:
                shown = repr(item.text[:12]) if isinstance(item, _Item) else "a nested list"
                return Miss(81, f"row {r + 1} of the list holds {shown}, not a cell", True)
            row_cells.extend(parts)
        if len(rows) == 9 and len(row_cells) != 9:
            reason = f"row {r + 1} of the list has {len(row_cells)} cells, expected 9"
            return Miss(81, reason, True)
        cells.extend(row_cells)
    if len(cells) == 81:
        return cells
    return Miss(len(cells), f"found {len(cells)} cells in the list, expected 81", True)


def _list_found(text: str, cells: list[_ListCell], start: int, end: int) -> Found | Miss:
    for k, cell in enumerate(cells):
        if cell.symbol not in CELL_SYMBOLS:
            return Miss(
                DEFINITE,
                f"the value {cell.symbol[:12]!r} at row {k // 9 + 1}, column {k % 9 + 1} is out "
                "of range: each cell must be a digit 1-9, or 0 / null for a blank",
                True,
            )
    written = {"bare": "0", "quoted": ".", "char": "."}
    for cell in reversed(cells):
        if cell_value(cell.symbol) == 0:
            written[cell.context] = text[cell.start : cell.end]
    return Found(
        fmt="json",
        cells=[cell_value(cell.symbol) for cell in cells],
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


def read_json(text: str) -> Found | Miss | None:
    """A grid written as a JSON or Python list (nested, flat, or rows one after another)."""
    best: Miss | None = None
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
        if isinstance(result, Found):
            return result
        if result.weight >= 20 and (best is None or result.weight > best.weight):
            best = result
    return best
