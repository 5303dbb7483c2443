"""LangChain tools that let an LLM hand grid puzzles to the TRM.

`trm_tools()` returns a general `solve_grid_puzzle(kind, puzzle)` plus one tool per puzzle
kind. Each returns text for the LLM (the solution in the puzzle's own format and whether it
was verified) and the full `SolveResult` as the ToolMessage artifact. Bad input comes back
as a readable message, never as an exception inside the agent.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Literal

from langchain_core.callbacks import dispatch_custom_event
from langchain_core.tools import BaseTool, StructuredTool, ToolException
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field

from .checkpoint import CheckpointError
from .fitting import TURN_NAMES, FitProgress, FitReport, ProgressCallback
from .puzzles import KIND_NAMES, Puzzle, PuzzleError, get_kind, parse
from .solver import Solver, SolveResult, load_solver

MAX_PUZZLE_CHARS = 100_000


class SolveGridPuzzleInput(BaseModel):
    kind: Literal["auto", "sudoku", "maze", "arc"] = Field(
        default="auto",
        description="Puzzle kind: sudoku, maze, arc (an ARC-AGI task), or auto to detect it.",
    )
    puzzle: str = Field(
        description="The puzzle exactly as the user gave it (grid text or JSON); copy it "
        "character for character, including blanks and walls.",
        max_length=MAX_PUZZLE_CHARS,
    )


class SolvePuzzleInput(BaseModel):
    puzzle: str = Field(
        description="The puzzle exactly as the user gave it; copy it character for character.",
        max_length=MAX_PUZZLE_CHARS,
    )


class SolverPool:
    """Loads one Solver per kind on first use and shares it between tools and threads."""

    def __init__(self, checkpoints: dict[str, str] | None = None, device: str = "auto", **opts):
        self.checkpoints, self.device, self.opts = checkpoints or {}, device, opts
        self._solvers: dict[str, Solver] = {}
        self._lock = threading.Lock()

    def get(self, kind: str) -> Solver:
        with self._lock:
            if kind not in self._solvers:
                self._solvers[kind] = load_solver(
                    kind, self.checkpoints.get(kind), self.device, **self.opts
                )
            return self._solvers[kind]

    def read(self, kind: str, text: str) -> tuple[Solver, Puzzle]:
        """The puzzle in `text` (kind may be auto), read once, and the Solver of its kind;
        PuzzleError explains bad input or a kind without a model."""
        puzzle = parse(kind, text)
        try:
            return self.get(puzzle.kind), puzzle
        except CheckpointError as err:
            raise PuzzleError(
                f"No trained model is available for {puzzle.kind} puzzles: {err}"
            ) from err

    def solve(
        self, kind: str, puzzle: str, progress: ProgressCallback | None = None
    ) -> SolveResult:
        """Solve `puzzle` (kind may be auto); PuzzleError explains bad input. `progress` hears
        from a test-time fit (ARC)."""
        solver, parsed = self.read(kind, puzzle)
        return solver.solve(parsed, progress=progress)


def report_progress(progress: FitProgress) -> None:
    """Pass a fit's progress to the running agent as a LangChain custom event
    ("trm_fit_progress"; `astream_events` and callback handlers see it)."""
    try:
        dispatch_custom_event("trm_fit_progress", progress.model_dump())
    except RuntimeError:  # called outside a runnable: nobody to tell
        pass


def describe(result: SolveResult) -> str:
    """The text the LLM reads: the solution, then one line on how sure we are."""
    if result.verified:
        status = "verified: yes (an exact check confirms this solution is correct)"
    elif result.verified is False:
        status = "verified: NO (the model's best answer failed the exact check; do not claim it)"
    else:
        status = f"verified: n/a for {result.kind} (confidence {result.confidence:.2f})"
    text = f"Solution ({result.kind}):\n{result.solution_text}\n{status}"
    if result.cut_short:
        text += f"\nsearch cut short: {result.cut_short}"
    if result.fit is not None:
        text += f"\n{fit_line(result.fit)}"
    if len(result.attempts) > 1 and result.verified is None:
        # The runner-up goes first, so the best answer is the last grid in the text (where
        # answer readers look) and the ARC pass@2 pair is still both shown.
        text = f"Second-choice answer:\n{result.attempt_texts[1]}\n\n{text}"
    return text


def fit_line(fit: FitReport) -> str:
    """How well the network fitted to this task matches its demonstrations (never a check)."""
    agrees = (
        "consistent with all examples"
        if fit.reproduced == fit.demonstrations
        else "NOT consistent with all examples: treat the answer as a guess"
    )
    turned = f", inputs {TURN_NAMES[fit.input_transform]} first" if fit.input_transform else ""
    return (
        f"fitted to the task in {fit.seconds:.0f} s ({fit.steps} steps{turned}): reproduces "
        f"{fit.reproduced} of {fit.demonstrations} demonstrations, {agrees}"
    )


def _make_tool(
    pool: SolverPool, name: str, description: str, kind: str | None, schema: type[BaseModel]
) -> BaseTool:
    def run(puzzle: str, kind_arg: str) -> tuple[str, SolveResult]:
        try:
            result = pool.solve(kind_arg, puzzle, report_progress)
        except PuzzleError as err:
            raise ToolException(f"Could not solve the puzzle: {err}") from err
        return describe(result), result

    if kind is None:

        def solve(kind: str, puzzle: str) -> tuple[str, SolveResult]:
            return run(puzzle, kind)

        async def asolve(kind: str, puzzle: str) -> tuple[str, SolveResult]:
            return await asyncio.to_thread(run, puzzle, kind)
    else:

        def solve(puzzle: str) -> tuple[str, SolveResult]:
            return run(puzzle, kind)

        async def asolve(puzzle: str) -> tuple[str, SolveResult]:
            return await asyncio.to_thread(run, puzzle, kind)

    return StructuredTool.from_function(
        func=solve,
        coroutine=asolve,
        name=name,
        description=description,
        args_schema=schema,
        response_format="content_and_artifact",
        handle_tool_error=True,
        handle_validation_error=True,
    )


GENERAL_DESCRIPTION = (
    "Solve a grid puzzle with a Tiny Recursive Model: Sudoku, mazes (shortest path from S to "
    "G), or ARC-AGI tasks. Use it whenever the user gives such a puzzle; LLMs get these wrong "
    "token by token. Pass the puzzle text exactly as given. The answer comes back in the "
    "puzzle's own format with a 'verified' line; report it as is. Sudoku and maze answers are "
    "checked exactly; an ARC answer cannot be checked (its rule is never stated), so it is the "
    "model's best guess, fitted to the task's demonstrations."
)


def trm_tools(pool: SolverPool | None = None, kinds: tuple[str, ...] = KIND_NAMES) -> list:
    """The general tool plus one tool per kind, all sharing one SolverPool."""
    pool = pool or SolverPool()
    tools = [_make_tool(pool, "solve_grid_puzzle", GENERAL_DESCRIPTION, None, SolveGridPuzzleInput)]
    for kind in kinds:
        help_text = get_kind(kind).format_help
        description = (
            f"Solve a {kind} puzzle with a Tiny Recursive Model; the answer's 'verified' line "
            f"says whether it was checked exactly (ARC answers cannot be). {help_text}"
        )
        tools.append(_make_tool(pool, f"solve_{kind}", description, kind, SolvePuzzleInput))
    return tools


def openai_tool_schemas(tools: list[BaseTool] | None = None) -> list[dict]:
    """OpenAI function-calling schemas of the tools, for chat apps without LangChain."""
    return [convert_to_openai_tool(t) for t in tools or trm_tools()]
