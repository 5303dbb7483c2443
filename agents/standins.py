"""What the model reads in place of puzzles and solutions: a short stand-in.

The TRM tools take the user's puzzle by reference (agents.routing), so the LLM never needs
its text: a 30x30 maze is over 1,300 prompt tokens, an ARC-AGI-2 task can exceed SmolLM2's
whole context, and a small model asked to repeat a solution copies it slowly and garbles it.
So, in the requests only (the agent's state keeps every message as it was):

- a user message's puzzle becomes `[maze 30x30, not shown: pass 'the puzzle above']`, the
  user's own words around it kept (`brief`);
- a solved tool call's solution becomes `[maze solution]`, its verified and fit lines kept;
  the answer gets the solution from PuzzleRouting.after_agent, in place of the stand-in
  where the model wrote it, else appended, never copied by the model;
- an earlier answer that carried a solution shows the same stand-in.
"""

from __future__ import annotations

import functools
import re

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage

from trm_tool.puzzles import Puzzle, PuzzleError, parse
from trm_tool.solver import SolveResult

from .routing import PUZZLE_REFERENCE, find_puzzle


def puzzle_stand_in(puzzle: Puzzle) -> str:
    """`[maze 30x30, not shown: ...]`: the kind, the size, and how to refer to it."""
    rows, cols = len(puzzle.grid), len(puzzle.grid[0]) if puzzle.grid else 0
    examples = f", {len(puzzle.examples)} examples" if puzzle.examples else ""
    size = f"test input {rows}x{cols}" if puzzle.examples else f"{rows}x{cols}"
    return f"[{puzzle.kind} {size}{examples}, not shown: pass {PUZZLE_REFERENCE!r}]"


def solution_stand_ins(result: SolveResult) -> dict[str, str]:
    """Stand-in -> text of a result's solution (`[maze solution]`) and, where it differs, of
    its second-choice attempt (ARC): what the model writes to show them (`with_solutions`)."""
    out = {f"[{result.kind} solution]": result.solution_text}
    if len(result.attempt_texts) > 1 and result.attempt_texts[1] != result.solution_text:
        out[f"[{result.kind} second choice]"] = result.attempt_texts[1]
    return out


def _same_puzzle(text: str, puzzle: Puzzle) -> bool:
    try:
        found = parse("auto", text)
    except PuzzleError:
        return False
    return (found.kind, found.grid, found.examples) == (puzzle.kind, puzzle.grid, puzzle.examples)


def _trim(text: str, puzzle: Puzzle, pieces: list[tuple[int, int]]) -> tuple[int, int]:
    """The span of `pieces` (character spans in order) left after dropping pieces from
    either end for as long as what remains reads as the same puzzle."""
    first, last = 0, len(pieces) - 1
    while first < last and _same_puzzle(text[pieces[first + 1][0] : pieces[last][1]], puzzle):
        first += 1
    while last > first and _same_puzzle(text[pieces[first][0] : pieces[last - 1][1]], puzzle):
        last -= 1
    return pieces[first][0], pieces[last][1]


def puzzle_span(text: str, puzzle: Puzzle) -> tuple[int, int]:
    """Where `puzzle` is in `text`: whole lines trimmed off both ends, then words off the
    first and last line, while the rest still parses as the same puzzle."""
    lines = [m.span() for m in re.finditer(r"[^\n]*\S[^\n]*", text)]
    start, end = _trim(text, puzzle, lines)
    words = [(start + a, start + b) for a, b in _word_spans(text[start:end])]
    return _trim(text, puzzle, words) if words else (start, end)


def _word_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", text)]


@functools.lru_cache(maxsize=256)
def brief(text: str) -> str:
    """`text` with the puzzle our parsers find in it replaced by its stand-in."""
    found = find_puzzle(text)
    if found is None:
        return text
    start, end = puzzle_span(text, found.puzzle)
    return f"{text[:start]}{puzzle_stand_in(found.puzzle)}{text[end:]}"


def _without_solutions(text: str, results: list[SolveResult]) -> str:
    """`text` with each solution (or attempt) that stands on lines of its own replaced."""
    for result in results:
        for stand_in, solution in solution_stand_ins(result).items():
            block = solution.strip("\n")
            if block.strip():
                pattern = re.compile(rf"^{re.escape(block)}[ \t]*$", re.MULTILINE)
                text = pattern.sub(stand_in, text)  # no backslashes in a stand-in
    return text


def with_solutions(text: str, results: list[SolveResult]) -> str:
    """`text` with each solution stand-in replaced by its solution."""
    for result in results:
        for stand_in, solution in solution_stand_ins(result).items():
            text = text.replace(stand_in, solution)
    return text


def result_of(message: AnyMessage) -> SolveResult | None:
    """The SolveResult a ToolMessage carries; a checkpointer gives earlier turns' back as
    plain dicts."""
    artifact = getattr(message, "artifact", None) if isinstance(message, ToolMessage) else None
    if isinstance(artifact, dict):
        try:
            return SolveResult.model_validate(artifact)
        except ValueError:
            return None
    return artifact if isinstance(artifact, SolveResult) else None


def model_view(messages: list[AnyMessage]) -> list[AnyMessage]:
    """The messages as the model is sent them: puzzles and solutions as stand-ins."""
    results = [r for r in map(result_of, messages) if r is not None]
    out: list[AnyMessage] = []
    for message in messages:
        if isinstance(message, HumanMessage) and isinstance(message.content, str):
            message = message.model_copy(update={"content": brief(message.content)})
        elif isinstance(message, ToolMessage | AIMessage) and isinstance(message.content, str):
            content = _without_solutions(message.content, results)
            message = message.model_copy(update={"content": content})
        out.append(message)
    return out
