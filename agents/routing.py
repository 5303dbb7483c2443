"""Puzzle routing that does not depend on the LLM noticing or copying the puzzle.

- `find_puzzle`: our own parsers look for a puzzle in a user message.
- `tool_choice_for`: with a backend that cannot choose tools reliably, a found puzzle forces
  the matching tool; a capable backend chooses for itself ("auto").
- `resolve_arguments` (copy-safe arguments): a tool call's puzzle is checked against the
  puzzles of the conversation.
    * exact copy (same text) -> used as is;
    * same puzzle in other words (equal grids) or a near-copy -> the user's original text is
      used (so the answer also comes back in the user's format). Near-copy: same kind, every
      grid the same shape (ARC: the test input and all examples), and at most
      NEAR_COPY_FRACTION of all cells different. Unrelated puzzles of one kind and shape
      differ in 25-75 % of their cells (measured on generated Sudoku and mazes), so 10 % keeps
      them apart while absorbing a few miscopied cells;
    * a puzzle that is not a near-copy of any -> used as is (the user may want another
      puzzle), except in a call the agent forced for a puzzle it found: that call is for the
      user's puzzle by construction, and a small model's broken copy can still parse as some
      tiny puzzle (a 1x2 maze "SG"), so the user's puzzle is used;
    * no puzzle at all ("the puzzle above", "it", a garbled or truncated copy) while the
      conversation has one -> the conversation's latest puzzle of the tool's kind.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from pydantic import BaseModel, ConfigDict

from trm_tool.puzzles import KIND_NAMES, Puzzle, PuzzleError, parse

NEAR_COPY_FRACTION = 0.10
GENERAL_TOOL = "solve_grid_puzzle"

ARGUMENT_PATTERNS: dict[str, str] = {
    "sudoku": r"^[0-9.|+_* \n\[\],-]+$",
    "maze": r"^[#.SGEX01 o\n]+$",
}
"""Characters a forced call may write for a puzzle of each kind (grammar-constrained servers).
ARC tasks are JSON or prose-like blocks, so their argument stays free text."""


class FoundPuzzle(BaseModel):
    """A puzzle our parsers found in a message, with the exact text it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    kind: str
    text: str
    puzzle: Puzzle


class Resolution(BaseModel):
    """The arguments a tool call runs with, and why they differ from the LLM's, if they do."""

    args: dict[str, Any]
    snapped: bool = False
    reason: str | None = None


def find_puzzle(text: str) -> FoundPuzzle | None:
    """The puzzle in `text`, or None when none of our parsers recognises one."""
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        puzzle = parse("auto", text)
    except PuzzleError:
        return None
    return FoundPuzzle(kind=puzzle.kind, text=text, puzzle=puzzle)


def conversation_puzzles(messages: list[BaseMessage]) -> list[FoundPuzzle]:
    """Puzzles in the user's messages, oldest first."""
    found = (find_puzzle(m.text) for m in messages if isinstance(m, HumanMessage))
    return [f for f in found if f is not None]


def tool_for(kind: str, tool_names: list[str]) -> str | None:
    """The tool to force for a puzzle of `kind`: its own tool, else the general one."""
    for name in (f"solve_{kind}", GENERAL_TOOL):
        if name in tool_names:
            return name
    return None


def tool_kind(tool_name: str, args: dict[str, Any]) -> str | None:
    """The puzzle kind a call is for: from a kind tool's name or the general tool's argument."""
    kind = tool_name.removeprefix("solve_")
    if kind in KIND_NAMES:
        return kind
    requested = args.get("kind")
    return requested if requested in KIND_NAMES else None


def _cells(puzzle: Puzzle) -> list[list[list[int]]]:
    grids = [puzzle.grid]
    for inp, out in puzzle.examples:
        grids += [inp, out]
    return grids


def _shape(grids: list[list[list[int]]]) -> list[tuple[int, ...]]:
    return [tuple(len(row) for row in grid) for grid in grids]


def differing_fraction(a: Puzzle, b: Puzzle) -> float | None:
    """Share of cells that differ between two puzzles of the same kind and shapes, else None."""
    if a.kind != b.kind:
        return None
    grids_a, grids_b = _cells(a), _cells(b)
    if _shape(grids_a) != _shape(grids_b):
        return None
    pairs = [
        (x, y) for ga, gb in zip(grids_a, grids_b) for ra, rb in zip(ga, gb) for x, y in zip(ra, rb)
    ]
    if not pairs:
        return None
    return sum(x != y for x, y in pairs) / len(pairs)


def _parse_argument(text: Any, kind: str | None) -> Puzzle | None:
    if not isinstance(text, str):
        return None
    try:
        return parse(kind or "auto", text)
    except PuzzleError:
        return None


def resolve_arguments(
    tool_name: str,
    args: dict[str, Any],
    known: list[FoundPuzzle],
    forced_for: FoundPuzzle | None = None,
) -> Resolution:
    """The arguments to run a puzzle tool call with (see the module docstring for the rules).
    `forced_for`: the puzzle the agent forced this call for; the call then runs on it."""
    if forced_for is not None:
        known = [forced_for]
    if not known or not isinstance(args, dict):
        return Resolution(args=args if isinstance(args, dict) else {})
    kind = tool_kind(tool_name, args)
    given = args.get("puzzle")
    if isinstance(given, str) and any(given.strip() == f.text.strip() for f in known):
        return Resolution(args=args)
    candidate = _parse_argument(given, kind)
    if candidate is None:
        same_kind = [f for f in known if kind is None or f.kind == kind]
        if not same_kind and tool_name != GENERAL_TOOL:
            return Resolution(args=args)
        source = (same_kind or known)[-1]
        reason = f"the argument is not a readable {source.kind} puzzle; used the user's puzzle"
        return _snap(tool_name, args, source, reason)
    closest = _closest(candidate, known)
    if closest is None and forced_for is not None:
        reason = "the call was forced for the user's puzzle and got another one; used the user's"
        return _snap(tool_name, args, forced_for, reason)
    if closest is None:
        return Resolution(args=args)
    source, fraction = closest
    if fraction == 0:
        reason = "same puzzle as the user's, written differently; used the user's text"
    else:
        reason = f"near-copy of the user's puzzle ({fraction:.0%} of cells differ); used it"
    return _snap(tool_name, args, source, reason)


def _closest(candidate: Puzzle, known: list[FoundPuzzle]) -> tuple[FoundPuzzle, float] | None:
    """The most similar known puzzle if it is a near-copy of `candidate` (latest wins ties)."""
    best: tuple[FoundPuzzle, float] | None = None
    for found in known:
        fraction = differing_fraction(candidate, found.puzzle)
        if fraction is not None and fraction <= NEAR_COPY_FRACTION:
            if best is None or fraction <= best[1]:
                best = (found, fraction)
    return best


def _snap(tool_name: str, args: dict[str, Any], source: FoundPuzzle, reason: str) -> Resolution:
    used = {**args, "puzzle": source.text}
    if tool_name == GENERAL_TOOL:
        used["kind"] = source.kind
    return Resolution(args=used, snapped=True, reason=reason)


def constrain_tool_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI tool schema whose puzzle argument a grammar-constrained server can follow.

    llama.cpp turns maxLength into one grammar rule per character (100,000 of them crash its
    grammar parser), so the limit goes; kind tools get a pattern of their grid characters."""
    function = schema["function"]
    parameters = {**function["parameters"]}
    properties = {name: dict(spec) for name, spec in parameters.get("properties", {}).items()}
    puzzle = properties.get("puzzle")
    if puzzle is not None:
        puzzle.pop("maxLength", None)
        pattern = ARGUMENT_PATTERNS.get(function["name"].removeprefix("solve_"))
        if pattern:
            puzzle["pattern"] = pattern
    parameters["properties"] = properties
    return {**schema, "function": {**function, "parameters": parameters}}
