"""Puzzle routing that does not depend on the LLM noticing or copying the puzzle.

- `find_puzzle`: our own parsers look for a puzzle in a user message.
- `tool_for`: with a backend that cannot choose tools reliably, a found puzzle forces the
  matching tool, called with PUZZLE_REFERENCE: the user's puzzle by reference, never a
  copy. (A small model's copy was almost never intact, and copying a long ARC task took over
  a minute on a CPU.) A capable backend chooses tools itself ("auto"); `offer_reference`
  tells it that it may refer to a puzzle of the conversation too.
- `resolve_arguments` (copy-safe arguments): a tool call's puzzle is checked against the
  puzzles of the conversation.
    * PUZZLE_REFERENCE -> the conversation's latest puzzle of the tool's kind, its exact text
      (`referenced`: nothing was copied, so nothing was snapped);
    * exact copy (same text) -> used as is;
    * same puzzle in other words (equal grids) or a near-copy -> the user's original text is
      used (so the answer also comes back in the user's format). Near-copy: same kind, every
      grid the same shape (ARC: the test input and all examples), and at most
      NEAR_COPY_FRACTION of all cells different. Unrelated puzzles of one kind and shape
      differ in 25-75 % of their cells (measured on generated Sudoku and mazes), so 10 % keeps
      them apart while absorbing a few miscopied cells;
    * a puzzle that is not a near-copy of any -> used as is (the user may want another
      puzzle), except in a call the agent forced for a puzzle it found: that call is for the
      user's puzzle by construction, so the user's puzzle is used;
    * no puzzle at all ("it", a garbled or truncated copy) while the conversation has one ->
      the conversation's latest puzzle of the tool's kind.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from pydantic import BaseModel, ConfigDict, Field

from trm_tool.puzzles import KIND_NAMES, Puzzle, PuzzleError, parse

NEAR_COPY_FRACTION = 0.10
GENERAL_TOOL = "solve_grid_puzzle"
PUZZLE_REFERENCE = "the puzzle above"
"""What a tool call passes as its puzzle to mean the user's puzzle, in place of a copy."""


class FoundPuzzle(BaseModel):
    """A puzzle our parsers found in a message, with the exact text it came from."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    kind: str
    text: str
    puzzle: Puzzle


class Resolution(BaseModel):
    """The arguments a tool call runs with, and why they differ from the LLM's, if they do."""

    args: dict[str, Any]
    referenced: bool = Field(default=False, description="the call passed PUZZLE_REFERENCE")
    snapped: bool = Field(default=False, description="the call's copy of a puzzle was replaced")
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


def is_reference(value: Any) -> bool:
    """True when a puzzle argument is PUZZLE_REFERENCE (case and surrounding blanks aside)."""
    return isinstance(value, str) and value.strip().lower() == PUZZLE_REFERENCE


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
    latest = _latest(tool_name, kind, known)
    if is_reference(given) and latest is not None:
        reason = f"referred to the user's {latest.kind} puzzle; ran on its exact text"
        used = _with_puzzle(tool_name, args, latest)
        return Resolution(args=used, referenced=True, reason=reason)
    if isinstance(given, str) and any(given.strip() == f.text.strip() for f in known):
        return Resolution(args=args)
    candidate = _parse_argument(given, kind)
    if candidate is None:
        if latest is None:
            return Resolution(args=args)
        reason = f"the argument is not a readable {latest.kind} puzzle; used the user's puzzle"
        return _snap(tool_name, args, latest, reason)
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


def _latest(tool_name: str, kind: str | None, known: list[FoundPuzzle]) -> FoundPuzzle | None:
    """The puzzle a call without one of its own stands for: the latest of the tool's kind
    (the general tool falls back to the latest of any kind)."""
    same_kind = [f for f in known if kind is None or f.kind == kind]
    if same_kind:
        return same_kind[-1]
    return known[-1] if tool_name == GENERAL_TOOL else None


def _closest(candidate: Puzzle, known: list[FoundPuzzle]) -> tuple[FoundPuzzle, float] | None:
    """The most similar known puzzle if it is a near-copy of `candidate` (latest wins ties)."""
    best: tuple[FoundPuzzle, float] | None = None
    for found in known:
        fraction = differing_fraction(candidate, found.puzzle)
        if fraction is not None and fraction <= NEAR_COPY_FRACTION:
            if best is None or fraction <= best[1]:
                best = (found, fraction)
    return best


def _with_puzzle(tool_name: str, args: dict[str, Any], source: FoundPuzzle) -> dict[str, Any]:
    used = {**args, "puzzle": source.text}
    if tool_name == GENERAL_TOOL:
        used["kind"] = source.kind
    return used


def _snap(tool_name: str, args: dict[str, Any], source: FoundPuzzle, reason: str) -> Resolution:
    return Resolution(args=_with_puzzle(tool_name, args, source), snapped=True, reason=reason)


def _with_parameters(schema: dict[str, Any], **properties: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI tool schema with some argument specs replaced (the input is left as is)."""
    function = schema["function"]
    parameters = {**function["parameters"]}
    parameters["properties"] = {**parameters.get("properties", {}), **properties}
    return {**schema, "function": {**function, "parameters": parameters}}


def offer_reference(schema: dict[str, Any]) -> dict[str, Any]:
    """A tool schema whose puzzle argument says the LLM may pass PUZZLE_REFERENCE instead of
    copying a puzzle of the conversation. Only this agent resolves the reference, so it is
    offered here and not in the tools themselves."""
    puzzle = schema["function"]["parameters"].get("properties", {}).get("puzzle")
    if puzzle is None:
        return schema
    hint = (
        "To use a puzzle the user already wrote in this conversation, pass exactly "
        f"{PUZZLE_REFERENCE!r} instead of copying it."
    )
    description = f"{puzzle.get('description', '')} {hint}".strip()
    return _with_parameters(schema, puzzle={**puzzle, "description": description})
