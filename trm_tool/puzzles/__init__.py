"""Puzzle kinds by name, and the kind-independent entry points parse / render / verify."""

from __future__ import annotations

import importlib

from .base import BrokenPuzzleError, Grid, Puzzle, PuzzleError, PuzzleKind, require_text

KIND_NAMES: tuple[str, ...] = ("sudoku", "maze", "arc")
AUTO_ORDER: tuple[str, ...] = ("arc", "sudoku", "maze")
"""Detection order for kind="auto": the most structured formats first."""


def get_kind(name: str) -> PuzzleKind:
    """The puzzle kind called `name`, or a PuzzleError listing the known kinds."""
    if not isinstance(name, str) or name not in KIND_NAMES:
        known = ", ".join(KIND_NAMES)
        raise PuzzleError(f"Unknown puzzle kind {name!r}; expected one of: {known} or auto.")
    return importlib.import_module(f"{__name__}.{name}").KIND


def parse(kind: str, text: str) -> Puzzle:
    """Read a puzzle of `kind` (or kind="auto": detect it) from text. With "auto", a text that
    one kind recognises as its own but finds wrong (a Sudoku with a digit twice in a row)
    gets that kind's reason first; other text gets every kind's reason."""
    if kind != "auto":
        return get_kind(kind).parse(text)
    require_text(text, "puzzle")
    errors: dict[str, PuzzleError] = {}
    for name in AUTO_ORDER:
        try:
            return get_kind(name).parse(text)
        except PuzzleError as err:
            errors[name] = err
    broken = next((n for n, err in errors.items() if isinstance(err, BrokenPuzzleError)), None)
    others = " | ".join(f"{name}: {err}" for name, err in errors.items() if name != broken)
    if broken is not None:
        raise BrokenPuzzleError(f"{errors[broken]} (Read as {broken}; the other kinds: {others})")
    raise PuzzleError(f"Could not recognise the puzzle as any known kind. {others}")


def render(puzzle: Puzzle, grid: Grid) -> str:
    """A solution grid as text in the puzzle's own input format."""
    return get_kind(puzzle.kind).render(puzzle, grid)


def verify(puzzle: Puzzle, grid: Grid) -> bool | None:
    """True iff `grid` solves `puzzle` exactly; None where no exact check exists."""
    return get_kind(puzzle.kind).verify(puzzle, grid)


__all__ = [
    "KIND_NAMES",
    "BrokenPuzzleError",
    "Grid",
    "Puzzle",
    "PuzzleError",
    "PuzzleKind",
    "get_kind",
    "parse",
    "render",
    "verify",
]
