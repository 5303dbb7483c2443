"""Fuzz inputs for the parsers, and the promise every parser keeps.

Inputs come from families (`FAMILIES`): valid puzzles with one defect, huge and deeply nested
texts, unicode look-alikes, control characters, puzzles of two kinds mixed, and random bytes.
Each family is a function of a `random.Random`, so the fast tests (through hypothesis) and the
volume bench draw from the same generators. `check` runs one input and says what broke."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

from trm_tool.puzzles import KIND_NAMES, Puzzle, PuzzleError, get_kind, parse

KINDS = ("auto", *KIND_NAMES)
MAX_REJECT_S = 1.0
"""The promise: any input is answered (accepted or rejected) within this much CPU time of
the parsing thread (on a shared machine the wall time also counts others' work: both are
recorded)."""
ODD_CHARS = (
    "0123456789.#SG_-|+ \n\t\r"
    "\x00\x1b\x7f\u200b\u200e\u202e\ufeff\u00a0\u3000"  # controls, zero-width, bidi, spaces
    "\uff11\uff19\u0661\u096a\u2460\U0001d7d9"  # digits of other scripts
    '\u2588\u2591\u25a0\U0001f7e5\u0301\ud7ff[]{}":,'
)


@cache
def valid_texts(kind: str, count: int = 12) -> tuple[str, ...]:
    """Well-formed puzzles of `kind` as text (ARC as task JSON), from its own generator."""
    spec, rng = get_kind(kind), random.Random(0)
    texts = []
    for i in range(count):
        puzzle, _ = spec.generate(rng, spec.tiers[i % len(spec.tiers)])
        texts.append(arc_json(puzzle) if kind == "arc" else spec.render(puzzle, puzzle.grid))
    return tuple(texts)


def warm_up() -> None:
    """Parse one valid puzzle of each kind: the first ARC parse loads the table of known
    tasks (about a second), a one-time cost that is not the input's."""
    for kind in KIND_NAMES:
        parse(kind, valid_texts(kind)[0])


def arc_json(puzzle: Puzzle) -> str:
    train = [{"input": i, "output": o} for i, o in puzzle.examples]
    return json.dumps({"train": train, "test": [{"input": puzzle.grid}]})


def any_valid(rng: random.Random) -> str:
    return rng.choice(valid_texts(rng.choice(KIND_NAMES)))


def one_defect(rng: random.Random) -> str:
    """A valid puzzle with one character replaced, inserted or deleted."""
    text, at = any_valid(rng), 0
    at = rng.randrange(len(text))
    how = rng.randrange(3)
    char = rng.choice(ODD_CHARS)
    if how == 0:
        return text[:at] + char + text[at + 1 :]
    if how == 1:
        return text[:at] + char + text[at:]
    return text[:at] + text[at + 1 :]


def line_defect(rng: random.Random) -> str:
    """A valid puzzle with a line dropped, doubled, cut short or swapped."""
    lines = any_valid(rng).split("\n")
    at = rng.randrange(len(lines))
    how = rng.randrange(4)
    if how == 0:
        del lines[at]
    elif how == 1:
        lines.insert(at, lines[at])
    elif how == 2:
        lines[at] = lines[at][: rng.randrange(len(lines[at]) + 1)]
    else:
        other = rng.randrange(len(lines))
        lines[at], lines[other] = lines[other], lines[at]
    return "\n".join(lines)


def huge(rng: random.Random) -> str:
    """Up to the tools' 100,000-character limit: long lines, many lines, repeated puzzles."""
    size = rng.choice((1_000, 10_000, 99_999))
    pick = rng.randrange(4)
    if pick == 0:
        return rng.choice("0123456789.#") * size
    if pick == 1:
        return ("1 2 3 4 5 6 7 8 9\n" * (size // 18))[:size]
    if pick == 2:
        return ("\n\n".join(valid_texts(rng.choice(KIND_NAMES))) * 50)[:size]
    row = "".join(rng.choice(" #") for _ in range(rng.randint(31, 300)))
    return "S" + "\n".join([row] * (size // len(row) // 2)) + "G"


def nested(rng: random.Random) -> str:
    """Deep or odd JSON: nesting past any recursion limit, wrong types, ARC-shaped lies."""
    depth = rng.choice((10, 1_000, 50_000))
    pick = rng.randrange(5)
    if pick == 0:
        return "[" * depth + "]" * depth
    if pick == 1:
        return '{"train":' * depth + "1" + "}" * depth
    if pick == 2:
        grid = [[rng.choice((0, 1, 9, 10, -1, 1.5, "3", None, True)) for _ in range(3)]] * 3
        return json.dumps({"train": [{"input": grid, "output": grid}], "test": [{"input": grid}]})
    if pick == 3:
        side = rng.choice((0, 1, 31, 200))
        grid = [[1] * side for _ in range(side)]
        return json.dumps({"train": [{"input": grid, "output": grid}], "test": [{"input": grid}]})
    task = json.loads(valid_texts("arc")[rng.randrange(12)])
    key = rng.choice(("train", "test"))
    task[key] = rng.choice(([], {}, None, "x", [{}], [{"input": []}], [{"input": [[]]}]))
    return json.dumps(task)


def unicode_text(rng: random.Random) -> str:
    """Puzzles written with look-alike digits, full-width forms, combining marks, bidi."""
    table = {
        "1": rng.choice(("\uff11", "\u0661", "\u2460", "1\u0301")),
        "#": rng.choice(("\u2588", "\u25a0", "\U0001f7e5")),
        " ": rng.choice(("\u00a0", "\u3000", "\u200b ")),
        "\n": rng.choice(("\u2028", "\r\n", "\u0085")),
    }
    text = any_valid(rng)
    old = rng.choice(list(table))
    return ("\u202e" if rng.random() < 0.2 else "") + text.replace(old, table[old])


def control_chars(rng: random.Random) -> str:
    text = list(any_valid(rng))
    for _ in range(rng.randint(1, 5)):
        text.insert(rng.randrange(len(text) + 1), chr(rng.choice((0, 7, 8, 11, 12, 27, 127))))
    return "".join(text)


def mixed(rng: random.Random) -> str:
    """Two puzzles of different kinds in one text, in either order, or one inside the other."""
    a, b = rng.sample(KIND_NAMES, 2)
    ta, tb = rng.choice(valid_texts(a)), rng.choice(valid_texts(b))
    if rng.random() < 0.5:
        return f"{ta}\n\n{tb}"
    at = rng.randrange(len(ta) + 1)
    return ta[:at] + tb + ta[at:]


def random_bytes(rng: random.Random) -> str:
    raw = bytes(rng.randrange(256) for _ in range(rng.choice((0, 1, 10, 200, 3000))))
    return raw.decode(rng.choice(("latin-1", "utf-8")), errors="replace")


def random_chars(rng: random.Random) -> str:
    return "".join(rng.choice(ODD_CHARS) for _ in range(rng.randint(0, 400)))


FAMILIES: dict[str, Callable[[random.Random], str]] = {
    "valid": any_valid,
    "one_defect": one_defect,
    "line_defect": line_defect,
    "huge": huge,
    "nested": nested,
    "unicode": unicode_text,
    "control": control_chars,
    "mixed": mixed,
    "random_bytes": random_bytes,
    "random_chars": random_chars,
}


def invalid_reason(puzzle: Puzzle, kind: str) -> str | None:
    """Why an accepted puzzle is not a valid one of its kind, or None. Checks shape and
    values, the maze's one start and one goal, and the Sudoku rules."""
    if kind != "auto" and puzzle.kind != kind:
        return f"asked for {kind}, got {puzzle.kind}"
    grids = [puzzle.grid, *(g for pair in puzzle.examples for g in pair)]
    for grid in grids:
        if not grid or not grid[0] or len({len(row) for row in grid}) != 1:
            return "grid empty or not rectangular"
        if len(grid) > 30 or len(grid[0]) > 30:
            return f"grid {len(grid)}x{len(grid[0])} larger than 30x30"
        if not all(type(v) is int for row in grid for v in row):
            return "grid holds a value that is not an int"
    cells = [v for row in puzzle.grid for v in row]
    if puzzle.kind == "sudoku":
        if len(puzzle.grid) != 9 or len(puzzle.grid[0]) != 9 or not set(cells) <= set(range(10)):
            return "sudoku not 9x9 of 0-9"
        return sudoku_conflict(puzzle.grid)
    if puzzle.kind == "maze":
        if not set(cells) <= {0, 1, 2, 3} or cells.count(2) != 1 or cells.count(3) != 1:
            return "maze needs cells 0-3 with exactly one start and one goal"
        return None
    if not puzzle.examples:
        return "ARC task without demonstrations"
    if not all(0 <= v <= 9 for grid in grids for row in grid for v in row):
        return "ARC colour outside 0-9"
    return None


def sudoku_conflict(grid: list[list[int]]) -> str | None:
    units = [[(r, c) for c in range(9)] for r in range(9)]
    units += [[(r, c) for r in range(9)] for c in range(9)]
    corners = [(r, c) for r in (0, 3, 6) for c in (0, 3, 6)]
    units += [[(r + i, c + j) for i in range(3) for j in range(3)] for r, c in corners]
    for unit in units:
        digits = [grid[r][c] for r, c in unit if grid[r][c]]
        if len(digits) != len(set(digits)):
            return "sudoku with a digit twice in a row, column or box"
    return None


@dataclass
class Tally:
    """What a run of inputs through one parser did."""

    inputs: int = 0
    accepted: int = 0
    rejected: int = 0
    unsolvable_accepted: int = 0
    slowest_s: float = 0.0
    """The most CPU time one input took (the promise); `slowest_wall_s` is its wall time."""
    slowest_wall_s: float = 0.0
    slowest_input: str = ""
    failures: list[str] = field(default_factory=list)

    def add_failure(self, what: str, text: str) -> None:
        if len(self.failures) < 20:
            self.failures.append(f"{what}: {text[:120]!r}")


def check(kind: str, text: str, tally: Tally, exact: bool = True) -> None:
    """Parse `text` as `kind` and record how it went in `tally`: an exception other than
    PuzzleError, an answer slower than MAX_REJECT_S or an invalid puzzle accepted is a
    failure. With `exact`, an accepted Sudoku or maze is also given to its exact solver."""
    tally.inputs += 1
    start, cpu_start = time.perf_counter(), time.thread_time()
    try:
        puzzle = parse(kind, text)
    except PuzzleError as err:
        puzzle = None
        if not str(err).strip():
            tally.add_failure("PuzzleError without a message", text)
    except Exception as err:  # the promise is broken: record which input broke it
        tally.add_failure(f"{type(err).__name__}: {err}"[:200], text)
        return
    cpu, wall = time.thread_time() - cpu_start, time.perf_counter() - start
    if cpu > tally.slowest_s:
        tally.slowest_s, tally.slowest_wall_s, tally.slowest_input = cpu, wall, text[:80]
    if cpu > MAX_REJECT_S:
        tally.add_failure(f"took {cpu:.2f} s of CPU ({wall:.2f} s wall)", text)
    if puzzle is None:
        tally.rejected += 1
        return
    tally.accepted += 1
    reason = invalid_reason(puzzle, kind)
    if reason:
        tally.add_failure(f"accepted an invalid puzzle ({reason})", text)
    elif exact and puzzle.kind in ("sudoku", "maze"):
        if get_kind(puzzle.kind).solve_exact(puzzle) is None:
            tally.unsolvable_accepted += 1
