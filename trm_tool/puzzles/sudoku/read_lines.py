"""Reading a Sudoku written as lines of cells: 9 rows (with separators, rule lines and box
drawing), one 81-cell run inside a line of prose, or a fixed-width line with spaces as blanks."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from .spans import CELL, CELL_CLASS, DEFINITE, SEP_CLASS, Found, Miss, found_from_chars

_ROW_LINE = re.compile(f"[{CELL_CLASS}{SEP_CLASS}]*")
_RULE_LINE = re.compile(r"[\-=+|:~_ \t\r\f\v\u2500-\u257f]*")
_TOKEN = re.compile(f"[{CELL_CLASS}]+")
_PROSE_MARK = re.compile(r"[\-_.*]{1,3}")
_FIXED_ROW = re.compile(f"[{CELL_CLASS} ]{{9}}")
_FIXED_LINE = re.compile(f"[{CELL_CLASS} ]{{81}}")
_RUN = re.compile(f"[{CELL_CLASS}](?:[ \\t,;|]*[{CELL_CLASS}])*")


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
        cells = [(m.start(), m.group()) for m in CELL.finditer(body)]
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


def _read_block(text: str, block: list[_Line], lead: _Line | None = None) -> Found | Miss:
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
    return Miss(total, reason)


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


def _block_found(text: str, block: list[_Line], rows: list[_Line]) -> Found:
    """The grid in `rows`, its region widened to the rule lines that frame it."""
    starts = [line.start for line in block]
    first, last = starts.index(rows[0].start), starts.index(rows[-1].start)
    while first > 0 and block[first - 1].kind == "rule":
        first -= 1
    while last + 1 < len(block) and block[last + 1].kind == "rule":
        last += 1
    positions = [p for row in rows for p in row.cells]
    fmt = "line" if len(rows) == 1 else "rows"
    found = found_from_chars(fmt, text, positions, block[first].start, block[last].end)
    blank = found.blanks[0]
    found.blanks = [" " if row.fixed else blank for row in rows for _ in row.cells]
    return found


def read_lines(text: str) -> Found | Miss | None:
    best: Miss | None = None
    for lead, block in _blocks(text):
        result = _read_block(text, block, lead)
        if isinstance(result, Found):
            return result
        if best is None or result.weight > best.weight:
            best = result
    return best


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


def read_runs(text: str) -> Found | Miss | None:
    """81 cells in one stretch of a line: "53..7....6..." or "5,3,0,0,7,..." amid prose."""
    best: Miss | None = None
    for m in _RUN.finditer(text):
        tokens = _run_tokens(text, m.start(), m.end())
        positions = [p for s, e in tokens for p in range(s, e)]
        if len(positions) == 81:
            return found_from_chars("line", text, positions, tokens[0][0], tokens[-1][1])
        if len(positions) < 10:
            continue
        miss = Miss(len(positions), f"found {len(positions)} cells, expected 81")
        run = m.group()
        if "," in run:
            items = [item.strip() for item in run.split(",")]
            wide = next((k for k, item in enumerate(items) if len(item) > 1), None)
            if wide is not None:
                miss = Miss(
                    DEFINITE,
                    f"item {wide + 1} of the list, {items[wide][:12]!r}, is out of range: "
                    "each cell must be one digit 1-9 or a blank (0 . _ - *)",
                )
        if best is None or miss.weight > best.weight:
            best = miss
    return best


def read_fixed_line(text: str) -> Found | None:
    """A line of exactly 81 characters where spaces are blanks."""
    start = 0
    for line in text.split("\n"):
        body = line[:-1] if line.endswith("\r") else line
        if len(body) == 81 and _FIXED_LINE.fullmatch(body):
            positions = list(range(start, start + 81))
            found = found_from_chars("line", text, positions, start, start + 81)
            found.blanks = [" "] * 81
            return found
        start += len(line) + 1
    return None
